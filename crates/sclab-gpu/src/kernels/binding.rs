//! What a dispatch binds, made once and reused. Creating a uniform buffer and a bind group per
//! dispatch costs more CPU time than a small kernel takes on a fast GPU, so a dispatch's
//! parameters go into the next slot of a few large uniform buffers (written once per
//! submission), and its bind group is cached by pipeline, buffers and slot: a forward pass with
//! the same buffers as the last one creates nothing.

use std::collections::HashMap;
use std::num::NonZeroU64;

/// Slots per uniform buffer.
const CHUNK_SLOTS: usize = 1024;
/// Bind groups kept before the cache starts over (each holds its buffers alive).
const MAX_CACHED: usize = 16_384;

pub(super) struct Bindings {
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// Bytes between slots: the device's uniform offset alignment.
    slot_bytes: usize,
    chunks: Vec<Chunk>,
    /// The next free slot of the recording under way.
    next: usize,
    cache: HashMap<Key, wgpu::BindGroup>,
    /// Bind groups created so far (a warm decoding step creates none).
    pub created: u64,
}

struct Chunk {
    buffer: wgpu::Buffer,
    staged: Vec<u8>,
}

#[derive(PartialEq, Eq, Hash)]
struct Key {
    pipeline: wgpu::ComputePipeline,
    buffers: Vec<(u32, wgpu::Buffer)>,
    slot: usize,
}

impl Bindings {
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Self {
        let slot_bytes = device.limits().min_uniform_buffer_offset_alignment.max(16) as usize;
        Self {
            device: device.clone(),
            queue: queue.clone(),
            slot_bytes,
            chunks: Vec::new(),
            next: 0,
            cache: HashMap::new(),
            created: 0,
        }
    }

    /// The bind group of one dispatch: `buffers` at their bindings, `params` (whole 16-byte
    /// rows, at most a slot's bytes) in the next slot, bound at `params_binding`.
    pub fn bind(
        &mut self,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[(u32, &wgpu::Buffer)],
        params_binding: u32,
        params: &[u8],
    ) -> wgpu::BindGroup {
        let slot = self.next;
        self.next += 1;
        let (chunk, offset) = (slot / CHUNK_SLOTS, (slot % CHUNK_SLOTS) * self.slot_bytes);
        while self.chunks.len() <= chunk {
            let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("params"),
                size: (CHUNK_SLOTS * self.slot_bytes) as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            self.chunks.push(Chunk { buffer, staged: vec![0; CHUNK_SLOTS * self.slot_bytes] });
        }
        let size = params.len();
        self.chunks[chunk].staged[offset..offset + size].copy_from_slice(params);

        let key = Key {
            pipeline: pipeline.clone(),
            buffers: buffers.iter().map(|&(binding, b)| (binding, b.clone())).collect(),
            slot,
        };
        if let Some(group) = self.cache.get(&key) {
            return group.clone();
        }
        if self.cache.len() >= MAX_CACHED {
            self.cache.clear();
        }
        let uniform = wgpu::BufferBinding {
            buffer: &self.chunks[chunk].buffer,
            offset: offset as u64,
            size: NonZeroU64::new(size as u64),
        };
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .map(|&(binding, b)| wgpu::BindGroupEntry { binding, resource: b.as_entire_binding() })
            .chain([wgpu::BindGroupEntry { binding: params_binding, resource: wgpu::BindingResource::Buffer(uniform) }])
            .collect();
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        self.created += 1;
        self.cache.insert(key, group.clone());
        group
    }

    /// Write the recording's parameters to their buffers; the next recording starts at slot 0.
    /// Queue writes land before the next submission and after the earlier ones, so the slots
    /// can be reused at once.
    pub fn flush(&mut self) {
        let used = self.next;
        for (i, chunk) in self.chunks.iter().enumerate() {
            let slots = used.saturating_sub(i * CHUNK_SLOTS).min(CHUNK_SLOTS);
            if slots > 0 {
                self.queue.write_buffer(&chunk.buffer, 0, &chunk.staged[..slots * self.slot_bytes]);
            }
        }
        self.next = 0;
    }

    /// Forget every cached bind group (the buffers they hold are being replaced).
    pub fn forget(&mut self) {
        self.cache.clear();
    }
}
