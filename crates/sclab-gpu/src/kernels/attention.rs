//! `attention.wgsl`: causal attention of query rows over the paged KV cache.

use bytemuck::{Pod, Zeroable};

use super::{spread, uniform, Kernels};

#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    pub rows: u32,
    pub heads: u32,
    pub kv_heads: u32,
    pub head_dim: u32,
    /// Cached positions per (row, head) in `scores`: the longest sequence of the batch.
    pub span: u32,
    /// Values per row of `q` (q | k | v rows hold more than the query).
    pub q_stride: u32,
}

/// attention.wgsl's `Params`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AttentionParams {
    rows: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    span: u32,
    scale: f32,
    q_stride: u32,
    _pad: u32,
}
uniform!(AttentionParams);

impl Kernels {
    /// Causal attention of `shape.rows` query rows over the paged cache: `out` (rows × heads ×
    /// head_dim). `scores` needs rows × heads × `shape.span` values.
    #[allow(clippy::too_many_arguments)]
    pub fn attention(
        &self,
        pass: &mut wgpu::ComputePass,
        q: &wgpu::Buffer,
        keys: &wgpu::Buffer,
        values: &wgpu::Buffer,
        row_info: &wgpu::Buffer,
        page_table: &wgpu::Buffer,
        scores: &wgpu::Buffer,
        out: &wgpu::Buffer,
        shape: AttentionShape,
    ) {
        let AttentionShape { rows, heads, kv_heads, head_dim, span, q_stride } = shape;
        let scale = 1.0 / (head_dim as f32).sqrt();
        let params = AttentionParams { rows, heads, kv_heads, head_dim, span, scale, q_stride, _pad: 0 };
        let bindings = [(0, q), (1, keys), (2, values), (3, row_info), (4, page_table), (5, scores), (6, out)];
        let (gx, gy) = spread(rows * heads);
        self.dispatch_bound(pass, &self.attention, &bindings, 7, &params, [gx, gy, 1]);
    }
}
