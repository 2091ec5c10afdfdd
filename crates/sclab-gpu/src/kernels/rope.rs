//! `rope.wgsl`: rotary position embeddings from a table computed as the CPU engine computes it.

use bytemuck::{Pod, Zeroable};

use super::{uniform, Kernels, WORKGROUP};

/// rope.wgsl's `Params`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RopeParams {
    rows: u32,
    heads: u32,
    head_dim: u32,
    /// 0: adjacent pairs (2i, 2i+1), Llama as llama.cpp converts it; 1: halves (i, i + d/2).
    halves: u32,
    stride: u32,
    _pad: [u32; 3],
}
uniform!(RopeParams);

impl Kernels {
    /// Rotate the first `heads × head_dim` values of each of `rows` rows of `stride` values in
    /// place (the q and k heads at the start of a q | k | v row); `positions` holds one `u32`
    /// per row, `table` the cos/sin of every position and frequency (see [`rope_table`]).
    #[allow(clippy::too_many_arguments)]
    pub fn rope(
        &self,
        pass: &mut wgpu::ComputePass,
        data: &wgpu::Buffer,
        positions: &wgpu::Buffer,
        table: &wgpu::Buffer,
        rows: u32,
        heads: u32,
        head_dim: u32,
        stride: u32,
        halves: bool,
    ) {
        let threads = rows * heads * head_dim / 2;
        let params = RopeParams { rows, heads, head_dim, halves: u32::from(halves), stride, _pad: [0; 3] };
        self.dispatch(pass, &self.rope, &[data, positions, table], &params, [threads.div_ceil(WORKGROUP), 1, 1]);
    }
}

/// The cos/sin table of the rotary embedding for positions `0..positions` and the model's
/// frequencies `inv_freq` (`ModelConfig::rope_frequencies`), computed as the CPU engine computes
/// it: angles `pos · f` in f32.
pub fn rope_table(inv_freq: &[f32], positions: usize) -> Vec<f32> {
    (0..positions)
        .flat_map(|pos| {
            inv_freq.iter().flat_map(move |&f| {
                let (sin, cos) = (pos as f32 * f).sin_cos();
                [cos, sin]
            })
        })
        .collect()
}
