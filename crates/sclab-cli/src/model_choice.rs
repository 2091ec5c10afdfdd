//! Which model file a command runs: `--model PATH` or `--model NAME` (a model the lab knows,
//! fetched on first use), or the default SmolLM2 in the chosen quantization.

use std::path::{Path, PathBuf};

use anyhow::bail;
use sclab_assets::models::{self, DEFAULT_MODEL};
use sclab_assets::{Cache, Quant};

pub use crate::backend_choice::BackendArg;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantArg {
    #[value(name = "q8_0")]
    Q8_0,
    #[value(name = "q4_0")]
    Q4_0,
    #[value(name = "q4_1")]
    Q4_1,
}

impl QuantArg {
    pub fn dtype(self) -> candle_core::quantized::GgmlDType {
        use candle_core::quantized::GgmlDType;
        match self {
            QuantArg::Q8_0 => GgmlDType::Q8_0,
            QuantArg::Q4_0 => GgmlDType::Q4_0,
            QuantArg::Q4_1 => GgmlDType::Q4_1,
        }
    }
}

impl From<QuantArg> for Quant {
    fn from(q: QuantArg) -> Self {
        match q {
            QuantArg::Q8_0 => Quant::Q8_0,
            QuantArg::Q4_0 => Quant::Q4_0,
            QuantArg::Q4_1 => Quant::Q4_1,
        }
    }
}

#[derive(clap::Args, Clone)]
pub struct ModelArgs {
    /// A Llama or Qwen2 GGUF file, or a model's name: smollm2-135m (the default) or
    /// qwen2.5-coder-0.5b (fetched on first use).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Quantization of the default model (Q8_0 keeps the shipped model's answers).
    #[arg(long, value_enum, default_value = "q8_0")]
    pub quant: QuantArg,
    /// cpu, gpu (WebGPU kernels on Vulkan), or auto: a hardware GPU when there is one.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
}

impl ModelArgs {
    /// The default model in `quant` on the CPU engine.
    pub fn default_on_cpu(quant: QuantArg) -> Self {
        Self { model: None, quant, backend: BackendArg::Cpu }
    }

    pub fn path(&self) -> anyhow::Result<PathBuf> {
        match &self.model {
            Some(model) => model_path(model, self.quant),
            None => default_model(self.quant.into()),
        }
    }
}

/// The file `--model` names: a model the lab knows by name (an opt-in one is fetched on first
/// use), else a path. A name wins over a file of the same name in the working directory
/// (write `./NAME` for the file).
pub fn model_path(model: &Path, quant: QuantArg) -> anyhow::Result<PathBuf> {
    let name = model.to_str().unwrap_or_default();
    if name == DEFAULT_MODEL {
        return default_model(quant.into());
    }
    if let Some(pinned) = models::opt_in(name) {
        let cache = Cache::from_env();
        let path = cache.opt_in_model(pinned);
        if !path.exists() {
            eprintln!(
                "fetching {} — {} — into {} (first use)…",
                pinned.name,
                pinned.description,
                cache.root().display()
            );
            sclab_assets::prepare_model(&cache, pinned)?;
        }
        return Ok(path);
    }
    if !model.exists() {
        bail!("no model file {} (and no model of that name: {})", model.display(), models::names().join(", "));
    }
    Ok(model.to_owned())
}

/// The default model's file, running the asset step first if it is missing.
pub fn default_model(quant: Quant) -> anyhow::Result<PathBuf> {
    let cache = Cache::from_env();
    let path = cache.model(quant);
    ensure_asset(&cache, &path)?;
    Ok(path)
}

/// Run the asset step if `needed`, one of its outputs, is not there yet (a first run).
pub fn ensure_asset(cache: &Cache, needed: &Path) -> anyhow::Result<()> {
    if !needed.exists() {
        eprintln!("preparing assets in {} (first run)…", cache.root().display());
        sclab_assets::prepare(cache, |_| {})?;
    }
    Ok(())
}

/// The toxicity classifier from the cache, running the asset step first if it is missing.
pub fn classifier(cache: &Cache) -> anyhow::Result<sclab_engine::ToxicityClassifier> {
    ensure_asset(cache, &cache.toxicity().join(sclab_engine::toxicity::WEIGHTS_FILE))?;
    Ok(sclab_engine::ToxicityClassifier::load(&cache.toxicity())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_itself_and_a_missing_one_lists_the_names() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mine.gguf");
        std::fs::write(&file, b"GGUF").unwrap();
        assert_eq!(model_path(&file, QuantArg::Q8_0).unwrap(), file);
        // A path that merely looks like a name is a path.
        let err = model_path(Path::new("./qwen2.5-coder-0.5b"), QuantArg::Q8_0).unwrap_err().to_string();
        assert!(err.contains("no model file ./qwen2.5-coder-0.5b"), "{err}");
        let err = model_path(Path::new("qwen-9000"), QuantArg::Q8_0).unwrap_err().to_string();
        assert_eq!(err, "no model file qwen-9000 (and no model of that name: smollm2-135m, qwen2.5-coder-0.5b)");
    }
}
