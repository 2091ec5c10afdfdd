//! Row-wise f32 operations of the transformer block.

use sclab_model::rope::RopeLayout;

/// `out = x / rms(x) * weight`, row by row.
pub fn rms_norm(xs: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let d = weight.len();
    for (x, o) in xs.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let mean_sq = x.iter().map(|v| v * v).sum::<f32>() / d as f32;
        let scale = 1.0 / (mean_sq + eps).sqrt();
        for ((o, &x), &w) in o.iter_mut().zip(x).zip(weight) {
            *o = x * scale * w;
        }
    }
}

pub fn add_in_place(acc: &mut [f32], xs: &[f32]) {
    for (a, x) in acc.iter_mut().zip(xs) {
        *a += x;
    }
}

/// Add `bias` to every row of `xs`.
pub fn add_bias(xs: &mut [f32], bias: &[f32]) {
    for row in xs.chunks_exact_mut(bias.len()) {
        add_in_place(row, bias);
    }
}

/// `gate = silu(gate) * up`.
pub fn swiglu(gate: &mut [f32], up: &[f32]) {
    for (g, &u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + sclab_core::exp::exp(-*g)) * u;
    }
}

/// In-place softmax.
pub fn softmax(xs: &mut [f32]) {
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in xs.iter_mut() {
        *x = sclab_core::exp::exp(*x - max);
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in xs.iter_mut() {
        *x *= inv;
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent accumulators let the compiler vectorise the reduction.
    let mut acc = [0f32; 8];
    let (ac, ar) = a.split_at(a.len() / 8 * 8);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(8).zip(bc.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ar.iter().zip(br).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Rotary position embedding of the frequencies `base^(-2i/d)`.
pub struct Rope {
    inv_freq: Vec<f32>,
    layout: RopeLayout,
}

impl Rope {
    /// Rotation by `inv_freq` (the model's frequencies, `ModelConfig::rope_frequencies`).
    pub fn new(inv_freq: Vec<f32>, layout: RopeLayout) -> Self {
        Self { inv_freq, layout }
    }

    /// Rotate every head of one row (`n_heads × head_dim`) for position `pos`.
    pub fn apply(&self, row: &mut [f32], pos: usize) {
        let half = self.inv_freq.len();
        let head_dim = 2 * half;
        for head in row.chunks_exact_mut(head_dim) {
            for (i, &f) in self.inv_freq.iter().enumerate() {
                let (sin, cos) = (pos as f32 * f).sin_cos();
                let (a, b) = match self.layout {
                    RopeLayout::Interleaved => (2 * i, 2 * i + 1),
                    RopeLayout::Halves => (i, i + half),
                };
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0 * cos - x1 * sin;
                head[b] = x0 * sin + x1 * cos;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sclab_model::rope::{inverse_frequencies, RopeScaling};

    use super::*;

    #[test]
    fn rms_norm_of_constant_row_is_the_weight() {
        let mut out = [0.0; 3];
        rms_norm(&[2.0, -2.0, 2.0], &[1.0, 2.0, 3.0], 0.0, &mut out);
        assert_eq!(out, [1.0, -2.0, 3.0]);
    }

    #[test]
    fn rope_at_position_zero_is_identity_and_preserves_norm() {
        let rope = Rope::new(inverse_frequencies(4, 10_000.0, &RopeScaling::None), RopeLayout::Interleaved);
        let mut row = [1.0, 2.0, 3.0, 4.0];
        rope.apply(&mut row, 0);
        assert_eq!(row, [1.0, 2.0, 3.0, 4.0]);
        rope.apply(&mut row, 17);
        let norm: f32 = row.iter().map(|x| x * x).sum();
        assert!((norm - 30.0).abs() < 1e-4);
    }

    #[test]
    fn rope_rotates_first_pair_by_position() {
        // The first frequency is 1: position 1 rotates (1, 0) by one radian.
        for layout in [RopeLayout::Interleaved, RopeLayout::Halves] {
            let rope = Rope::new(inverse_frequencies(2, 10_000.0, &RopeScaling::None), layout);
            let mut row = [1.0, 0.0];
            rope.apply(&mut row, 1);
            assert!((row[0] - 1f32.cos()).abs() < 1e-6 && (row[1] - 1f32.sin()).abs() < 1e-6);
        }
    }

    #[test]
    fn softmax_and_dot_hand_values() {
        let mut xs = [0.0, 3f32.ln()];
        softmax(&mut xs);
        assert!((xs[0] - 0.25).abs() < 1e-6 && (xs[1] - 0.75).abs() < 1e-6);
        let a: Vec<f32> = (1..=11).map(|x| x as f32).collect();
        assert_eq!(dot(&a, &a), 506.0);
    }
}
