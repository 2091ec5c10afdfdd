//! Where assets live: one cache per user, shared by every clone and CI run on the machine.

use std::path::{Path, PathBuf};

/// Overrides the cache location.
pub const CACHE_ENV: &str = "SCLAB_CACHE";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    Q8_0,
    Q4_0,
    /// The shipped file, unconverted.
    Q4_1,
}

impl Quant {
    pub fn label(self) -> &'static str {
        match self {
            Quant::Q8_0 => "q8_0",
            Quant::Q4_0 => "q4_0",
            Quant::Q4_1 => "q4_1",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// `$SCLAB_CACHE`, else `$XDG_CACHE_HOME/sclab`, else `~/.cache/sclab`.
    pub fn from_env() -> Self {
        let root = std::env::var_os(CACHE_ENV)
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("sclab")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("sclab")))
            .unwrap_or_else(|| PathBuf::from(".sclab-cache"));
        Self::new(root)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn wheels(&self) -> PathBuf {
        self.root.join("wheels")
    }
    /// Files extracted from the wheels, under their path inside the wheel.
    pub fn raw(&self) -> PathBuf {
        self.root.join("raw")
    }
    pub fn models(&self) -> PathBuf {
        self.root.join("models")
    }
    pub fn model(&self, quant: Quant) -> PathBuf {
        self.models().join(format!("SmolLM2-135M-Instruct.{}.gguf", quant.label().to_uppercase()))
    }
    /// An opt-in model's joined file (`prepare_model`).
    pub fn opt_in_model(&self, model: &crate::models::PinnedModel) -> PathBuf {
        self.models().join(model.file)
    }
    pub fn toxicity(&self) -> PathBuf {
        self.root.join("toxicity")
    }
    /// The original classifier's scores of a few texts, written by the conversion
    /// (`python/convert_toxicity.py`): what the converted one must reproduce.
    pub fn toxicity_reference(&self) -> PathBuf {
        self.toxicity().join("toxicity_reference.json")
    }
    /// The sentence embedder (all-MiniLM-L6-v2) as shipped: safetensors, tokenizer, config.
    pub fn embedder(&self) -> PathBuf {
        self.raw().join(crate::manifest::MINILM_DIR)
    }
    /// Concept directions per model file and concept, computed on first use.
    pub fn concepts(&self) -> PathBuf {
        self.root.join("concepts")
    }
    pub fn datasets(&self) -> PathBuf {
        self.root.join("datasets")
    }
    pub fn dataset(&self, name: &str) -> PathBuf {
        self.datasets().join(format!("{name}.jsonl"))
    }
    /// A private Python environment for the one conversion that needs h5py.
    pub fn python_env(&self) -> PathBuf {
        self.root.join("python")
    }
    /// Marker files of finished steps, for idempotence.
    pub fn stamps(&self) -> PathBuf {
        self.root.join("stamps")
    }
}
