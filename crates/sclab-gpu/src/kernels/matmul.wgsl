// out (m × n) = x (m × k) · Wᵀ for a block-quantized W (n × k). A workgroup takes WEIGHT_ROWS
// weight rows, LANES threads each, and up to ROWS activation rows, so each weight block is
// dequantized once for all of them; a row's lanes stride over its blocks and their partial dots
// are summed by `sum_lanes`: through workgroup memory on any adapter, with subgroup shuffles where
// the adapter offers subgroups. W may be bound in parts of consecutive rows (an adapter's
// binding limit): this dispatch computes output columns first_row .. first_row + n. The input
// is taken as it is (matmul_input.wgsl) or RMS-normalised on the fly (matmul_input_normed.wgsl).

struct Params {
    m: u32,
    // Rows of the bound part of W.
    n: u32,
    k: u32,
    // Columns of out: the rows of the whole W.
    width: u32,
    first_row: u32,
    // 1: out += x · Wᵀ (the residual stream), 0: out = x · Wᵀ.
    accumulate: u32,
    // The RMSNorm's epsilon, when the input is normalised.
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// Threads per weight row (the subgroup butterfly sums eight).
const LANES: u32 = WORKGROUP / WEIGHT_ROWS;

@compute @workgroup_size(WORKGROUP)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let lane = t % LANES;
    let j = (wg.x + wg.y * groups.x) * WEIGHT_ROWS + t / LANES;
    let first = wg.z * ROWS;
    let rows = min(ROWS, p.m - first);
    let blocks = p.k / 32u;
    var acc: array<f32, ROWS>;
    // Per activation row, this lane's share of Σx² (for a normalised input).
    var squares: array<f32, ROWS>;
    if (j < p.n) {
        for (var b = lane; b < blocks; b += LANES) {
            let w = input_weights(j * blocks + b, b);
            for (var r = 0u; r < rows; r++) {
                let xs = ((first + r) * p.k + b * 32u) / 4u;
                var s = 0.0;
                var q = 0.0;
                for (var i = 0u; i < 8u; i++) {
                    let v = x[xs + i];
                    s += dot(w[i], v);
                    q += input_square(v);
                }
                acc[r] += s;
                squares[r] += q;
            }
        }
    }
    // Summed across the row's lanes (lane_sums.wgsl or lane_sums_subgroup.wgsl).
    let sums = sum_lanes(acc, t);
    let scales = input_scales(squares, t);
    if (j < p.n && lane == 0u) {
        for (var r = 0u; r < rows; r++) {
            let at = (first + r) * p.width + p.first_row + j;
            var sum = sums[r] * scales[r];
            if (p.accumulate == 1u) {
                sum += out[at];
            }
            out[at] = sum;
        }
    }
}
