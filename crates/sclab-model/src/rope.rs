//! Rotary position embeddings: the frequencies both engines rotate by.

/// How RoPE pairs up the dimensions of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeLayout {
    /// Adjacent pairs `(2i, 2i+1)`: llama.cpp's converter permutes Llama's q/k weights for this.
    Interleaved,
    /// Halves `(i, i + d/2)`: Qwen2 ("NeoX" style).
    Halves,
}

/// The angle per position of each of a head's `head_dim / 2` pairs: `base^(−2i / head_dim)`.
pub fn inverse_frequencies(head_dim: usize, base: f32) -> Vec<f32> {
    (0..head_dim / 2).map(|i| 1.0 / base.powf(2.0 * i as f32 / head_dim as f32)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_fall_from_one_by_the_base() {
        let f = inverse_frequencies(4, 10_000.0);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0], 1.0);
        assert!((f[1] - 0.01).abs() < 1e-7, "{}", f[1]);
    }
}
