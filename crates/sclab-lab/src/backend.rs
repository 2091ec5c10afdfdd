//! Where the model runs: the CPU engine or the GPU backend behind one type, the rule that
//! picks between them (`auto` takes a hardware GPU and leaves a software adapter — lavapipe,
//! SwiftShader: slower than the CPU engine — to an explicit `gpu`), and the CPU fallback after
//! a lost GPU. A build without the `gpu` feature has only the CPU engine and says so when asked
//! for a GPU.

use sclab_core::{Backend, BackendError, ForwardOutput, ForwardRequest, ModelInfo, SeqId};
use sclab_engine::CpuBackend;
use sclab_model::{GgufFile, ModelError};

/// Positions the GPU's KV cache holds over all sequences (forks share their prefix).
pub const GPU_CACHE_POSITIONS: usize = 8192;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preference {
    Cpu,
    Gpu,
    Auto,
}

impl Preference {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "cpu" => Some(Preference::Cpu),
            "gpu" => Some(Preference::Gpu),
            "auto" => Some(Preference::Auto),
            _ => None,
        }
    }
}

/// Why the model cannot run where it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("this build has no GPU backend (the `gpu` feature was off)")]
    NotBuilt,
    #[error(transparent)]
    Model(#[from] ModelError),
    #[cfg(feature = "gpu")]
    #[error(transparent)]
    Gpu(#[from] sclab_gpu::GpuError),
    #[cfg(feature = "gpu")]
    #[error("loading the model on the GPU: {0}")]
    Load(#[from] sclab_gpu::LoadError),
}

pub enum AnyBackend {
    Cpu(CpuBackend),
    #[cfg(feature = "gpu")]
    Gpu(Box<sclab_gpu::GpuBackend>),
}

/// Where a model should run, as [`placement`] found it.
pub enum Placement {
    #[cfg(feature = "gpu")]
    Gpu(Box<sclab_gpu::GpuContext>),
    /// On the CPU engine, and why when the GPU was wanted but is not used.
    Cpu(Option<String>),
}

/// Open the GPU that `preference` asks for. Only an explicit `gpu` that cannot be had is an
/// error.
pub async fn placement(preference: Preference) -> Result<Placement, PlaceError> {
    match preference {
        Preference::Cpu => Ok(Placement::Cpu(None)),
        #[cfg(not(feature = "gpu"))]
        Preference::Gpu => Err(PlaceError::NotBuilt),
        #[cfg(not(feature = "gpu"))]
        Preference::Auto => Ok(Placement::Cpu(Some(PlaceError::NotBuilt.to_string()))),
        #[cfg(feature = "gpu")]
        Preference::Gpu | Preference::Auto => {
            let ctx = match sclab_gpu::GpuContext::new().await {
                Ok(ctx) => ctx,
                Err(e) if preference == Preference::Auto => return Ok(Placement::Cpu(Some(e.to_string()))),
                Err(e) => return Err(e.into()),
            };
            if preference == Preference::Auto && ctx.info.device_type == sclab_gpu::wgpu::DeviceType::Cpu {
                // Browsers often hide the adapter's name: then there is nothing to add.
                let why = match ctx.info.name.as_str() {
                    "" => "the only GPU adapter is a software one".to_owned(),
                    name => format!("the only GPU adapter is a software one ({name})"),
                };
                return Ok(Placement::Cpu(Some(why)));
            }
            Ok(Placement::Gpu(Box::new(ctx)))
        }
    }
}

/// The GPU backend `preference` asks for, for the model of the file `gguf` opens (ending its
/// answers at `stop_tokens`), or why the model stays on the CPU (`None`: it was asked to). The
/// one placement both front ends use: [`placement`], then
/// [`load_gpu_or_stay`](AnyBackend::load_gpu_or_stay).
#[cfg_attr(not(feature = "gpu"), allow(unused_variables))] // only the GPU reads the file
pub async fn gpu_backend(
    preference: Preference,
    gguf: impl FnOnce() -> Result<GgufFile, ModelError>,
    stop_tokens: Vec<u32>,
) -> Result<Result<AnyBackend, Option<String>>, PlaceError> {
    match placement(preference).await? {
        Placement::Cpu(reason) => Ok(Err(reason)),
        #[cfg(feature = "gpu")]
        Placement::Gpu(ctx) => Ok(AnyBackend::load_gpu_or_stay(preference, *ctx, gguf, stop_tokens)?.map_err(Some)),
    }
}

#[cfg(feature = "gpu")]
impl AnyBackend {
    /// The model of `gguf` on the GPU of `ctx`, ending its answers at `stop_tokens` (the CPU
    /// engine's: the file's turn-end tokens).
    pub fn load_gpu(
        ctx: sclab_gpu::GpuContext,
        gguf: &mut GgufFile,
        stop_tokens: Vec<u32>,
    ) -> Result<Self, PlaceError> {
        let model = sclab_gpu::GpuModel::load(&ctx, gguf)?;
        let gpu = sclab_gpu::GpuBackend::new(ctx, model, stop_tokens, GPU_CACHE_POSITIONS)?;
        Ok(AnyBackend::Gpu(Box::new(gpu)))
    }

    /// [`load_gpu`](Self::load_gpu) of the file `gguf` opens, except that under `auto` a file
    /// the GPU's kernels cannot run (a tensor format they lack) is not an error but the reason,
    /// in words, to stay on the CPU (`Err` inside `Ok`).
    pub fn load_gpu_or_stay(
        preference: Preference,
        ctx: sclab_gpu::GpuContext,
        gguf: impl FnOnce() -> Result<GgufFile, ModelError>,
        stop_tokens: Vec<u32>,
    ) -> Result<Result<Self, String>, PlaceError> {
        let loaded = gguf().map_err(PlaceError::from).and_then(|mut g| Self::load_gpu(ctx, &mut g, stop_tokens));
        match loaded {
            Ok(backend) => Ok(Ok(backend)),
            Err(PlaceError::Load(e @ sclab_gpu::LoadError::Format { .. })) if preference == Preference::Auto => {
                Ok(Err(format!("the GPU backend cannot run this file ({e})")))
            }
            Err(e) => Err(e),
        }
    }
}

impl AnyBackend {
    /// The engine's name as results files record it.
    pub fn name(&self) -> &'static str {
        match self {
            AnyBackend::Cpu(_) => "cpu",
            #[cfg(feature = "gpu")]
            AnyBackend::Gpu(_) => "gpu",
        }
    }

    /// After the GPU was lost: the CPU engine that `load` gives takes its place. `Ok(false)`,
    /// and nothing loaded, when this is not on the GPU.
    pub fn fall_back_to_cpu<E>(&mut self, load: impl FnOnce() -> Result<CpuBackend, E>) -> Result<bool, E> {
        if matches!(self, AnyBackend::Cpu(_)) {
            return Ok(false);
        }
        *self = AnyBackend::Cpu(load()?);
        Ok(true)
    }

    /// The adapter's name on the GPU, "CPU" otherwise.
    pub fn device_name(&self) -> String {
        match self {
            AnyBackend::Cpu(_) => "CPU".into(),
            #[cfg(feature = "gpu")]
            AnyBackend::Gpu(gpu) => gpu.context().adapter_name(),
        }
    }
}

macro_rules! each {
    ($self:ident, $b:ident => $body:expr) => {
        match $self {
            AnyBackend::Cpu($b) => $body,
            #[cfg(feature = "gpu")]
            AnyBackend::Gpu($b) => $body,
        }
    };
}

impl Backend for AnyBackend {
    fn info(&self) -> &ModelInfo {
        each!(self, b => b.info())
    }

    fn new_sequence(&mut self) -> SeqId {
        each!(self, b => b.new_sequence())
    }

    fn fork(&mut self, seq: SeqId) -> Result<SeqId, BackendError> {
        each!(self, b => b.fork(seq))
    }

    fn rollback(&mut self, seq: SeqId, len: usize) -> Result<(), BackendError> {
        each!(self, b => b.rollback(seq, len))
    }

    fn free(&mut self, seq: SeqId) {
        each!(self, b => b.free(seq))
    }

    fn seq_len(&self, seq: SeqId) -> Result<usize, BackendError> {
        each!(self, b => b.seq_len(seq))
    }

    async fn forward(&mut self, batch: &[ForwardRequest]) -> Result<Vec<ForwardOutput>, BackendError> {
        each!(self, b => b.forward(batch).await)
    }
}
