//! `kv_cache.wgsl`: keys and values of new rows into their pages of the paged cache.

use bytemuck::{Pod, Zeroable};

use super::{uniform, Kernels, WORKGROUP};

/// kv_cache.wgsl's `Params`, and how the caller describes one store.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct StoreShape {
    pub rows: u32,
    /// Values of one key (and of one value).
    pub width: u32,
    /// Values per row of the source.
    pub stride: u32,
    /// Where a row's key starts in the source; its value follows.
    pub offset: u32,
}
uniform!(StoreShape);

impl Kernels {
    /// Write each row's key and value (`width` values each, from `offset` in a row of `stride`
    /// values of `qkv`) into its slot of the paged caches `keys` and `values`. `row_info` holds
    /// per row its position and the offset of its page table in `page_table`.
    #[allow(clippy::too_many_arguments)]
    pub fn kv_store(
        &self,
        pass: &mut wgpu::ComputePass,
        qkv: &wgpu::Buffer,
        keys: &wgpu::Buffer,
        values: &wgpu::Buffer,
        row_info: &wgpu::Buffer,
        page_table: &wgpu::Buffer,
        shape: StoreShape,
    ) {
        let groups = [(2 * shape.width).div_ceil(WORKGROUP), shape.rows, 1];
        self.dispatch(pass, &self.kv_store, &[qkv, keys, values, row_info, page_table], &shape, groups);
    }
}
