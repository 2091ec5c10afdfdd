//! Concept directions in the residual stream and the projection of a hidden state on them.
//!
//! For a concept with negative texts N (toxic, harmful, stereotyped) and positive texts P, the
//! direction of layer l is `mean(h_l | N) − mean(h_l | P)`; a round's activation of the concept
//! is the cosine of its hidden state with that direction.

use serde::{Deserialize, Serialize};

/// One direction per layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConceptDirections {
    pub layers: Vec<Vec<f32>>,
}

impl ConceptDirections {
    /// From per-text hidden states (`[text][layer][dim]`) of the negative and positive sets.
    pub fn difference_of_means(negative: &[Vec<Vec<f32>>], positive: &[Vec<Vec<f32>>]) -> Self {
        let (mn, mp) = (layer_means(negative), layer_means(positive));
        let layers = mn.iter().zip(&mp).map(|(n, p)| n.iter().zip(p).map(|(a, b)| a - b).collect()).collect();
        Self { layers }
    }

    /// Cosine of `hidden` (`[layer][dim]`) with the direction of every layer.
    pub fn scores(&self, hidden: &[Vec<f32>]) -> Vec<f64> {
        self.layers.iter().zip(hidden).map(|(d, h)| cosine(h, d)).collect()
    }
}

fn layer_means(states: &[Vec<Vec<f32>>]) -> Vec<Vec<f32>> {
    let Some(first) = states.first() else { return Vec::new() };
    let mut sums: Vec<Vec<f64>> = first.iter().map(|l| vec![0.0; l.len()]).collect();
    for text in states {
        for (sum, layer) in sums.iter_mut().zip(text) {
            for (s, &x) in sum.iter_mut().zip(layer) {
                *s += x as f64;
            }
        }
    }
    let n = states.len() as f64;
    sums.into_iter().map(|l| l.into_iter().map(|s| (s / n) as f32).collect()).collect()
}

/// Cosine similarity; 0 when either vector is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        dot += x as f64 * y as f64;
        na += x as f64 * x as f64;
        nb += y as f64 * y as f64;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_points_from_positive_to_negative_mean() {
        // One layer, 2-D: negatives around (2, 1), positives around (0, 1) → direction (2, 0).
        let negative = vec![vec![vec![1.0, 1.0]], vec![vec![3.0, 1.0]]];
        let positive = vec![vec![vec![0.0, 0.0]], vec![vec![0.0, 2.0]]];
        let d = ConceptDirections::difference_of_means(&negative, &positive);
        assert_eq!(d.layers, vec![vec![2.0, 0.0]]);
        // A state along the direction scores 1, against it −1, across it 0, at 45° 1/√2.
        assert!((d.scores(&[vec![5.0, 0.0]])[0] - 1.0).abs() < 1e-12);
        assert!((d.scores(&[vec![-1.0, 0.0]])[0] + 1.0).abs() < 1e-12);
        assert_eq!(d.scores(&[vec![0.0, 3.0]])[0], 0.0);
        assert!((d.scores(&[vec![1.0, 1.0]])[0] - 0.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn zero_vectors_score_zero() {
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
    }
}
