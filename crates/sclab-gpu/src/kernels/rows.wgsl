// Chosen rows of the residual stream copied out inside the forward pass's one compute pass
// (a buffer copy would end the pass): the rows whose hidden states were asked for, after each
// layer, and the rows whose logits were, before the output head.

struct Params {
    rows: u32,
    width: u32,
    // Where the first copied row goes in `out`, in values.
    out_offset: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> chosen: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    let r = id.y;
    if (r >= p.rows || i >= p.width) {
        return;
    }
    out[p.out_offset + r * p.width + i] = src[chosen[r] * p.width + i];
}
