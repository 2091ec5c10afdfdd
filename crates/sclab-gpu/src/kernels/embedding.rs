//! `embedding.wgsl` (with `dequant.wgsl`): rows of a block-quantized matrix by token id.

use bytemuck::{Pod, Zeroable};

use super::{uniform, Kernels, WORKGROUP};
use crate::matrix::GpuMatrix;

/// embedding.wgsl's `Params`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct EmbeddingParams {
    m: u32,
    k: u32,
    first_row: u32,
    rows: u32,
}
uniform!(EmbeddingParams);

impl Kernels {
    /// `out (ids.len() × w.cols)`: the rows of `w` named by `ids` (a `u32` buffer of `m` ids),
    /// each part of `w` writing the rows it holds.
    pub fn embedding(
        &self,
        pass: &mut wgpu::ComputePass,
        ids: &wgpu::Buffer,
        w: &GpuMatrix,
        out: &wgpu::Buffer,
        m: u32,
    ) {
        let blocks = (w.cols / 32) as u32;
        for part in &w.parts {
            let params =
                EmbeddingParams { m, k: w.cols as u32, first_row: part.first_row as u32, rows: part.rows as u32 };
            self.dispatch(
                pass,
                &self.embedding[part.format.index()],
                &[ids, &part.words, &part.scales, out],
                &params,
                [blocks.div_ceil(WORKGROUP), m, 1],
            );
        }
    }
}
