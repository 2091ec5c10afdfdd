//! `e^x` where the engine takes it for every entry of a row (the attention's softmax, the
//! SiLU). wasm has no exponential instruction: its `exp` is a
//! software routine called per element, which kept those loops from vectorising and was a
//! large part of the browser's time (docs/BENCHMARKS.md). There a branch-free polynomial that
//! vectorises takes its place. Native builds keep the C library's, so their results (and the
//! committed runs) stay bit for bit as they were.

/// `e^x` in f32: the polynomial on wasm, `f32::exp` natively.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    #[cfg(target_arch = "wasm32")]
    {
        exp_polynomial(x)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        x.exp()
    }
}

/// `e^x` within 2 × 10⁻⁷ relative (Cephes' `expf`: `x = n ln 2 + r` with `|r| ≤ ln 2 / 2`, a
/// degree-6 polynomial for `e^r`, and `2^n` written into the exponent bits), without branches.
/// Below −87 it gives e^−87 (≈ 1.6 × 10⁻³⁸, the smallest normal float is e^−87.3), above 88 e^88.
#[inline(always)]
pub fn exp_polynomial(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    e_r * f32::from_bits(((n as i32 + 127) << 23) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_polynomial_exponential_is_within_two_ten_millionths() {
        let mut worst = 0f64;
        for i in -87_000..88_000 {
            let x = i as f32 / 1000.0 + 0.000_37;
            let want = (x as f64).exp();
            worst = worst.max(((exp_polynomial(x) as f64 - want) / want).abs());
        }
        assert!(worst < 2e-7, "worst relative error {worst:e}");
        assert_eq!((exp_polynomial(0.0), exp_polynomial(-1e4)), (1.0, (-87f64).exp() as f32));
        assert!(exp_polynomial(1e4).is_finite());
    }
}
