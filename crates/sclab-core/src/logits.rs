//! Small numeric helpers over a logits row.

/// Index of the largest value; the first one on ties, so greedy decoding is deterministic.
pub fn argmax(xs: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// `log Σ exp(x)`, computed stably.
pub fn log_sum_exp(xs: &[f32]) -> f32 {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    let sum: f64 = xs.iter().map(|&x| ((x - max) as f64).exp()).sum();
    max + sum.ln() as f32
}

/// Log-probability of `token` under the softmax of `logits`.
pub fn log_prob(logits: &[f32], token: u32) -> f32 {
    logits[token as usize] - log_sum_exp(logits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_first_of_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, -1.0]), 1);
    }

    #[test]
    fn log_prob_of_uniform_is_minus_log_n() {
        let lp = log_prob(&[2.0; 4], 3);
        assert!((lp - (-(4f32).ln())).abs() < 1e-6);
    }

    #[test]
    fn log_prob_matches_hand_computed_softmax() {
        // softmax([0, ln 3]) = [1/4, 3/4]
        let logits = [0.0, 3f32.ln()];
        assert!((log_prob(&logits, 1) - 0.75f32.ln()).abs() < 1e-6);
        assert!((log_prob(&logits, 0) - 0.25f32.ln()).abs() < 1e-6);
    }
}
