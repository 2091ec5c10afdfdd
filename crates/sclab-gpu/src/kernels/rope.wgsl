// Rotary position embedding, in place, on the first `heads × head_dim` values of rows of
// `stride` values (a q | k | v row: the q and k heads together). The cos/sin of
// every (position, frequency) come from a table computed on the CPU in f32, exactly as the CPU
// engine computes them: a GPU's sin() of large angles is not accurate enough.

struct Params {
    rows: u32,
    heads: u32,
    head_dim: u32,
    // 0: adjacent pairs (2i, 2i+1), Llama as llama.cpp converts it; 1: halves (i, i + d/2).
    halves: u32,
    stride: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@group(0) @binding(1) var<storage, read> positions: array<u32>;
// Per position and frequency i: cos, sin.
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let half = p.head_dim / 2u;
    let i = id.x % half;
    let head = (id.x / half) % p.heads;
    let row = id.x / (half * p.heads);
    if (row >= p.rows) {
        return;
    }
    let at = (positions[row] * half + i) * 2u;
    let c = table[at];
    let s = table[at + 1u];
    let base = row * p.stride + head * p.head_dim;
    var a = base + 2u * i;
    var b = a + 1u;
    if (p.halves == 1u) {
        a = base + i;
        b = base + i + half;
    }
    let x0 = data[a];
    let x1 = data[b];
    data[a] = x0 * c - x1 * s;
    data[b] = x0 * s + x1 * c;
}
