//! `--backend cpu|gpu|auto`: which engine runs the model (the rule is `sclab_gpu::open_preferred`).

use std::path::Path;

use anyhow::Context;
use sclab_core::Backend;
use sclab_engine::gguf::GgufFile;
use sclab_engine::CpuBackend;
use sclab_gpu::{open_preferred, AnyBackend, GpuBackend, GpuModel, Placement, Preference, GPU_CACHE_POSITIONS};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    Cpu,
    Gpu,
    Auto,
}

impl BackendArg {
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
    choose_with(choice, cpu, &name, || Ok(GgufFile::open(path)?))
}

/// [`choose`] for the model that `gguf` opens (named `name` in messages).
pub fn choose_with(
    choice: BackendArg,
    cpu: CpuBackend,
    name: &str,
    gguf: impl FnOnce() -> anyhow::Result<GgufFile>,
) -> anyhow::Result<AnyBackend> {
    let ctx = match pollster::block_on(open_preferred(choice.preference())).context("--backend gpu")? {
        Placement::Gpu(ctx) => ctx,
        Placement::Cpu(why) => {
            match why {
                Some(why) => eprintln!("running on the CPU: {why}"),
                None => eprintln!("running on the CPU"),
            }
            return Ok(AnyBackend::Cpu(cpu));
        }
    };
    let stop = cpu.info().stop_tokens.clone();
    drop(cpu);
    let model = GpuModel::load(&ctx, &mut gguf()?).with_context(|| format!("loading {name} on the GPU"))?;
    eprintln!("running on the GPU: {} ({:?})", ctx.info.name, ctx.info.backend);
    Ok(AnyBackend::Gpu(Box::new(GpuBackend::new(*ctx, model, stop, GPU_CACHE_POSITIONS)?)))
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
