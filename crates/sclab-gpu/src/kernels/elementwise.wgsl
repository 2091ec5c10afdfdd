// Element-wise steps of the block, each over `n` values: SwiGLU (acc = silu(gate) · up, from
// rows of gate | up of twice `period` values) and the bias add (acc += x, x repeating every
// `period` values).

struct Params {
    n: u32,
    period: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> acc: array<f32>;
@group(0) @binding(1) var<storage, read> other: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WORKGROUP)
fn swiglu(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x + id.y * MAX_GROUPS * WORKGROUP;
    if (i < p.n) {
        let at = (i / p.period) * 2u * p.period + i % p.period;
        let g = other[at];
        acc[i] = g / (1.0 + exp(-g)) * other[at + p.period];
    }
}

@compute @workgroup_size(WORKGROUP)
fn add(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x + id.y * MAX_GROUPS * WORKGROUP;
    if (i < p.n) {
        acc[i] += other[i % p.period];
    }
}
