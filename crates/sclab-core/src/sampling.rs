//! Choosing the next token: greedy, temperature, top-k, top-p.
//!
//! Every random draw comes from a ChaCha stream keyed by `(seed, stream)`, so the same seed
//! gives the same text, and K parallel samples (streams 0..K) are reproducible one by one.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::logits::{argmax, log_prob};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    /// 0 means greedy.
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens; 0 keeps all.
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches `top_p`; 1 keeps all.
    pub top_p: f32,
}

impl SamplingParams {
    pub const GREEDY: Self = Self { temperature: 0.0, top_k: 0, top_p: 1.0 };

    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0 || self.top_k == 1
    }
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self::GREEDY
    }
}

/// The one way the lab seeds randomness: a ChaCha stream keyed by the run's seed and a
/// stream number that names the purpose (a sample, an item order, a train/test split).
pub fn seeded_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The seed of one item of a run: the run's seed mixed with the item's id, so that items draw
/// independent samples (with one seed for all, the same uniform draws would steer every item's
/// samples alike) and an item's draws do not depend on which other items run.
pub fn item_seed(seed: u64, id: &str) -> u64 {
    // FNV-1a over the id, then SplitMix64's finaliser over it and the run's seed.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in id.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = h ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub struct Sampler {
    params: SamplingParams,
    rng: ChaCha8Rng,
}

impl Sampler {
    pub fn new(params: SamplingParams, seed: u64, stream: u64) -> Self {
        Self { params, rng: seeded_rng(seed, stream) }
    }

    /// The chosen token and its log-probability under the model's own (temperature 1) distribution.
    pub fn sample(&mut self, logits: &[f32]) -> (u32, f32) {
        let token = if self.params.is_greedy() { argmax(logits) as u32 } else { self.draw(logits) };
        (token, log_prob(logits, token))
    }

    fn draw(&mut self, logits: &[f32]) -> u32 {
        let inv_t = 1.0 / self.params.temperature;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut candidates: Vec<(u32, f32)> =
            logits.iter().enumerate().map(|(i, &l)| (i as u32, (((l - max) * inv_t) as f64).exp() as f32)).collect();
        let truncates = self.params.top_k > 0 || self.params.top_p < 1.0;
        if truncates {
            candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            if self.params.top_k > 0 {
                candidates.truncate(self.params.top_k);
            }
            if self.params.top_p < 1.0 {
                let total: f32 = candidates.iter().map(|c| c.1).sum();
                let mut acc = 0.0;
                let keep = candidates
                    .iter()
                    .position(|c| {
                        acc += c.1 / total;
                        acc >= self.params.top_p
                    })
                    .map_or(candidates.len(), |i| i + 1);
                candidates.truncate(keep);
            }
        }
        let total: f64 = candidates.iter().map(|c| c.1 as f64).sum();
        let mut target = self.rng.random::<f64>() * total;
        for &(token, weight) in &candidates {
            target -= weight as f64;
            if target < 0.0 {
                return token;
            }
        }
        candidates.last().map(|c| c.0).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn items_get_their_own_seed() {
        assert_eq!(item_seed(1, "rtp-0"), item_seed(1, "rtp-0"));
        assert_ne!(item_seed(1, "rtp-0"), item_seed(1, "rtp-1"));
        assert_ne!(item_seed(1, "rtp-0"), item_seed(2, "rtp-0"));
    }

    use super::*;

    fn sampled_counts(params: SamplingParams, logits: &[f32], draws: usize) -> Vec<usize> {
        let mut sampler = Sampler::new(params, 7, 0);
        let mut counts = vec![0; logits.len()];
        for _ in 0..draws {
            counts[sampler.sample(logits).0 as usize] += 1;
        }
        counts
    }

    #[test]
    fn temperature_zero_is_argmax() {
        let counts = sampled_counts(SamplingParams::GREEDY, &[0.1, 2.0, 1.9], 50);
        assert_eq!(counts, vec![0, 50, 0]);
    }

    #[test]
    fn frequencies_follow_softmax() {
        // softmax([0, ln 3]) = [0.25, 0.75]
        let params = SamplingParams { temperature: 1.0, top_k: 0, top_p: 1.0 };
        let counts = sampled_counts(params, &[0.0, 3f32.ln()], 20_000);
        let share = counts[1] as f64 / 20_000.0;
        assert!((share - 0.75).abs() < 0.015, "share {share}");
    }

    #[test]
    fn top_k_and_top_p_exclude_the_tail() {
        let logits = [3.0, 2.0, 1.0, 0.0];
        let top_k = SamplingParams { temperature: 1.0, top_k: 2, top_p: 1.0 };
        let counts = sampled_counts(top_k, &logits, 2000);
        assert!(counts[0] > 0 && counts[1] > 0 && counts[2] == 0 && counts[3] == 0, "{counts:?}");
        // p = [0.644, 0.237, 0.087, 0.032]: top-p 0.5 keeps only the first.
        let top_p = SamplingParams { temperature: 1.0, top_k: 0, top_p: 0.5 };
        assert_eq!(sampled_counts(top_p, &logits, 500), vec![500, 0, 0, 0]);
    }

    #[test]
    fn same_seed_and_stream_repeat_and_streams_differ() {
        let params = SamplingParams { temperature: 1.0, top_k: 0, top_p: 1.0 };
        let logits = vec![0.0f32; 1000];
        let run = |stream| {
            let mut s = Sampler::new(params, 42, stream);
            (0..20).map(|_| s.sample(&logits).0).collect::<Vec<_>>()
        };
        assert_eq!(run(0), run(0));
        assert_ne!(run(0), run(1));
    }

    #[test]
    fn reported_log_prob_is_the_models_not_the_tempered_one() {
        let params = SamplingParams { temperature: 0.5, top_k: 0, top_p: 1.0 };
        let mut s = Sampler::new(params, 1, 0);
        let (token, lp) = s.sample(&[0.0, 0.0]);
        assert!(token < 2);
        assert!((lp - 0.5f32.ln()).abs() < 1e-6);
    }
}
