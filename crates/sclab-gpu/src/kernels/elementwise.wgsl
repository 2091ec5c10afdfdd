// Element-wise steps of the block: SwiGLU (gate = silu(gate) · up) and the residual or bias
// add (acc += x, x repeating every `period` values), each over `n` values.

struct Params {
    n: u32,
    period: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> acc: array<f32>;
@group(0) @binding(1) var<storage, read> other: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn swiglu(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x + id.y * 65535u * 64u;
    if (i < p.n) {
        let g = acc[i];
        acc[i] = g / (1.0 + exp(-g)) * other[i];
    }
}

@compute @workgroup_size(64)
fn add(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x + id.y * 65535u * 64u;
    if (i < p.n) {
        acc[i] += other[i % p.period];
    }
}
