//! The adapter and device, and moving f32 data to and from the GPU.

use wgpu::util::DeviceExt;

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no WebGPU/Vulkan adapter is available ({0})")]
    NoAdapter(String),
    #[error("the GPU device could not be opened: {0}")]
    Device(String),
    #[error("reading back from the GPU failed: {0}")]
    Readback(String),
    #[error("{what} needs {bytes} bytes in one binding; this adapter allows {limit}")]
    TooLarge { what: String, bytes: u64, limit: u64 },
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
}

impl GpuContext {
    /// The first adapter of the platform (Vulkan natively, WebGPU in the browser), with its own
    /// storage-binding and buffer limits requested instead of the conservative defaults.
    pub async fn new() -> Result<Self, GpuError> {
        let backends =
            if cfg!(target_arch = "wasm32") { wgpu::Backends::BROWSER_WEBGPU } else { wgpu::Backends::VULKAN };
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let offered = adapter.limits();
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: offered.max_storage_buffer_binding_size,
            max_buffer_size: offered.max_buffer_size,
            max_storage_buffers_per_shader_stage: offered.max_storage_buffers_per_shader_stage.min(8),
            max_compute_workgroup_storage_size: offered.max_compute_workgroup_storage_size,
            ..wgpu::Limits::downlevel_defaults()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("sclab"),
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        Ok(Self { device, queue, info, limits })
    }

    /// A storage buffer holding `bytes` (which the caller has padded to four bytes).
    pub fn storage(&self, label: &str, bytes: &[u8]) -> Result<wgpu::Buffer, GpuError> {
        let limit = self.limits.max_storage_buffer_binding_size;
        if bytes.len() as u64 > limit {
            return Err(GpuError::TooLarge { what: label.to_owned(), bytes: bytes.len() as u64, limit });
        }
        Ok(self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        }))
    }

    pub fn storage_f32(&self, label: &str, values: &[f32]) -> Result<wgpu::Buffer, GpuError> {
        self.storage(label, &f32_bytes(values))
    }

    pub fn storage_u32(&self, label: &str, values: &[u32]) -> Result<wgpu::Buffer, GpuError> {
        self.storage(label, &values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())
    }

    /// A zeroed storage buffer of `len` f32 values.
    pub fn zeros(&self, label: &str, len: usize) -> Result<wgpu::Buffer, GpuError> {
        self.storage(label, &vec![0u8; len.max(1) * 4])
    }

    /// Copy `len` f32 values out of `buffer`: awaits the mapping in the browser, polls natively.
    pub async fn read_f32(&self, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<f32>, GpuError> {
        let bytes = (len * 4) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        self.queue.submit([encoder.finish()]);
        let (sender, receiver) = futures_channel::oneshot::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |result| {
            let _ = sender.send(result);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Readback(e.to_string()))?;
        receiver
            .await
            .map_err(|_| GpuError::Readback("the device was lost".into()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let values = staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| GpuError::Readback(e.to_string()))?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        staging.unmap();
        Ok(values)
    }
}

pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}
