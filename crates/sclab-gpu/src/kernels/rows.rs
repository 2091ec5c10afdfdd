//! `rows.wgsl`: chosen rows gathered into one buffer (what a forward pass reads back).

use bytemuck::{Pod, Zeroable};

use super::{uniform, Kernels, WORKGROUP};

/// rows.wgsl's `Params`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RowsParams {
    rows: u32,
    width: u32,
    /// Where the first copied row goes in `out`, in values.
    out_offset: u32,
    _pad: u32,
}
uniform!(RowsParams);

impl Kernels {
    /// Copy the `rows` rows of `width` values of `src` that `chosen` (`u32` row numbers) names
    /// into `out`, from value `out_offset` on.
    #[allow(clippy::too_many_arguments)]
    pub fn gather_rows(
        &self,
        pass: &mut wgpu::ComputePass,
        src: &wgpu::Buffer,
        chosen: &wgpu::Buffer,
        out: &wgpu::Buffer,
        rows: u32,
        width: u32,
        out_offset: u32,
    ) {
        let groups = [width.div_ceil(WORKGROUP), rows, 1];
        let params = RowsParams { rows, width, out_offset, _pad: 0 };
        self.dispatch(pass, &self.gather_rows, &[src, chosen, out], &params, groups);
    }
}
