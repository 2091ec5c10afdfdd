//! The paper's simulation: does a move of the concept activation between consecutive rounds
//! predict that uncertainty falls? A seeded 80/20 logistic regression of
//! `y = 1[u_{t+1} ≤ u_t]` on `Δc = c_{t+1} − c_t`.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Simulation {
    /// Held-out accuracy of the fitted regression.
    pub accuracy: f64,
    /// Held-out area under the ROC curve.
    pub auc: f64,
    /// Slope on Δc: positive when a larger concept move makes a fall in uncertainty likelier.
    pub coefficient: f64,
    pub intercept: f64,
    pub train: usize,
    pub test: usize,
}

/// `(Δc, uncertainty fell)` pairs of consecutive rounds, pooled over items, from per-item
/// series of concept scores `c` and uncertainties `u`.
pub fn round_pairs(concept: &[Vec<f64>], uncertainty: &[Vec<f64>]) -> Vec<(f64, bool)> {
    concept
        .iter()
        .zip(uncertainty)
        .flat_map(|(c, u)| (1..c.len().min(u.len())).map(move |t| (c[t] - c[t - 1], u[t] <= u[t - 1])))
        .collect()
}

/// Fit on a seeded 80 % of the pairs, evaluate on the rest; `None` when there are fewer than
/// five pairs or the training part lacks one of the two outcomes.
pub fn simulate(pairs: &[(f64, bool)], seed: u64) -> Option<Simulation> {
    if pairs.len() < 5 {
        return None;
    }
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_train = (pairs.len() as f64 * 0.8).round() as usize;
    let (train, test): (Vec<_>, Vec<_>) =
        (order[..n_train].iter().map(|&i| pairs[i]).collect(), order[n_train..].iter().map(|&i| pairs[i]).collect());
    if !train.iter().any(|p| p.1) || train.iter().all(|p| p.1) {
        return None;
    }
    let (intercept, coefficient) = fit_logistic(&train);
    let predict = |x: f64| 1.0 / (1.0 + (-(intercept + coefficient * x)).exp());
    let scored: Vec<(f64, bool)> = test.iter().map(|&(x, y)| (predict(x), y)).collect();
    let accuracy = scored.iter().filter(|(p, y)| (*p >= 0.5) == *y).count() as f64 / scored.len().max(1) as f64;
    Some(Simulation { accuracy, auc: auc(&scored), coefficient, intercept, train: train.len(), test: test.len() })
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

/// Probability that a random positive scores above a random negative (ties count half).
pub fn auc(scored: &[(f64, bool)]) -> f64 {
    let positives: Vec<f64> = scored.iter().filter(|s| s.1).map(|s| s.0).collect();
    let negatives: Vec<f64> = scored.iter().filter(|s| !s.1).map(|s| s.0).collect();
    if positives.is_empty() || negatives.is_empty() {
        return 0.5;
    }
    let wins: f64 = positives
        .iter()
        .flat_map(|p| {
            negatives.iter().map(move |n| {
                if p > n {
                    1.0
                } else if p == n {
                    0.5
                } else {
                    0.0
                }
            })
        })
        .sum();
    wins / (positives.len() * negatives.len()) as f64
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
    fn separable_toy_set_is_learned_with_positive_slope() {
        // Falls of uncertainty exactly when Δc > 0, with a margin of 10 around 0.
        let pairs: Vec<(f64, bool)> =
            (0..40).map(|i| if i < 20 { (-10.0 - i as f64, false) } else { (10.0 + i as f64, true) }).collect();
        let s = simulate(&pairs, 1).unwrap();
        assert_eq!((s.train, s.test), (32, 8));
        assert_eq!(s.accuracy, 1.0);
        assert_eq!(s.auc, 1.0);
        assert!(s.coefficient > 0.0);
        assert_eq!(simulate(&pairs, 1), Some(s), "seeded: the same split again");
    }

    #[test]
    fn pairs_come_from_consecutive_rounds_of_each_item() {
        let pairs = round_pairs(&[vec![0.0, 0.5, 0.4]], &[vec![1.0, 0.8, 0.9]]);
        assert_eq!(pairs, vec![(0.5, true), (-0.09999999999999998, false)]);
        assert_eq!(simulate(&pairs, 0), None);
    }
}
