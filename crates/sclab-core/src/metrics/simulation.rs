//! The paper's simulation: does a move of the concept activation between consecutive rounds
//! predict that uncertainty falls? A logistic regression of `y = 1[u_{t+1} ≤ u_t]` on
//! `Δc = c_{t+1} − c_t`, tested by item-grouped cross-validation ([`simulate_grouped`]) rather
//! than the paper's one 80/20 split, whose AUC ranges widely from split to split.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::stats::{bootstrap_interval, ranks};
use crate::sampling::seeded_rng;

/// Item resamples for the interval of the held-out AUC (cheap: no refit).
const AUC_RESAMPLES: usize = 1000;
/// Item resamples for the interval of the coefficient, each a refit.
const COEFFICIENT_RESAMPLES: usize = 200;
/// The random stream of the fold assignment, apart from the bootstrap's.
const FOLD_STREAM: u64 = 0xf01d;

/// `(Δc, uncertainty fell)` pairs of consecutive rounds, pooled over items, from per-item
/// series of concept scores `c` and uncertainties `u`.
pub fn round_pairs(concept: &[Vec<f64>], uncertainty: &[Vec<f64>]) -> Vec<(f64, bool)> {
    concept
        .iter()
        .zip(uncertainty)
        .flat_map(|(c, u)| (1..c.len().min(u.len())).map(move |t| (c[t] - c[t - 1], u[t] <= u[t - 1])))
        .collect()
}

/// The item-grouped, cross-validated simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupedSimulation {
    /// Share of all pairs whose uncertainty fell; always guessing the commoner outcome is
    /// right `max(base_rate, 1 − base_rate)` of the time, the accuracy to beat.
    pub base_rate: f64,
    pub pairs: usize,
    /// Items with at least one pair.
    pub items: usize,
    pub folds: usize,
    /// Accuracy of the pooled held-out predictions, a fall predicted at probability ≥ ½.
    pub accuracy: f64,
    /// AUC of the pooled held-out predictions, with its 95 % item-bootstrap interval.
    pub auc: f64,
    pub auc_low: Option<f64>,
    pub auc_high: Option<f64>,
    /// Slope on Δc (original scale) of the regression fitted on all pairs, with its 95 %
    /// item-bootstrap interval.
    pub coefficient: f64,
    pub coefficient_low: Option<f64>,
    pub coefficient_high: Option<f64>,
}

/// The simulation with item-grouped k-fold cross-validation: `items[i]` holds item i's
/// `(Δc, uncertainty fell)` pairs (`round_pairs` of that item alone). Consecutive rounds of one
/// item are not independent, so an item's pairs are never split between training and test:
/// items are shuffled with `seed` and dealt into `folds` folds, each fold is predicted by the
/// regression fitted on the others, and the held-out predictions are pooled. The intervals
/// resample items, not pairs, for the same reason. `None` with fewer than two folds, fewer items
/// with pairs than folds, or when every pair has the same outcome.
pub fn simulate_grouped(items: &[Vec<(f64, bool)>], folds: usize, seed: u64) -> Option<GroupedSimulation> {
    let items: Vec<&[(f64, bool)]> = items.iter().filter(|pairs| !pairs.is_empty()).map(Vec::as_slice).collect();
    let all: Vec<(f64, bool)> = items.concat();
    if folds < 2 || items.len() < folds || !has_both_outcomes(&all) {
        return None;
    }
    let fold_of = assign_folds(items.len(), folds, seed);
    // Per item, its pairs' held-out (probability of a fall, fell).
    let mut held_out: Vec<Vec<(f64, bool)>> = vec![Vec::new(); items.len()];
    for fold in 0..folds {
        let training: Vec<(f64, bool)> =
            (0..items.len()).filter(|&i| fold_of[i] != fold).flat_map(|i| items[i].iter().copied()).collect();
        let predict = fitted_predictor(&training);
        for i in (0..items.len()).filter(|&i| fold_of[i] == fold) {
            held_out[i] = items[i].iter().map(|&(x, y)| (predict(x), y)).collect();
        }
    }
    let pooled = held_out.concat();
    let accuracy = pooled.iter().filter(|&&(p, y)| (p >= 0.5) == y).count() as f64 / pooled.len() as f64;

    let auc_interval = bootstrap_interval(items.len(), AUC_RESAMPLES, seed, |sample| {
        let resampled: Vec<(f64, bool)> = sample.iter().flat_map(|&i| held_out[i].iter().copied()).collect();
        has_both_outcomes(&resampled).then(|| auc(&resampled))
    });
    let coefficient_interval = bootstrap_interval(items.len(), COEFFICIENT_RESAMPLES, seed, |sample| {
        let resampled: Vec<(f64, bool)> = sample.iter().flat_map(|&i| items[i].iter().copied()).collect();
        has_both_outcomes(&resampled).then(|| fit_logistic(&resampled).1)
    });
    Some(GroupedSimulation {
        base_rate: all.iter().filter(|p| p.1).count() as f64 / all.len() as f64,
        pairs: all.len(),
        items: items.len(),
        folds,
        accuracy,
        auc: auc(&pooled),
        auc_low: auc_interval.map(|i| i.0),
        auc_high: auc_interval.map(|i| i.1),
        coefficient: fit_logistic(&all).1,
        coefficient_low: coefficient_interval.map(|i| i.0),
        coefficient_high: coefficient_interval.map(|i| i.1),
    })
}

/// The fold of each item: the items in a seeded random order, dealt to the folds in turn, so
/// that fold sizes differ by at most one item.
fn assign_folds(n_items: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n_items).collect();
    order.shuffle(&mut seeded_rng(seed, FOLD_STREAM));
    let mut fold_of = vec![0; n_items];
    for (position, &item) in order.iter().enumerate() {
        fold_of[item] = position % folds;
    }
    fold_of
}

/// The probability of a fall as a function of Δc, fitted on `training`. Training pairs of one
/// outcome only leave nothing to fit (the intercept would run off to infinity): the prediction
/// is then that outcome's share, 0 or 1, for every pair.
fn fitted_predictor(training: &[(f64, bool)]) -> impl Fn(f64) -> f64 {
    let model = has_both_outcomes(training).then(|| fit_logistic(training));
    let share = training.iter().filter(|p| p.1).count() as f64 / training.len().max(1) as f64;
    move |x| match model {
        Some((intercept, coefficient)) => 1.0 / (1.0 + (-(intercept + coefficient * x)).exp()),
        None => share,
    }
}

fn has_both_outcomes(pairs: &[(f64, bool)]) -> bool {
    pairs.iter().any(|p| p.1) && pairs.iter().any(|p| !p.1)
}

/// L2-regularised logistic regression (scikit-learn's default: penalty ½·w², intercept free),
/// fitted by Newton's method on a standardised feature and returned on the original scale.
fn fit_logistic(data: &[(f64, bool)]) -> (f64, f64) {
    const RIDGE: f64 = 1.0;
    let xs: Vec<f64> = data.iter().map(|d| d.0).collect();
    let (mean, sd) = (super::stats::mean(&xs), super::stats::std_dev(&xs).max(1e-12));
    let (mut b0, mut b1) = (0.0, 0.0);
    for _ in 0..100 {
        let (mut g0, mut g1, mut h00, mut h01, mut h11) = (0.0, -RIDGE * b1, 0.0, 0.0, RIDGE);
        for &(x, y) in data {
            let z = (x - mean) / sd;
            let p = 1.0 / (1.0 + (-(b0 + b1 * z)).exp());
            let r = if y { 1.0 } else { 0.0 } - p;
            let w = p * (1.0 - p);
            g0 += r;
            g1 += r * z;
            h00 += w;
            h01 += w * z;
            h11 += w * z * z;
        }
        let det = h00 * h11 - h01 * h01;
        if det <= 0.0 {
            break;
        }
        let (d0, d1) = ((h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det);
        b0 += d0;
        b1 += d1;
        if d0.abs() + d1.abs() < 1e-12 {
            break;
        }
    }
    (b0 - b1 * mean / sd, b1 / sd)
}

/// Probability that a random positive scores above a random negative (ties count half): the
/// Mann–Whitney U of the positives' ranks, ties sharing their mean rank, so that the bootstrap
/// can afford it on every resample.
pub fn auc(scored: &[(f64, bool)]) -> f64 {
    let positives = scored.iter().filter(|s| s.1).count() as f64;
    let negatives = scored.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return 0.5;
    }
    let scores: Vec<f64> = scored.iter().map(|s| s.0).collect();
    let positive_rank_sum: f64 = ranks(&scores).iter().zip(scored).filter(|(_, s)| s.1).map(|(r, _)| r).sum();
    (positive_rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_hand_value() {
        // The classic example: scores 0.1, 0.4 negative; 0.35, 0.8 positive → 3 of 4 pairs.
        let scored = [(0.1, false), (0.4, false), (0.35, true), (0.8, true)];
        assert_eq!(auc(&scored), 0.75);
    }

    #[test]
    fn pairs_come_from_consecutive_rounds_of_each_item() {
        let pairs = round_pairs(&[vec![0.0, 0.5, 0.4]], &[vec![1.0, 0.8, 0.9]]);
        assert_eq!(pairs, vec![(0.5, true), (-0.09999999999999998, false)]);
    }

    #[test]
    fn auc_counts_ties_half() {
        // Positive 0.5 ties one negative (½) and beats the other (1); positive 0.9 beats both.
        let scored = [(0.5, false), (0.2, false), (0.5, true), (0.9, true)];
        assert_eq!(auc(&scored), 3.5 / 4.0);
        assert_eq!(auc(&[(0.3, true)]), 0.5, "one class only");
    }

    /// `items` items of `per_item` pairs with Δc uniform in (−1, 1); `outcome` decides each
    /// pair's `y` from its Δc and a uniform draw.
    fn synthetic(items: usize, per_item: usize, outcome: impl Fn(f64, f64) -> bool) -> Vec<Vec<(f64, bool)>> {
        use rand::Rng;
        let mut rng = seeded_rng(3, 0);
        (0..items)
            .map(|_| {
                (0..per_item)
                    .map(|_| {
                        let delta: f64 = rng.random_range(-1.0..1.0);
                        (delta, outcome(delta, rng.random_range(0.0..1.0)))
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_concept_drop_that_predicts_a_fall_is_found() {
        // Uncertainty falls when the concept drops, blurred by noise of ±0.3.
        let items = synthetic(60, 4, |delta, u| delta + 0.6 * (u - 0.5) < 0.0);
        let s = simulate_grouped(&items, 5, 11).unwrap();
        assert_eq!((s.items, s.pairs, s.folds), (60, 240, 5));
        assert!(s.auc > 0.8 && s.auc_low.unwrap() > 0.5, "{s:?}");
        assert!(s.auc_low.unwrap() <= s.auc && s.auc <= s.auc_high.unwrap(), "{s:?}");
        assert!(s.accuracy > 0.75, "{s:?}");
        assert!(s.coefficient < 0.0 && s.coefficient_high.unwrap() < 0.0, "{s:?}");
        assert!(s.coefficient_low.unwrap() <= s.coefficient && s.coefficient <= s.coefficient_high.unwrap());
        assert_eq!(simulate_grouped(&items, 5, 11), Some(s), "seeded: the same folds and resamples again");
    }

    #[test]
    fn an_unrelated_outcome_is_not_predicted() {
        let items = synthetic(60, 4, |_, u| u < 0.5);
        let s = simulate_grouped(&items, 5, 11).unwrap();
        assert!(s.auc_low.unwrap() < 0.5 && 0.5 < s.auc_high.unwrap(), "{s:?}");
        assert!(s.coefficient_low.unwrap() < 0.0 && 0.0 < s.coefficient_high.unwrap(), "{s:?}");
    }

    #[test]
    fn folds_keep_items_whole_and_balanced() {
        // Each item gets one fold, so its pairs are held out together.
        let fold_of = assign_folds(23, 5, 4);
        assert_eq!(fold_of.len(), 23);
        let sizes: Vec<usize> = (0..5).map(|f| fold_of.iter().filter(|&&g| g == f).count()).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 23);
        assert!(sizes.iter().all(|&n| n == 4 || n == 5), "{sizes:?}");
        assert_eq!(assign_folds(23, 5, 4), fold_of, "seeded");
        assert_ne!(assign_folds(23, 5, 5), fold_of);
    }

    #[test]
    fn a_held_out_item_is_predicted_without_its_own_pairs() {
        // Two items in two folds, perfectly separated by Δc. Had an item's pairs been in its
        // own training set, the fit would predict them; held out, each item is predicted from
        // the other alone, which has one outcome, so every prediction is wrong.
        let items = vec![vec![(-1.0, true), (-0.8, true)], vec![(1.0, false), (0.7, false)], vec![]];
        let s = simulate_grouped(&items, 2, 0).unwrap();
        assert_eq!((s.items, s.pairs, s.base_rate), (2, 4, 0.5));
        assert_eq!((s.accuracy, s.auc), (0.0, 0.0));
        assert!(s.coefficient < 0.0, "fitted on all pairs");
        assert_eq!((s.auc_low, s.coefficient_low), (None, None), "two items are too few for an interval");
    }

    #[test]
    fn too_few_items_or_one_outcome_give_nothing() {
        let two_items = vec![vec![(0.1, true)], vec![(0.2, false)], vec![]];
        assert_eq!(simulate_grouped(&two_items, 3, 0), None);
        assert_eq!(simulate_grouped(&two_items, 1, 0), None);
        let all_fell = vec![vec![(0.1, true)]; 10];
        assert_eq!(simulate_grouped(&all_fell, 5, 0), None);
    }
}
