//! `matmul.wgsl` (with `matmul_input*.wgsl`, `lane_sums*.wgsl`, `dequant.wgsl`): the fused
//! block-quantized matrix product.

use bytemuck::{Pod, Zeroable};

use super::{spread, uniform, Kernels, MATMUL_ROWS, MATMUL_WEIGHT_ROWS};
use crate::matrix::GpuMatrix;

/// matmul.wgsl's `Params`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct MatmulParams {
    m: u32,
    /// Rows of the bound part of W.
    n: u32,
    k: u32,
    /// Columns of out: the rows of the whole W.
    width: u32,
    first_row: u32,
    /// 1: out += x · Wᵀ (the residual stream), 0: out = x · Wᵀ.
    accumulate: u32,
    /// The RMSNorm's epsilon, when the input is normalised.
    eps: f32,
    _pad: u32,
}
uniform!(MatmulParams);

impl Kernels {
    /// `out (m × w.rows) = x (m × w.cols) · wᵀ`, or `out += …` when `accumulate` (the residual
    /// stream), one dispatch per part of `w`.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul(
        &self,
        pass: &mut wgpu::ComputePass,
        x: &wgpu::Buffer,
        w: &GpuMatrix,
        out: &wgpu::Buffer,
        m: u32,
        accumulate: bool,
    ) {
        self.product(pass, x, None, w, out, m, accumulate);
    }

    /// `out = RMSNorm(x) · wᵀ`, the norm (its weights, its epsilon) applied on the fly.
    pub fn norm_matmul(
        &self,
        pass: &mut wgpu::ComputePass,
        x: &wgpu::Buffer,
        norm: (&wgpu::Buffer, f32),
        w: &GpuMatrix,
        out: &wgpu::Buffer,
        m: u32,
    ) {
        self.product(pass, x, Some(norm), w, out, m, false);
    }

    #[allow(clippy::too_many_arguments)]
    fn product(
        &self,
        pass: &mut wgpu::ComputePass,
        x: &wgpu::Buffer,
        norm: Option<(&wgpu::Buffer, f32)>,
        w: &GpuMatrix,
        out: &wgpu::Buffer,
        m: u32,
        accumulate: bool,
    ) {
        for part in &w.parts {
            let n = part.rows as u32;
            let (gx, gy) = spread(n.div_ceil(MATMUL_WEIGHT_ROWS));
            let params = MatmulParams {
                m,
                n,
                k: w.cols as u32,
                width: w.rows as u32,
                first_row: part.first_row as u32,
                accumulate: u32::from(accumulate),
                eps: norm.map_or(0.0, |(_, eps)| eps),
                _pad: 0,
            };
            let groups = [gx, gy, m.div_ceil(MATMUL_ROWS)];
            let mut bindings = vec![(0, x), (1, &part.words), (2, &part.scales), (3, out)];
            let pipelines = match norm {
                Some((weight, _)) => {
                    bindings.push((5, weight));
                    &self.norm_matmul
                }
                None => &self.matmul,
            };
            self.dispatch_bound(pass, &pipelines[part.format.index()], &bindings, 4, &params, groups);
        }
    }
}
