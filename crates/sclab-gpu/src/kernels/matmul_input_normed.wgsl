// The matrix product's input RMS-normalised on the fly: the RMSNorm before a projection fused
// into it. The norm's weights are folded into each block of W as it is dequantized, and each
// activation row's Σx² is gathered from the very loads of the product, so the normalised rows
// are never written out: x / rms · g · Wᵀ = (x · (g ⊙ W)ᵀ) / rms.

@group(0) @binding(5) var<storage, read> norm_weight: array<vec4<f32>>;

fn input_weights(block: u32, b: u32) -> array<vec4<f32>, 8> {
    var w = dequantize(block);
    for (var i = 0u; i < 8u; i++) {
        w[i] *= norm_weight[b * 8u + i];
    }
    return w;
}

fn input_square(v: vec4<f32>) -> f32 {
    return dot(v, v);
}

// 1 / rms of each activation row, valid where the sums are (lane 0 of each weight row).
fn input_scales(squares: array<f32, ROWS>, t: u32) -> array<f32, ROWS> {
    let totals = sum_lanes(squares, t);
    var scales: array<f32, ROWS>;
    for (var r = 0u; r < ROWS; r++) {
        scales[r] = 1.0 / sqrt(totals[r] / f32(p.k) + p.eps);
    }
    return scales;
}
