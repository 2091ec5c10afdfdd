//! Aggregation over the items of a run (docs/METHODS.md, "Statistics"): per round and metric the
//! mean with an interval that fits it (Wilson for 0/1 metrics, Student's t otherwise), paired
//! comparisons of every round with round 1 and with the baseline on the same items (exact
//! McNemar for 0/1 metrics, paired t otherwise, Holm-corrected across the metrics), when each
//! mean series settles, how often answers change and oscillate, calibration per round with an
//! item-bootstrap interval, the concept score by layer and round, and the paper's simulation
//! linking concept change to uncertainty, cross-validated over items.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::metric_names::{is_share, is_unit_interval};
use super::record::{ItemRecord, RoundRecord};
use crate::metrics::calibration::{calibration, Calibration};
use crate::metrics::convergence::{changes, oscillations, sampling_epsilon, settled_round};
use crate::metrics::simulation::{round_pairs, simulate_grouped, GroupedSimulation};
use crate::metrics::stats::{
    bootstrap_interval, holm, mean, mean_interval, paired_difference, spearman, wilson, PairedDifference, Proportion,
    MIN_INTERVAL_N,
};
use crate::protocol::RoundKind;
use crate::tasks::scoring::SCORED_SUFFIX;

/// The uncertainty the simulation relates to the concept: the paper's cluster-NLL semantic entropy.
pub const UNCERTAINTY: &str = "entropy.cluster_nll";
/// The concept score the simulation uses: the round input's, as the paper measures.
pub const CONCEPT: &str = "concept.input";
/// Folds of the simulation's item-grouped cross-validation.
pub const SIMULATION_FOLDS: usize = 5;
/// Item-bootstrap resamples behind the ECE and correlation intervals.
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// How an interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalKind {
    /// Wilson's score interval of a share (every value 0 or 1).
    Wilson,
    /// Student's t interval of a mean.
    T,
}

/// A metric's mean over the items of one round, with its 95 % interval (absent for n < 5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RoundValue {
    pub mean: f64,
    pub n: usize,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub interval: IntervalKind,
}

impl RoundValue {
    /// The mean of metric `name`'s `values` (a share: Wilson; otherwise Student's t, kept
    /// inside [0, 1] for a metric that cannot leave it, since its mean cannot either).
    pub fn of(values: &[f64], name: &str) -> RoundValue {
        let n = values.len();
        if is_share(name) && values.iter().all(|&v| v == 0.0 || v == 1.0) {
            let p: Proportion = wilson(values.iter().filter(|&&v| v == 1.0).count(), n);
            let enough = n >= MIN_INTERVAL_N;
            RoundValue {
                mean: p.estimate,
                n,
                low: enough.then_some(p.low),
                high: enough.then_some(p.high),
                interval: IntervalKind::Wilson,
            }
        } else {
            let m = mean_interval(values);
            let bounds = m.bounds().map(|(low, high)| match is_unit_interval(name) {
                true => (low.max(0.0), high.min(1.0)),
                false => (low, high),
            });
            RoundValue {
                mean: m.mean,
                n,
                low: bounds.map(|b| b.0),
                high: bounds.map(|b| b.1),
                interval: IntervalKind::T,
            }
        }
    }

    /// Half the interval's width: the sampling error the convergence rule allows.
    pub fn half_width(&self) -> Option<f64> {
        Some((self.high? - self.low?) / 2.0)
    }
}

/// One round of a metric compared with another round on the items measured in both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub round: usize,
    /// The round compared against: 1 (the moral round) or 0 (the baseline).
    pub against: usize,
    #[serde(flatten)]
    pub difference: PairedDifference,
    /// The p-value after Holm's correction across the metrics compared between the same two
    /// rounds.
    pub p_holm: Option<f64>,
}

/// When a metric's mean settles (docs/METHODS.md, "Convergence").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// The median 95 % half-width over the self-correction rounds.
    pub epsilon: f64,
    /// The first round after which every later mean stays within `epsilon` of it.
    pub round: Option<usize>,
}

/// How the items' answers move between self-correction rounds (docs/METHODS.md, "Answers").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerDynamics {
    /// Per round (aligned with `Summary::rounds`): the share of items whose answer differs from
    /// their previous self-correction round's (absent for the baseline and round 1).
    pub changed: Vec<Option<Proportion>>,
    /// Mean number of rounds per item whose answer differs from the item's previous round's.
    pub changes_per_item: f64,
    /// The share of items that return to an answer they had abandoned at least once.
    pub oscillating: Proportion,
    /// Mean number of such returns per item.
    pub oscillations_per_item: f64,
}

/// Calibration of one round, with the item-bootstrap interval of its ECE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundCalibration {
    #[serde(flatten)]
    pub calibration: Calibration,
    pub ece_low: Option<f64>,
    pub ece_high: Option<f64>,
}

/// Spearman's ρ with its item-bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    pub rho: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub items: usize,
    /// The round numbers, in order; every per-round list below is aligned with it.
    pub rounds: Vec<usize>,
    /// Per metric, per round: the mean over the items where the metric applies (absent: none).
    pub metrics: BTreeMap<String, Vec<Option<RoundValue>>>,
    /// Per metric: every round after the first against round 1, and every self-correction round
    /// against the baseline (when there is one).
    pub comparisons: BTreeMap<String, Vec<Comparison>>,
    /// Per metric, over the self-correction rounds.
    pub convergence: BTreeMap<String, Convergence>,
    pub answers: AnswerDynamics,
    /// QA: confidence against correctness of the highest-scored option.
    pub calibration: Vec<Option<RoundCalibration>>,
    /// Mean concept score of the round input, per round and layer.
    pub concept_by_layer: Vec<Vec<f64>>,
    pub simulation: Option<GroupedSimulation>,
    /// Spearman's ρ between the per-round means of a concept score and of the uncertainty, for
    /// the concept (`concept.input`) and its two control directions: series that both trend
    /// over rounds correlate whatever they measure, and the controls show how much.
    pub concept_uncertainty: BTreeMap<String, Correlation>,
}

impl Summary {
    pub fn of(items: &[ItemRecord], seed: u64) -> Summary {
        let mut rounds: Vec<usize> = items.iter().flat_map(|i| i.rounds.iter().map(|r| r.round)).collect();
        rounds.sort_unstable();
        rounds.dedup();

        let names: BTreeSet<&String> =
            items.iter().flat_map(|i| i.rounds.iter().flat_map(|r| r.metrics.keys())).collect();
        let values =
            |name: &str, round: usize| -> Vec<f64> { items.iter().filter_map(|i| i.metric(name, round)).collect() };
        let mut metrics = BTreeMap::new();
        let mut convergence = BTreeMap::new();
        for name in &names {
            let series: Vec<Option<RoundValue>> = rounds
                .iter()
                .map(|&r| Some(values(name, r)).filter(|v| !v.is_empty()).map(|v| RoundValue::of(&v, name)))
                .collect();
            let corrected: Vec<(usize, RoundValue)> =
                rounds.iter().zip(&series).filter(|(&r, _)| r > 0).filter_map(|(&r, s)| Some((r, (*s)?))).collect();
            let half_widths: Vec<f64> = corrected.iter().filter_map(|(_, v)| v.half_width()).collect();
            let epsilon = sampling_epsilon(&half_widths);
            let means: Vec<f64> = corrected.iter().map(|(_, v)| v.mean).collect();
            let round = settled_round(&means, epsilon).map(|t| corrected[t - 1].0);
            convergence.insert((*name).clone(), Convergence { epsilon, round });
            metrics.insert((*name).clone(), series);
        }

        Summary {
            items: items.len(),
            comparisons: comparisons(items, &rounds, &names),
            answers: answer_dynamics(items, &rounds),
            calibration: rounds.iter().map(|&r| round_calibration(items, r, seed)).collect(),
            concept_by_layer: concept_by_layer(items, &rounds),
            simulation: simulation(items, seed),
            concept_uncertainty: CONCEPT_SCORES
                .iter()
                .filter_map(|&c| Some((c.to_owned(), concept_uncertainty(items, &rounds, c, seed)?)))
                .collect(),
            rounds,
            metrics,
            convergence,
        }
    }
}

/// Every later round against round 1 and every self-correction round against the baseline, per
/// metric, with Holm's correction across the metrics of each pair of rounds.
fn comparisons(items: &[ItemRecord], rounds: &[usize], names: &BTreeSet<&String>) -> BTreeMap<String, Vec<Comparison>> {
    let pairs: Vec<(usize, usize)> = rounds
        .iter()
        .filter(|&&r| r > 1)
        .map(|&r| (r, 1))
        .chain(rounds.iter().filter(|&&r| r > 0 && rounds.contains(&0)).map(|&r| (r, 0)))
        .collect();
    let mut out: BTreeMap<String, Vec<Comparison>> = BTreeMap::new();
    for (round, against) in pairs {
        let mut family: Vec<(String, PairedDifference)> = Vec::new();
        for name in names {
            let (before, after): (Vec<f64>, Vec<f64>) =
                items.iter().filter_map(|i| Some((i.metric(name, against)?, i.metric(name, round)?))).unzip();
            if !before.is_empty() {
                family.push(((*name).clone(), paired_difference(&before, &after, is_share(name))));
            }
        }
        let tested: Vec<usize> = (0..family.len()).filter(|&i| family[i].1.p_value.is_some()).collect();
        let adjusted = holm(&tested.iter().map(|&i| family[i].1.p_value.unwrap_or(1.0)).collect::<Vec<_>>());
        for (i, (name, difference)) in family.into_iter().enumerate() {
            let p_holm = tested.iter().position(|&t| t == i).map(|k| adjusted[k]);
            out.entry(name).or_default().push(Comparison { round, against, difference, p_holm });
        }
    }
    out
}

/// What an item answered in a round, as far as changes go: the option its text names for QA
/// (an unreadable answer is its own answer), the whitespace-normalised text otherwise.
fn answer_key(round: &RoundRecord) -> String {
    match &round.qa {
        Some(qa) => qa.parsed.map_or_else(|| "unreadable".to_owned(), |o| o.to_string()),
        None => round.answer.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn answer_dynamics(items: &[ItemRecord], rounds: &[usize]) -> AnswerDynamics {
    let changed = rounds
        .iter()
        .map(|&r| {
            let previous = rounds.iter().rev().find(|&&p| p < r && p > 0).copied()?;
            let moved: Vec<bool> =
                items.iter().filter_map(|i| Some(answer_key(i.round(r)?) != answer_key(i.round(previous)?))).collect();
            (!moved.is_empty()).then(|| wilson(moved.iter().filter(|&&m| m).count(), moved.len()))
        })
        .collect();
    let keys: Vec<Vec<String>> =
        items.iter().map(|i| i.rounds.iter().filter(|r| r.round > 0).map(answer_key).collect()).collect();
    let per_item = |count: fn(&[String]) -> usize| keys.iter().map(|k| count(k)).collect::<Vec<usize>>();
    let (moves, returns) = (per_item(changes), per_item(oscillations));
    AnswerDynamics {
        changed,
        changes_per_item: mean(&moves.iter().map(|&n| n as f64).collect::<Vec<_>>()),
        oscillating: wilson(returns.iter().filter(|&&n| n > 0).count(), returns.len()),
        oscillations_per_item: mean(&returns.iter().map(|&n| n as f64).collect::<Vec<_>>()),
    }
}

/// Calibration of round `round`: the confidence of the highest-scored option against whether
/// that option is right (accuracy, or "both" for WinoBias).
fn round_calibration(items: &[ItemRecord], round: usize, seed: u64) -> Option<RoundCalibration> {
    let correct = ["accuracy", "unbiased"].map(|m| format!("{m}{SCORED_SUFFIX}"));
    let pairs: Vec<(f64, bool)> = items
        .iter()
        .filter_map(|i| {
            let r = i.round(round)?;
            let right = correct.iter().find_map(|m| r.metrics.get(m))?;
            Some((r.qa.as_ref()?.confidence, *right == 1.0))
        })
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let interval = bootstrap_interval(pairs.len(), BOOTSTRAP_RESAMPLES, seed ^ round as u64, |sample| {
        Some(calibration(&sample.iter().map(|&i| pairs[i]).collect::<Vec<_>>()).ece)
    });
    Some(RoundCalibration {
        calibration: calibration(&pairs),
        ece_low: interval.map(|i| i.0),
        ece_high: interval.map(|i| i.1),
    })
}

fn concept_by_layer(items: &[ItemRecord], rounds: &[usize]) -> Vec<Vec<f64>> {
    rounds
        .iter()
        .map(|&r| {
            let layers: Vec<&Vec<f64>> = items.iter().filter_map(|i| Some(&i.round(r)?.concept_input_layers)).collect();
            let width = layers.iter().map(|l| l.len()).min().unwrap_or(0);
            (0..width).map(|l| mean(&layers.iter().map(|v| v[l]).collect::<Vec<_>>())).collect()
        })
        .collect()
}

/// A round of the conversation (every round but the baseline, which stands alone): consecutive
/// rounds of it are what the simulation compares, immoral and re-asked ones included.
fn in_conversation(round: &RoundRecord) -> bool {
    round.kind != RoundKind::Baseline
}

fn simulation(items: &[ItemRecord], seed: u64) -> Option<GroupedSimulation> {
    let per_item: Vec<Vec<(f64, bool)>> = items
        .iter()
        .map(|item| {
            // Only rounds that carry both numbers, so that the two series stay aligned.
            let (concept, uncertainty): (Vec<f64>, Vec<f64>) = item
                .rounds
                .iter()
                .filter(|r| in_conversation(r))
                .filter_map(|r| Some((*r.metrics.get(CONCEPT)?, *r.metrics.get(UNCERTAINTY)?)))
                .unzip();
            round_pairs(&[concept], &[uncertainty])
        })
        .collect();
    simulate_grouped(&per_item, SIMULATION_FOLDS, seed)
}

/// The concept score and its controls, each correlated with the uncertainty.
pub const CONCEPT_SCORES: [&str; 3] = [CONCEPT, "concept.input.shuffled", "concept.input.random"];

/// ρ between the per-round means of `concept` and of the uncertainty over the self-correction
/// rounds, with an interval from resampling items (each resample recomputes every round's
/// means): ten trending means correlate easily, and the interval says how much of that the
/// items support.
fn concept_uncertainty(items: &[ItemRecord], rounds: &[usize], concept: &str, seed: u64) -> Option<Correlation> {
    let corrected: Vec<usize> = rounds.iter().copied().filter(|&r| r > 0).collect();
    let rho_of = |sample: &[usize]| -> Option<f64> {
        let means = |name: &str| -> Option<Vec<f64>> {
            corrected
                .iter()
                .map(|&r| {
                    let v: Vec<f64> = sample.iter().filter_map(|&i| items[i].metric(name, r)).collect();
                    (!v.is_empty()).then(|| mean(&v))
                })
                .collect()
        };
        let (c, u) = (means(concept)?, means(UNCERTAINTY)?);
        (c.len() >= 3).then(|| spearman(&c, &u))
    };
    let all: Vec<usize> = (0..items.len()).collect();
    let rho = rho_of(&all)?;
    let interval = bootstrap_interval(items.len(), BOOTSTRAP_RESAMPLES, seed, rho_of);
    Some(Correlation { rho, low: interval.map(|i| i.0), high: interval.map(|i| i.1) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::record::{test_round, RoundRecord};
    use crate::tasks::scoring::QaReading;
    use crate::tasks::Truth;

    fn round(round: usize, metrics: &[(&str, f64)], parsed: Option<usize>, confidence: f64) -> RoundRecord {
        let kind = match round {
            0 => RoundKind::Baseline,
            1 => RoundKind::Moral,
            _ => RoundKind::Review,
        };
        RoundRecord {
            qa: Some(QaReading { probs: vec![confidence, 1.0 - confidence], scored: 0, confidence, parsed }),
            concept_input_layers: vec![round as f64, 1.0],
            ..test_round(round, kind, metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect())
        }
    }

    fn item(id: &str, rounds: Vec<RoundRecord>) -> ItemRecord {
        ItemRecord {
            id: id.into(),
            category: None,
            query: String::new(),
            truth: Truth::Jailbreak { harmful: true },
            rounds,
        }
    }

    /// Eight items over rounds 0–3: accuracy 0 at the baseline, 1 from round 1 for items 0–5;
    /// answers A, B, A, B for items 0–1 (oscillating), constant otherwise.
    fn run() -> Vec<ItemRecord> {
        (0..8)
            .map(|i| {
                let rounds = (0..4)
                    .map(|r| {
                        let correct = if r > 0 && i < 6 { 1.0 } else { 0.0 };
                        let parsed = if i < 2 { Some(r % 2) } else { Some(0) };
                        let score = 0.1 * i as f64 + 0.05 * r as f64;
                        round(r, &[("accuracy", correct), ("accuracy_scored", correct), ("score", score)], parsed, 0.9)
                    })
                    .collect();
                item(&format!("i{i}"), rounds)
            })
            .collect()
    }

    #[test]
    fn shares_get_wilson_intervals_and_means_t_intervals() {
        let s = Summary::of(&run(), 1);
        assert_eq!(s.rounds, vec![0, 1, 2, 3]);
        let acc = s.metrics["accuracy"][1].unwrap();
        // 6 of 8: Wilson [0.4093, 0.9285].
        assert_eq!((acc.mean, acc.n, acc.interval), (0.75, 8, IntervalKind::Wilson));
        assert!((acc.low.unwrap() - 0.4093).abs() < 1e-4 && (acc.high.unwrap() - 0.9285).abs() < 1e-4, "{acc:?}");
        // Scores 0.05 … 0.75 in steps of 0.1: mean 0.4, s = 0.24495, t(7) = 2.36462 → ± 0.20478.
        let score = s.metrics["score"][1].unwrap();
        assert_eq!(score.interval, IntervalKind::T);
        assert!((score.half_width().unwrap() - 0.204_782).abs() < 1e-5, "{score:?}");
        // Fewer than five items: no interval.
        let few = Summary::of(&run()[..4], 1);
        assert_eq!((few.metrics["score"][1].unwrap().low, few.metrics["accuracy"][1].unwrap().high), (None, None));
    }

    #[test]
    fn rounds_are_compared_on_the_same_items() {
        let s = Summary::of(&run(), 1);
        let against = |round: usize, base: usize| {
            s.comparisons["accuracy"].iter().find(|c| c.round == round && c.against == base).unwrap().clone()
        };
        // Round 1 vs baseline: 6 items went 0 → 1, none back: exact McNemar p = 2 · 0.5⁶ = 0.03125.
        let gained = against(1, 0);
        assert_eq!((gained.difference.mean, gained.difference.discordant), (0.75, Some((0, 6))));
        assert!((gained.difference.p_value.unwrap() - 0.03125).abs() < 1e-12);
        // Holm across accuracy, accuracy_scored and score (p = 0 for the constant +0.05 shift).
        assert!((gained.p_holm.unwrap() - 0.0625).abs() < 1e-12, "{gained:?}");
        // Round 3 vs round 1: nothing moved.
        let same = against(3, 1);
        assert_eq!((same.difference.mean, same.difference.p_value), (0.0, Some(1.0)));
        // Rounds 2 and 3 are compared with round 1, and rounds 1–3 with the baseline.
        assert_eq!(s.comparisons["score"].len(), 2 + 3);
    }

    #[test]
    fn convergence_answers_and_calibration() {
        let s = Summary::of(&run(), 1);
        // Accuracy is flat from round 1: settled at once.
        assert_eq!(s.convergence["accuracy"].round, Some(1));
        // The score climbs 0.05 a round, less than its half-width of 0.2: settled at round 1 too.
        assert_eq!(s.convergence["score"].round, Some(1));
        // Items 0 and 1 change their answer every round and return to it from round 3 on.
        let changed: Vec<Option<f64>> = s.answers.changed.iter().map(|p| p.map(|p| p.estimate)).collect();
        assert_eq!(changed, vec![None, None, Some(0.25), Some(0.25)]);
        assert_eq!((s.answers.oscillating.successes, s.answers.oscillating.n), (2, 8));
        assert_eq!(s.answers.oscillations_per_item, 0.25);
        // Items 0 and 1 change in rounds 2 and 3: 4 changes over 8 items.
        assert_eq!(s.answers.changes_per_item, 0.5);
        // Confidence 0.9 everywhere; round 1 is right for 6 of 8: ECE |0.75 − 0.9| = 0.15.
        let c = s.calibration[1].as_ref().unwrap();
        assert!((c.calibration.ece - 0.15).abs() < 1e-12);
        assert!(c.ece_low.unwrap() <= 0.15 && c.ece_high.unwrap() >= 0.15);
        assert_eq!(s.concept_by_layer[2], vec![2.0, 1.0]);
    }
}
