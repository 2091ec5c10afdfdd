//! The forward pass's activation and input buffers, kept from one call to the next and grown
//! (to the next power of two) only when a call needs more: the kernels' cached bind groups then
//! stay valid from one decoding step to the next.

use std::collections::HashMap;

use crate::context::{GpuContext, GpuError, READBACK, STORAGE};

#[derive(Default)]
pub struct Workspace {
    buffers: HashMap<&'static str, (wgpu::Buffer, usize)>,
    grown: bool,
}

impl Workspace {
    /// The buffer `name` with room for `len` 32-bit values; its contents are whatever the last
    /// call left there.
    pub fn buffer(&mut self, ctx: &GpuContext, name: &'static str, len: usize) -> Result<wgpu::Buffer, GpuError> {
        self.with_usage(ctx, name, len, STORAGE)
    }

    /// The buffer results are copied into for the CPU to read, with room for `len` values.
    pub fn readback(&mut self, ctx: &GpuContext, len: usize) -> Result<wgpu::Buffer, GpuError> {
        self.with_usage(ctx, "readback", len, READBACK)
    }

    fn with_usage(
        &mut self,
        ctx: &GpuContext,
        name: &'static str,
        len: usize,
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer, GpuError> {
        let len = len.max(1);
        if let Some((buffer, room)) = self.buffers.get(name) {
            if *room >= len {
                return Ok(buffer.clone());
            }
        }
        let room = len.next_power_of_two();
        let buffer = ctx.buffer(name, (room * 4) as u64, usage)?;
        self.buffers.insert(name, (buffer.clone(), room));
        // Kernels bind storage buffers only.
        self.grown |= usage == STORAGE;
        Ok(buffer)
    }

    /// The buffer `name` holding `values` at its start.
    pub fn upload(&mut self, ctx: &GpuContext, name: &'static str, values: &[u32]) -> Result<wgpu::Buffer, GpuError> {
        let buffer = self.buffer(ctx, name, values.len())?;
        ctx.queue.write_buffer(&buffer, 0, bytemuck::cast_slice(values));
        Ok(buffer)
    }

    /// Whether a storage buffer was replaced since the last call (so bind groups naming it are
    /// stale).
    pub fn take_grown(&mut self) -> bool {
        std::mem::take(&mut self.grown)
    }
}
