//! Rotary position embeddings: the frequencies both engines rotate by.

/// How RoPE pairs up the dimensions of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeLayout {
    /// Adjacent pairs `(2i, 2i+1)`: llama.cpp's converter permutes Llama's q/k weights for this.
    Interleaved,
    /// Halves `(i, i + d/2)`: Qwen2 ("NeoX" style).
    Halves,
}

/// How a file stretches RoPE beyond the context its model was trained on.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    None,
    /// `rope.scaling.type = linear`: every frequency divided by the factor.
    Linear(f32),
    /// `rope_freqs.weight`: a divisor per frequency, as llama.cpp's converter stores Llama 3.x's
    /// scaling (and as llama.cpp applies it).
    PerFrequency(Vec<f32>),
}

/// The angle per position of each of a head's `head_dim / 2` pairs: `base^(−2i / head_dim)`,
/// divided as `scaling` says.
pub fn inverse_frequencies(head_dim: usize, base: f32, scaling: &RopeScaling) -> Vec<f32> {
    (0..head_dim / 2)
        .map(|i| {
            let frequency = 1.0 / base.powf(2.0 * i as f32 / head_dim as f32);
            match scaling {
                RopeScaling::None => frequency,
                RopeScaling::Linear(factor) => frequency / factor,
                RopeScaling::PerFrequency(divisors) => frequency / divisors[i],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_fall_from_one_by_the_base() {
        let f = inverse_frequencies(4, 10_000.0, &RopeScaling::None);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0], 1.0);
        assert!((f[1] - 0.01).abs() < 1e-7, "{}", f[1]);
        assert_eq!(inverse_frequencies(4, 10_000.0, &RopeScaling::Linear(4.0))[0], 0.25);
        let divided = inverse_frequencies(4, 10_000.0, &RopeScaling::PerFrequency(vec![1.0, 8.0]));
        assert!((divided[1] - 0.00125).abs() < 1e-9 && divided[0] == 1.0, "{divided:?}");
    }
}
