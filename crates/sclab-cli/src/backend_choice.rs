//! `--backend cpu|gpu|auto`: which engine runs the model. `auto` takes a hardware GPU when the
//! machine has one and the CPU engine otherwise (a software adapter such as Mesa's lavapipe is
//! slower than the CPU engine, so `auto` leaves it to an explicit `--backend gpu`).

use std::path::Path;

use anyhow::Context;
use sclab_core::{Backend, BackendError, ForwardOutput, ForwardRequest, ModelInfo, SeqId};
use sclab_engine::CpuBackend;
use sclab_gpu::{GpuBackend, GpuContext, GpuModel};

/// Positions the GPU's KV cache holds over all sequences (forks share their prefix).
const GPU_CACHE_POSITIONS: usize = 8192;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    Cpu,
    Gpu,
    Auto,
}

pub enum AnyBackend {
    Cpu(CpuBackend),
    Gpu(Box<GpuBackend>),
}

impl AnyBackend {
    /// The engine's name as results files record it.
    pub fn name(&self) -> &'static str {
        match self {
            AnyBackend::Cpu(_) => "cpu",
            AnyBackend::Gpu(_) => "gpu",
        }
    }

    /// Open the chosen backend for the model file at `path`; `cpu` is its CPU engine, already loaded.
    pub fn choose(choice: BackendArg, path: &Path, cpu: CpuBackend) -> anyhow::Result<Self> {
        if choice == BackendArg::Cpu {
            return Ok(AnyBackend::Cpu(cpu));
        }
        let ctx = match pollster::block_on(GpuContext::new()) {
            Ok(ctx) => ctx,
            Err(e) if choice == BackendArg::Auto => {
                eprintln!("running on the CPU: {e}");
                return Ok(AnyBackend::Cpu(cpu));
            }
            Err(e) => return Err(e).context("--backend gpu"),
        };
        if choice == BackendArg::Auto && ctx.info.device_type == sclab_gpu::wgpu::DeviceType::Cpu {
            eprintln!("running on the CPU: the only GPU adapter is a software one ({})", ctx.info.name);
            return Ok(AnyBackend::Cpu(cpu));
        }
        let stop = cpu.info().stop_tokens.clone();
        drop(cpu);
        let mut gguf = sclab_engine::gguf::GgufFile::open(path)?;
        let model =
            GpuModel::load(&ctx, &mut gguf).with_context(|| format!("loading {} on the GPU", path.display()))?;
        eprintln!("running on the GPU: {} ({:?})", ctx.info.name, ctx.info.backend);
        Ok(AnyBackend::Gpu(Box::new(GpuBackend::new(ctx, model, stop, GPU_CACHE_POSITIONS)?)))
    }
}

macro_rules! each {
    ($self:ident, $b:ident => $body:expr) => {
        match $self {
            AnyBackend::Cpu($b) => $body,
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
