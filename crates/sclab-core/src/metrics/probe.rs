//! A linear probe: L2-regularised logistic regression on standardised features, trained by
//! full-batch gradient descent and tested on a seeded 20 % hold-out.

use serde::{Deserialize, Serialize};

use crate::sampling::seeded_rng;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
    pub weights: Vec<f32>,
    pub bias: f32,
    /// Accuracy on the held-out fifth.
    pub test_accuracy: f64,
}

const STEPS: usize = 300;
const LEARNING_RATE: f64 = 0.5;
const L2: f64 = 1e-2;

impl Probe {
    /// Train on `(features, label)`; at least two examples of each label are needed. Examples
    /// of one `group` (the two sides of a contrast pair) are held out together, so that the
    /// test accuracy measures generalisation to unseen pairs, not recall of a pair's context.
    pub fn train(examples: &[(&[f32], bool)], groups: &[usize], seed: u64) -> Option<Probe> {
        let positives = examples.iter().filter(|e| e.1).count();
        if positives < 2 || examples.len() - positives < 2 || groups.len() != examples.len() {
            return None;
        }
        let dim = examples[0].0.len();
        let mut ids: Vec<usize> = groups.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut rng = seeded_rng(seed, 0x9e0b);
        for i in (1..ids.len()).rev() {
            use rand::Rng;
            ids.swap(i, rng.random_range(0..=i));
        }
        let held_out = &ids[..(ids.len() / 5).max(1)];
        let (test, train): (Vec<usize>, Vec<usize>) = (0..examples.len()).partition(|&i| held_out.contains(&groups[i]));
        if train.is_empty() {
            return None;
        }
        let (test, train) = (&test[..], &train[..]);

        let mut mean = vec![0f64; dim];
        let mut var = vec![0f64; dim];
        for &i in train {
            for (m, &x) in mean.iter_mut().zip(examples[i].0) {
                *m += x as f64 / train.len() as f64;
            }
        }
        for &i in train {
            for ((v, m), &x) in var.iter_mut().zip(&mean).zip(examples[i].0) {
                *v += (x as f64 - m).powi(2) / train.len() as f64;
            }
        }
        let scale: Vec<f64> = var.iter().map(|v| if *v > 1e-12 { 1.0 / v.sqrt() } else { 0.0 }).collect();
        let standard: Vec<Vec<f64>> = (0..examples.len())
            .map(|i| examples[i].0.iter().zip(&mean).zip(&scale).map(|((&x, m), s)| (x as f64 - m) * s).collect())
            .collect();

        let (mut w, mut b) = (vec![0f64; dim], 0f64);
        let n = train.len() as f64;
        for _ in 0..STEPS {
            let mut grad_w: Vec<f64> = w.iter().map(|wi| L2 * wi).collect();
            let mut grad_b = 0.0;
            for &i in train {
                let err = sigmoid(dot(&w, &standard[i]) + b) - if examples[i].1 { 1.0 } else { 0.0 };
                for (g, x) in grad_w.iter_mut().zip(&standard[i]) {
                    *g += err * x / n;
                }
                grad_b += err / n;
            }
            for (wi, g) in w.iter_mut().zip(&grad_w) {
                *wi -= LEARNING_RATE * g;
            }
            b -= LEARNING_RATE * grad_b;
        }
        let right = test.iter().filter(|&&i| (dot(&w, &standard[i]) + b > 0.0) == examples[i].1).count();
        Some(Probe {
            mean: mean.iter().map(|&m| m as f32).collect(),
            scale: scale.iter().map(|&s| s as f32).collect(),
            weights: w.iter().map(|&x| x as f32).collect(),
            bias: b as f32,
            test_accuracy: right as f64 / test.len() as f64,
        })
    }

    /// P(label) for one feature vector.
    pub fn probability(&self, features: &[f32]) -> f64 {
        let z: f64 = features
            .iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .zip(&self.weights)
            .map(|(((&x, &m), &s), &w)| ((x - m) * s * w) as f64)
            .sum();
        sigmoid(z + self.bias as f64)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_a_separable_set_and_generalises() {
        // Label = first coordinate > 0; the second coordinate is noise of a larger scale.
        let points: Vec<[f32; 2]> = (0..40).map(|i| [(i as f32 - 19.5) / 10.0, ((i * 7) % 11) as f32 * 3.0]).collect();
        let examples: Vec<(&[f32], bool)> = points.iter().map(|p| (&p[..], p[0] > 0.0)).collect();
        let groups: Vec<usize> = (0..40).collect();
        let probe = Probe::train(&examples, &groups, 3).unwrap();
        assert_eq!(probe.test_accuracy, 1.0);
        assert!(probe.probability(&[2.0, 0.0]) > 0.9 && probe.probability(&[-2.0, 30.0]) < 0.1);
        assert!(probe.weights[0] > 0.0 && probe.weights[0].abs() > 5.0 * probe.weights[1].abs());
    }

    #[test]
    fn needs_both_labels() {
        let x = [1.0f32];
        assert!(Probe::train(&[(&x, true), (&x, true), (&x, false)], &[0, 1, 2], 1).is_none());
    }

    #[test]
    fn pairs_are_held_out_together() {
        // Each pair shares a context coordinate (x[1]) and differs in the label's coordinate (x[0]).
        let points: Vec<[f32; 2]> = (0..20).flat_map(|g| [[1.0, g as f32], [-1.0, g as f32]]).collect();
        let examples: Vec<(&[f32], bool)> = points.iter().map(|p| (&p[..], p[0] > 0.0)).collect();
        let groups: Vec<usize> = (0..40).map(|i| i / 2).collect();
        let probe = Probe::train(&examples, &groups, 5).unwrap();
        // Four whole pairs held out (eight texts), all classified by the label's coordinate.
        assert_eq!(probe.test_accuracy, 1.0);
        assert!(probe.weights[0] > 0.0);
    }
}
