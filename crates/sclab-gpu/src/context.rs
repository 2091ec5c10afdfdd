//! The adapter and device, and moving f32 data to and from the GPU.

use std::sync::{Arc, Mutex};

/// The usage of a buffer that results are copied into to be read on the CPU.
pub const READBACK: wgpu::BufferUsages = wgpu::BufferUsages::MAP_READ.union(wgpu::BufferUsages::COPY_DST);

/// The usage of every buffer the kernels read and write.
pub const STORAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

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

/// Keeps a headless machine's GPU probe quiet. Mesa's device-select Vulkan layer (an implicit
/// layer every Mesa install enables) asks the Wayland compositor which GPU drives the display,
/// and libwayland prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment."
/// where there is no session, once per probe, which users read as a failure. Without a display
/// there is no display GPU to prefer, so the layer is switched off through its own
/// `NODEVICE_SELECT` switch; a choice the user made in the environment is kept. It sets an
/// environment variable, so call it first thing in `main`, before any thread starts.
#[cfg(not(target_arch = "wasm32"))]
pub fn quiet_headless_probe() {
    let has_display = ["WAYLAND_DISPLAY", "DISPLAY"].iter().any(|var| std::env::var_os(var).is_some());
    if !has_display && std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    faults: Arc<Mutex<Faults>>,
}

/// What went wrong on the device since it was opened: wgpu reports both through callbacks.
#[derive(Default)]
struct Faults {
    lost: Option<String>,
    first_error: Option<String>,
}

/// The device's state as a caller must act on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    Ok,
    /// Gone for good: another backend must take over.
    Lost(String),
    /// A command was rejected (a bug, or memory exhausted); its results are not to be trusted.
    Failed(String),
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
        // Subgroups speed up the matrix product's sums, timestamps let benchmarks time the GPU.
        let required_features = if cfg!(target_arch = "wasm32") {
            wgpu::Features::empty()
        } else {
            adapter.features() & (wgpu::Features::SUBGROUP | wgpu::Features::TIMESTAMP_QUERY)
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("sclab"),
                required_features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        let faults = Arc::new(Mutex::new(Faults::default()));
        let on_lost = faults.clone();
        device.set_device_lost_callback(move |reason, message| {
            lock(&on_lost).lost = Some(format!("{message} ({reason:?})"));
        });
        let on_error = faults.clone();
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            lock(&on_error).first_error.get_or_insert_with(|| error.to_string());
        }));
        Ok(Self { device, queue, info, limits, faults })
    }

    /// Whether the device runs subgroup operations in groups large enough for the matrix
    /// product (lane_sums_subgroup.wgsl needs eight invocations). Natively only: the headless
    /// browser of the tests (SwiftShader) offers no subgroups, so the browser path of that
    /// kernel could not be tested, and the page keeps the portable one.
    pub fn has_subgroups(&self) -> bool {
        !cfg!(target_arch = "wasm32")
            && self.device.features().contains(wgpu::Features::SUBGROUP)
            && self.info.subgroup_min_size >= 8
    }

    /// The adapter in words: its name, or (browsers often hide it) its kind.
    pub fn adapter_name(&self) -> String {
        if !self.info.name.is_empty() {
            return self.info.name.clone();
        }
        let kind = match self.info.device_type {
            wgpu::DeviceType::Cpu => "a software adapter",
            wgpu::DeviceType::DiscreteGpu => "a discrete GPU",
            wgpu::DeviceType::IntegratedGpu => "an integrated GPU",
            wgpu::DeviceType::VirtualGpu => "a virtual GPU",
            wgpu::DeviceType::Other => "an unnamed adapter",
        };
        match self.info.vendor {
            0 => kind.to_owned(),
            vendor => format!("{kind} (vendor {vendor:#06x})"),
        }
    }

    pub fn health(&self) -> Health {
        // Natively wgpu runs the device-lost callback from a poll.
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.device.poll(wgpu::PollType::Poll);
        let faults = lock(&self.faults);
        match (&faults.lost, &faults.first_error) {
            (Some(lost), _) => Health::Lost(lost.clone()),
            (None, Some(error)) => Health::Failed(error.clone()),
            (None, None) => Health::Ok,
        }
    }

    /// A storage buffer holding `bytes` (which the caller has padded to four bytes). Written
    /// through the queue rather than mapped at creation, so that a lost device yields an error
    /// to report instead of a panic.
    pub fn storage(&self, label: &str, bytes: &[u8]) -> Result<wgpu::Buffer, GpuError> {
        let buffer = self.buffer(label, bytes.len() as u64, STORAGE)?;
        self.queue.write_buffer(&buffer, 0, bytes);
        Ok(buffer)
    }

    /// An uninitialised (that is, by WebGPU's rules, zeroed) buffer of `bytes` bytes.
    pub fn buffer(&self, label: &str, bytes: u64, usage: wgpu::BufferUsages) -> Result<wgpu::Buffer, GpuError> {
        let limit = self.limits.max_storage_buffer_binding_size;
        if bytes > limit {
            return Err(GpuError::TooLarge { what: label.to_owned(), bytes, limit });
        }
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4),
            usage,
            mapped_at_creation: false,
        }))
    }

    pub fn storage_f32(&self, label: &str, values: &[f32]) -> Result<wgpu::Buffer, GpuError> {
        self.storage(label, bytemuck::cast_slice(values))
    }

    pub fn storage_u32(&self, label: &str, values: &[u32]) -> Result<wgpu::Buffer, GpuError> {
        self.storage(label, bytemuck::cast_slice(values))
    }

    /// A zeroed storage buffer of `len` f32 values.
    pub fn zeros(&self, label: &str, len: usize) -> Result<wgpu::Buffer, GpuError> {
        self.buffer(label, (len.max(1) * 4) as u64, STORAGE)
    }

    /// Copy `len` f32 values out of `buffer`: awaits the mapping in the browser, polls natively.
    pub async fn read_f32(&self, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<f32>, GpuError> {
        let bytes = (len * 4) as u64;
        let staging = self.buffer("readback", bytes, READBACK)?;
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        self.queue.submit([encoder.finish()]);
        self.read_mapped(&staging, len).await
    }

    /// The first `len` f32 values of a `READBACK` buffer that submitted commands have filled.
    pub async fn read_mapped(&self, staging: &wgpu::Buffer, len: usize) -> Result<Vec<f32>, GpuError> {
        let slice = staging.slice(..(len.max(1) * 4) as u64);
        let (sender, receiver) = futures_channel::oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Readback(e.to_string()))?;
        receiver
            .await
            .map_err(|_| GpuError::Readback("the device was lost".into()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let mapped = slice.get_mapped_range().map_err(|e| GpuError::Readback(e.to_string()))?;
        let values = bytemuck::pod_collect_to_vec::<u8, f32>(&mapped[..len * 4]);
        drop(mapped);
        staging.unmap();
        Ok(values)
    }
}

fn lock(faults: &Mutex<Faults>) -> std::sync::MutexGuard<'_, Faults> {
    faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
