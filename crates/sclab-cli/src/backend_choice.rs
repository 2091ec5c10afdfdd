//! `--backend cpu|gpu|auto`: which engine runs the model (the rule is `sclab_lab::place`).

use std::path::Path;

use anyhow::Context;
use sclab_engine::CpuBackend;
use sclab_lab::{placement, AnyBackend, Placement, Preference};
use sclab_model::{GgufFile, ModelError};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    Cpu,
    Gpu,
    Auto,
}

impl BackendArg {
    fn name(self) -> &'static str {
        match self {
            BackendArg::Cpu => "cpu",
            BackendArg::Gpu => "gpu",
            BackendArg::Auto => "auto",
        }
    }

    fn preference(self) -> Preference {
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
#[cfg_attr(not(feature = "gpu"), allow(unused_variables))] // only the GPU reads the file again
pub fn choose_with(
    choice: BackendArg,
    cpu: CpuBackend,
    name: &str,
    gguf: impl FnOnce() -> Result<GgufFile, ModelError>,
) -> anyhow::Result<AnyBackend> {
    let context = || format!("--backend {}: {name}", choice.name());
    match pollster::block_on(placement(choice.preference())).with_context(context)? {
        Placement::Cpu(why) => {
            match why {
                Some(why) => eprintln!("running on the CPU: {why}"),
                None => eprintln!("running on the CPU"),
            }
            Ok(AnyBackend::Cpu(cpu))
        }
        #[cfg(feature = "gpu")]
        Placement::Gpu(ctx) => {
            let stop = sclab_core::Backend::info(&cpu).stop_tokens.clone();
            drop(cpu);
            let backend = AnyBackend::load_gpu(*ctx, &mut gguf()?, stop).with_context(context)?;
            eprintln!("running on the GPU: {}", backend.device_name());
            Ok(backend)
        }
    }
}

/// After the GPU was lost mid-run: load the CPU engine for the model at `path` in its place.
/// False when it cannot be loaded (the run then stops with the GPU's error).
pub fn fall_back_to_cpu(backend: &mut AnyBackend, path: &Path, why: &sclab_core::protocol::ProtocolError) -> bool {
    match backend.fall_back_to_cpu(|| sclab_engine::load(path).map(|model| model.backend)) {
        Ok(swapped) => {
            if swapped {
                eprintln!("{why}; continuing on the CPU from the last finished round");
            }
            swapped
        }
        Err(e) => {
            eprintln!("{why}, and the CPU engine could not take over: {e}");
            false
        }
    }
}
