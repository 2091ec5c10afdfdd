//! `--backend cpu|gpu|auto`: which engine runs the model (the rule is `sclab_lab::place`).

use std::path::Path;

use anyhow::Context;
use sclab_engine::CpuBackend;
use sclab_lab::{gpu_backend, AnyBackend, Preference};
use sclab_model::{GgufFile, ModelError};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    Cpu,
    Gpu,
    Auto,
}

impl BackendArg {
    pub fn name(self) -> &'static str {
        match self {
            BackendArg::Cpu => "cpu",
            BackendArg::Gpu => "gpu",
            BackendArg::Auto => "auto",
        }
    }

    pub fn preference(self) -> Preference {
        match self {
            BackendArg::Cpu => Preference::Cpu,
            BackendArg::Gpu => Preference::Gpu,
            BackendArg::Auto => Preference::Auto,
        }
    }
}

/// Open the chosen backend for the model file at `path`; `cpu` is its CPU engine, already loaded.
pub fn choose(choice: BackendArg, path: &Path, cpu: CpuBackend) -> anyhow::Result<AnyBackend> {
    let name = path.display().to_string();
    choose_with(choice, cpu, &name, || GgufFile::open(path))
}

/// [`choose`] for the model that `gguf` opens (named `name` in messages).
pub fn choose_with(
    choice: BackendArg,
    cpu: CpuBackend,
    name: &str,
    gguf: impl FnOnce() -> Result<GgufFile, ModelError>,
) -> anyhow::Result<AnyBackend> {
    let context = || format!("--backend {}: {name}", choice.name());
    let stop = sclab_core::Backend::info(&cpu).stop_tokens.clone();
    let (backend, cpu_reason) =
        match pollster::block_on(gpu_backend(choice.preference(), gguf, stop)).with_context(context)? {
            Ok(gpu) => (gpu, None),
            Err(why) => (AnyBackend::Cpu(cpu), why),
        };
    announce(&backend, cpu_reason.as_deref());
    Ok(backend)
}

/// Say in one line which engine runs, and why the CPU when a GPU was wanted.
pub fn announce(backend: &AnyBackend, cpu_reason: Option<&str>) {
    match backend {
        AnyBackend::Cpu(_) => announce_cpu(cpu_reason),
        #[cfg(feature = "gpu")]
        gpu @ AnyBackend::Gpu(_) => eprintln!("running on the GPU: {}", gpu.device_name()),
    }
}

fn announce_cpu(reason: Option<&str>) {
    match reason {
        Some(why) => eprintln!("running on the CPU: {why}"),
        None => eprintln!("running on the CPU"),
    }
}
