// Softmax of each row, in place, one workgroup per row: max, then sum of exponentials.

struct Params {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let base = wg.x * p.cols;
    var m = -3.4e38;
    for (var i = t; i < p.cols; i += WG) {
        m = max(m, data[base + i]);
    }
    partial[t] = m;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (t < stride) {
            partial[t] = max(partial[t], partial[t + stride]);
        }
        workgroupBarrier();
    }
    let row_max = partial[0];
    workgroupBarrier();
    var s = 0.0;
    for (var i = t; i < p.cols; i += WG) {
        let e = exp(data[base + i] - row_max);
        data[base + i] = e;
        s += e;
    }
    partial[t] = s;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (t < stride) {
            partial[t] += partial[t + stride];
        }
        workgroupBarrier();
    }
    let inv = 1.0 / partial[0];
    for (var i = t; i < p.cols; i += WG) {
        data[base + i] *= inv;
    }
}
