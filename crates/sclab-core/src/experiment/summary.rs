//! Aggregation over the items of a run: per round and metric the mean with its 95 % interval,
//! the convergence round of each mean series, calibration per round (QA), the concept score
//! by layer and round, and the paper's simulation linking concept change to uncertainty.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::record::{ItemRecord, RoundRecord};
use crate::metrics::calibration::{calibration, Calibration};
use crate::metrics::convergence::{convergence_round, DEFAULT_TOLERANCE, DEFAULT_WINDOW};
use crate::metrics::simulation::{round_pairs, simulate, Simulation};
use crate::metrics::stats::{mean, mean_interval, pearson, MeanInterval};

/// ε of the looser convergence rule, as a share of the metric's range.
pub const LOOSE_TOLERANCE: f64 = 0.05;

/// The uncertainty the simulation relates to the concept: the paper's cluster-NLL semantic entropy.
pub const UNCERTAINTY: &str = "entropy.cluster_nll";
/// The concept score the simulation uses: the round input's, as the paper measures.
pub const CONCEPT: &str = "concept.input";

fn at(item: &ItemRecord, round: usize) -> Option<&RoundRecord> {
    item.rounds.iter().find(|r| r.round == round)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub items: usize,
    /// The round numbers, in order; every per-round list below is aligned with it.
    pub rounds: Vec<usize>,
    /// Per metric, per round: the mean over the items where the metric applies (absent: none).
    pub metrics: BTreeMap<String, Vec<Option<MeanInterval>>>,
    /// Per metric, the round after which its mean stays within 1 % of its range for 3 rounds
    /// (self-correction rounds only: the baseline is not part of the series).
    pub convergence: BTreeMap<String, Option<usize>>,
    /// The same with a looser ε of 5 % of the range, for metrics as noisy as K-sample entropies.
    pub convergence_loose: BTreeMap<String, Option<usize>>,
    /// QA: confidence against correctness (the `accuracy` metric, or `unbiased` for WinoBias).
    pub calibration: Vec<Option<Calibration>>,
    /// Mean concept score of the round input, per round and layer.
    pub concept_by_layer: Vec<Vec<f64>>,
    pub simulation: Option<Simulation>,
    /// Pearson r between the per-round means of the concept score and of the uncertainty.
    pub concept_uncertainty_r: Option<f64>,
}

impl Summary {
    pub fn of(items: &[ItemRecord], seed: u64) -> Summary {
        let mut rounds: Vec<usize> = items.iter().flat_map(|i| i.rounds.iter().map(|r| r.round)).collect();
        rounds.sort_unstable();
        rounds.dedup();

        let names: std::collections::BTreeSet<&String> =
            items.iter().flat_map(|i| i.rounds.iter().flat_map(|r| r.metrics.keys())).collect();
        let values = |name: &str, round: usize| -> Vec<f64> {
            items.iter().filter_map(|i| at(i, round)?.metrics.get(name).copied()).filter(|v| v.is_finite()).collect()
        };
        let mut metrics = BTreeMap::new();
        let mut convergence = BTreeMap::new();
        let mut convergence_loose = BTreeMap::new();
        for name in names {
            let series: Vec<Option<MeanInterval>> = rounds
                .iter()
                .map(|&r| Some(values(name, r)).filter(|v| !v.is_empty()).map(|v| mean_interval(&v)))
                .collect();
            let corrected: Vec<(usize, f64)> = rounds
                .iter()
                .zip(&series)
                .filter(|(&r, _)| r > 0)
                .filter_map(|(&r, s)| Some((r, s.as_ref()?.mean)))
                .collect();
            let means: Vec<f64> = corrected.iter().map(|c| c.1).collect();
            let converged =
                |tolerance| convergence_round(&means, tolerance, DEFAULT_WINDOW).map(|t| corrected[t - 1].0);
            convergence.insert(name.clone(), converged(DEFAULT_TOLERANCE));
            convergence_loose.insert(name.clone(), converged(LOOSE_TOLERANCE));
            metrics.insert(name.clone(), series);
        }

        let correct = ["accuracy", "unbiased"].into_iter().find(|m| metrics.contains_key(*m));
        let calibration = rounds
            .iter()
            .map(|&r| {
                let correct = correct?;
                let pairs: Vec<(f64, bool)> = items
                    .iter()
                    .filter_map(|i| {
                        let round = at(i, r)?;
                        Some((round.qa.as_ref()?.confidence, *round.metrics.get(correct)? == 1.0))
                    })
                    .collect();
                (!pairs.is_empty()).then(|| calibration(&pairs))
            })
            .collect();

        let concept_by_layer = rounds
            .iter()
            .map(|&r| {
                let layers: Vec<&Vec<f64>> =
                    items.iter().filter_map(|i| Some(&at(i, r)?.concept_input_layers)).collect();
                let width = layers.iter().map(|l| l.len()).min().unwrap_or(0);
                (0..width).map(|l| mean(&layers.iter().map(|v| v[l]).collect::<Vec<_>>())).collect()
            })
            .collect();

        let series_of = |name: &str| -> Vec<Vec<f64>> {
            items
                .iter()
                .map(|i| i.rounds.iter().filter(|r| r.round > 0).filter_map(|r| r.metrics.get(name).copied()).collect())
                .collect()
        };
        let (concept, uncertainty) = (series_of(CONCEPT), series_of(UNCERTAINTY));
        let simulation = simulate(&round_pairs(&concept, &uncertainty), seed);
        let means = |name: &str| -> Vec<f64> {
            metrics
                .get(name)
                .map(|s| {
                    s.iter().zip(&rounds).filter(|(_, &r)| r > 0).filter_map(|(m, _)| Some(m.as_ref()?.mean)).collect()
                })
                .unwrap_or_default()
        };
        let (mc, mu) = (means(CONCEPT), means(UNCERTAINTY));
        let concept_uncertainty_r = (mc.len() >= 3 && mc.len() == mu.len()).then(|| pearson(&mc, &mu));

        Summary {
            items: items.len(),
            rounds,
            metrics,
            convergence,
            convergence_loose,
            calibration,
            concept_by_layer,
            simulation,
            concept_uncertainty_r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::record::RoundRecord;
    use crate::generate::StopReason;
    use crate::protocol::RoundKind;
    use crate::tasks::scoring::QaReading;
    use crate::tasks::Truth;

    fn round(round: usize, metrics: &[(&str, f64)], confidence: f64, layers: Vec<f64>) -> RoundRecord {
        RoundRecord {
            round,
            kind: if round == 1 { RoundKind::Moral } else { RoundKind::Review },
            user: String::new(),
            answer_prefix: String::new(),
            answer: String::new(),
            answer_tokens: 1,
            stop: StopReason::MaxTokens,
            appended_tokens: 1,
            context_tokens: 1,
            metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            qa: Some(QaReading { probs: vec![confidence, 1.0 - confidence], scored: 0, confidence, parsed: None }),
            samples: Vec::new(),
            concept_input_layers: layers,
            concept_answer_layers: Vec::new(),
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

    #[test]
    fn means_intervals_and_missing_metrics_per_round() {
        let items = [
            item(
                "a",
                vec![
                    round(1, &[("accuracy", 1.0), ("bias", 1.0)], 0.9, vec![0.2, 0.4]),
                    round(2, &[("accuracy", 1.0)], 0.9, vec![0.0, 0.2]),
                ],
            ),
            item(
                "b",
                vec![
                    round(1, &[("accuracy", 0.0)], 0.7, vec![0.4, 0.0]),
                    round(2, &[("accuracy", 1.0)], 0.8, vec![0.2, 0.0]),
                ],
            ),
        ];
        let s = Summary::of(&items, 1);
        assert_eq!(s.rounds, vec![1, 2]);
        let acc = &s.metrics["accuracy"];
        assert_eq!((acc[0].unwrap().mean, acc[0].unwrap().n), (0.5, 2));
        // Two values 1 and 0: s = 1/√2, half-width 12.706 · (1/√2) / √2 = 6.353.
        assert!((acc[0].unwrap().half_width - 6.353).abs() < 1e-9);
        assert_eq!((acc[1].unwrap().mean, acc[1].unwrap().half_width), (1.0, 0.0));
        // `bias` applies to one item in round 1 and to none in round 2.
        assert_eq!(s.metrics["bias"][0].unwrap().n, 1);
        assert!(s.metrics["bias"][1].is_none());
        // Calibration of round 1: confidences 0.9 (right) and 0.7 (wrong) in two bins:
        // ECE = (|1 − 0.9| + |0 − 0.7|) / 2 = 0.4.
        assert!((s.calibration[0].as_ref().unwrap().ece - 0.4).abs() < 1e-12);
        assert_eq!(s.concept_by_layer, vec![vec![0.30000000000000004, 0.2], vec![0.1, 0.1]]);
        assert!(s.simulation.is_none(), "two pairs are too few");
        assert!(s.concept_uncertainty_r.is_none());
    }

    #[test]
    fn convergence_is_reported_as_a_round_number() {
        let series = [0.2, 0.6, 0.61, 0.61, 0.61, 0.61];
        let rounds = |v: f64| {
            (1..=6).map(|r| round(r, &[("toxicity", if r == 1 { 0.2 } else { v })], 0.5, vec![])).collect::<Vec<_>>()
        };
        let mut items = vec![item("a", rounds(0.6))];
        items[0].rounds.iter_mut().zip(series).for_each(|(r, v)| {
            r.metrics.insert("toxicity".into(), v);
        });
        let s = Summary::of(&items, 1);
        // Range 0.41, ε = 0.0041: round 3 (0.61) is followed by three rounds within it.
        assert_eq!(s.convergence["toxicity"], Some(3));
        // With ε = 5 % (0.0205), round 2 (0.6) is already within it of the next three.
        assert_eq!(s.convergence_loose["toxicity"], Some(2));
    }
}
