//! Concept directions in the residual stream and the projection of a hidden state on them.
//!
//! For a concept with negative texts N (toxic, harmful, stereotyped) and positive texts P, the
//! direction of layer l is `mean(h_l | N) − mean(h_l | P)`; a round's activation of the concept
//! is the cosine of its hidden state with that direction. Residual streams share a large common
//! component, so the cosine mostly tracks that; the centred projection `(h − c)·d/|d|`, with `c`
//! the midpoint of the two means, says on which side of the boundary between the sets a state
//! lies, in the stream's own units.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// One direction per layer, and the midpoint of the two sets' means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConceptDirections {
    pub layers: Vec<Vec<f32>>,
    pub centres: Vec<Vec<f32>>,
}

impl ConceptDirections {
    /// From per-text hidden states (`[text][layer][dim]`) of the negative and positive sets.
    pub fn difference_of_means(negative: &[Vec<Vec<f32>>], positive: &[Vec<Vec<f32>>]) -> Self {
        let (mn, mp) = (layer_means(negative), layer_means(positive));
        let layers = mn.iter().zip(&mp).map(|(n, p)| n.iter().zip(p).map(|(a, b)| a - b).collect()).collect();
        let centres = mn.iter().zip(&mp).map(|(n, p)| n.iter().zip(p).map(|(a, b)| (a + b) / 2.0).collect()).collect();
        Self { layers, centres }
    }

    /// The control for a direction's meaning: the same difference of means after the texts'
    /// side labels are shuffled (seeded), so the two "sides" differ by chance alone.
    pub fn shuffled_labels(negative: &[Vec<Vec<f32>>], positive: &[Vec<Vec<f32>>], seed: u64) -> Self {
        let mut all: Vec<&Vec<Vec<f32>>> = negative.iter().chain(positive).collect();
        let mut rng = crate::sampling::seeded_rng(seed, 0x5_4ff1e);
        for i in (1..all.len()).rev() {
            all.swap(i, rng.random_range(0..=i));
        }
        let (a, b) = all.split_at(negative.len());
        let owned = |s: &[&Vec<Vec<f32>>]| s.iter().map(|&h| h.clone()).collect::<Vec<_>>();
        Self::difference_of_means(&owned(a), &owned(b))
    }

    /// The control for the geometry: one isotropic Gaussian direction per layer (seeded), of the
    /// real directions' widths, centred where the real ones are.
    pub fn random_like(real: &ConceptDirections, seed: u64) -> Self {
        let mut rng = crate::sampling::seeded_rng(seed, 0x7a9d0);
        let mut gaussian = move || {
            // Box–Muller: the crate's RNG gives uniforms; one normal from each pair is enough.
            let (u, v): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        };
        let layers = real.layers.iter().map(|d| d.iter().map(|_| gaussian()).collect()).collect();
        Self { layers, centres: real.centres.clone() }
    }

    /// Cosine of `hidden` (`[layer][dim]`) with the direction of every layer.
    pub fn scores(&self, hidden: &[Vec<f32>]) -> Vec<f64> {
        self.layers.iter().zip(hidden).map(|(d, h)| cosine(h, d)).collect()
    }

    /// `(h − c)·d/|d|` at every layer: positive on the negative set's side of the midpoint.
    pub fn centred_projections(&self, hidden: &[Vec<f32>]) -> Vec<f64> {
        self.layers
            .iter()
            .zip(&self.centres)
            .zip(hidden)
            .map(|((d, c), h)| {
                let norm = d.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
                let dot: f64 = h.iter().zip(c).zip(d).map(|((&h, &c), &d)| (h - c) as f64 * d as f64).sum();
                if norm == 0.0 {
                    0.0
                } else {
                    dot / norm
                }
            })
            .collect()
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
        // Midpoint (1, 1): (3, 5) lies 2 along the unit direction (1, 0) from it; (1, 9) on it.
        assert_eq!(d.centres, vec![vec![1.0, 1.0]]);
        assert_eq!(d.centred_projections(&[vec![3.0, 5.0]]), vec![2.0]);
        assert_eq!(d.centred_projections(&[vec![1.0, 9.0]]), vec![0.0]);
        assert_eq!(d.centred_projections(&[vec![-1.0, 0.0]]), vec![-2.0]);
    }

    #[test]
    fn controls_are_seeded_and_carry_no_signal_by_construction() {
        // Two clearly separated sets of 20 states each, in 2-D.
        let side = |x: f32| (0..20).map(|i| vec![vec![x, i as f32 * 0.1]]).collect::<Vec<_>>();
        let (negative, positive) = (side(10.0), side(-10.0));
        let real = ConceptDirections::difference_of_means(&negative, &positive);
        assert_eq!(real.layers, vec![vec![20.0, 0.0]]);
        let shuffled = ConceptDirections::shuffled_labels(&negative, &positive, 3);
        assert_eq!(shuffled, ConceptDirections::shuffled_labels(&negative, &positive, 3));
        // Shuffled sides each hold some of both sets, so their means differ far less.
        assert!(shuffled.layers[0][0].abs() < 20.0, "{:?}", shuffled.layers);
        let random = ConceptDirections::random_like(&real, 3);
        assert_eq!(random, ConceptDirections::random_like(&real, 3));
        assert_ne!(random.layers, ConceptDirections::random_like(&real, 4).layers);
        assert_eq!((random.layers[0].len(), &random.centres), (2, &real.centres));
    }

    #[test]
    fn zero_vectors_score_zero() {
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
    }
}
