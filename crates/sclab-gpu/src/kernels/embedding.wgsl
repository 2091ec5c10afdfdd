// Rows of a block-quantized matrix, gathered by token id: out (m × k) = W[ids[r]]. The bound
// weights are the part of W holding rows first_row .. first_row + rows; other ids are left to
// the dispatches of the other parts.

struct Params {
    m: u32,
    k: u32,
    first_row: u32,
    rows: u32,
}

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let blocks = p.k / 32u;
    let r = id.y;
    let b = id.x;
    if (r >= p.m || b >= blocks || ids[r] < p.first_row || ids[r] - p.first_row >= p.rows) {
        return;
    }
    let w = dequantize((ids[r] - p.first_row) * blocks + b);
    for (var i = 0u; i < 8u; i++) {
        let at = r * p.k + b * 32u + 4u * i;
        out[at] = w[i].x;
        out[at + 1u] = w[i].y;
        out[at + 2u] = w[i].z;
        out[at + 3u] = w[i].w;
    }
}
