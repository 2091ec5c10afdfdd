//! How long the GPU itself spends on a forward pass: timestamps at the start and the end of its
//! compute pass, where the adapter offers timestamp queries. A benchmark compares that with the
//! step's wall time to tell what bounds decoding: the GPU's work, or recording, submitting and
//! waiting for it.

use std::time::Duration;

use crate::context::GpuContext;

/// Values (32-bit words) the two timestamps take in a readback buffer.
pub const TIMESTAMP_WORDS: usize = 4;

pub struct PassTimer {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    tick_ns: f32,
}

impl PassTimer {
    /// `None` where the device has no timestamp queries.
    pub fn new(ctx: &GpuContext) -> Option<Self> {
        if !ctx.device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("pass time"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pass time"),
            size: (TIMESTAMP_WORDS * 4) as u64,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Some(Self { queries, resolved, tick_ns: ctx.queue.get_timestamp_period() })
    }

    pub fn writes(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    /// Copy the pass's two timestamps into `readback` at value `at`.
    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder, readback: &wgpu::Buffer, at: usize) {
        encoder.resolve_query_set(&self.queries, 0..2, &self.resolved, 0);
        encoder.copy_buffer_to_buffer(&self.resolved, 0, readback, (at * 4) as u64, (TIMESTAMP_WORDS * 4) as u64);
    }

    /// The pass's duration from the [`TIMESTAMP_WORDS`] values read back.
    pub fn busy(&self, words: &[f32]) -> Duration {
        let tick = |i: usize| u64::from(words[2 * i].to_bits()) | (u64::from(words[2 * i + 1].to_bits()) << 32);
        Duration::from_nanos((tick(1).saturating_sub(tick(0)) as f64 * self.tick_ns as f64) as u64)
    }
}
