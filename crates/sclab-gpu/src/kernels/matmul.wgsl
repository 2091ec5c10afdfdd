// out (m × n) = x (m × k) · Wᵀ for a block-quantized W (n × k): one workgroup per weight row
// and per ROWS activation rows, so each weight block is dequantized once for all of them.
// Threads stride over the row's blocks; a tree in workgroup memory sums their partial dots.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const WG: u32 = 64u;
const ROWS: u32 = 8u;
var<workgroup> partial: array<f32, 512>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let j = wg.x + wg.y * groups.x;
    let first = wg.z * ROWS;
    let rows = min(ROWS, p.m - first);
    let blocks = p.k / 32u;
    var acc: array<f32, 8>;
    if (j < p.n) {
        for (var b = t; b < blocks; b += WG) {
            let w = dequantize(j * blocks + b);
            for (var r = 0u; r < rows; r++) {
                let xs = (first + r) * p.k + b * 32u;
                var s = 0.0;
                for (var i = 0u; i < 32u; i++) {
                    s += w[i] * x[xs + i];
                }
                acc[r] += s;
            }
        }
    }
    for (var r = 0u; r < ROWS; r++) {
        partial[r * WG + t] = acc[r];
    }
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (t < stride) {
            for (var r = 0u; r < ROWS; r++) {
                partial[r * WG + t] += partial[r * WG + t + stride];
            }
        }
        workgroupBarrier();
    }
    if (j < p.n && t < rows) {
        out[(first + t) * p.n + j] = partial[t * WG];
    }
}
