//! One loaded model with its measuring instruments, as both front ends hold it: the engine it
//! runs on (and the CPU fallback), its tokenizer and chat template, the toxicity classifier and
//! embedder, the concept directions (by their versioned cache key, kept in a front end's
//! [`ConceptStore`]), the results header, and the per-item run.

use std::collections::HashMap;
use std::sync::Arc;

use sclab_core::experiment::record::{Header, ItemRecord, ModelRecord, RoundRecord};
use sclab_core::experiment::{
    concept, Concept, ConceptModel, Experiment, ExperimentConfig, ExperimentError, Instruments,
};
use sclab_core::protocol::{ProtocolError, Watch};
use sclab_core::tasks::{Rows, TaskItem};
use sclab_core::Backend;
use sclab_engine::{EngineError, SentenceEmbedder, ToxicityClassifier};
use sclab_model::{ChatCodec, ChatTemplate, GgufFile, ModelError, Tokenizer};

use crate::backend::{gpu_backend, AnyBackend, PlaceError, Preference};

/// Where the model file's bytes are read again, to load the model onto another engine (the
/// GPU, or the CPU after a lost GPU): a path natively, a `Blob` in the page.
pub trait ModelSource {
    fn open(&self) -> Result<GgufFile, ModelError>;
}

/// Where measured concept directions are kept between sessions, by
/// [`concept::cache_key`]: files natively, the Cache API in the page. Loading may fail
/// silently (the concept is then measured again); saving reports why it failed.
#[allow(async_fn_in_trait)] // the page's store awaits JavaScript promises on its one thread
pub trait ConceptStore {
    async fn load(&self, key: &str) -> Option<String>;
    async fn save(&self, key: &str, json: &str) -> Result<(), String>;
}

type Concepts = HashMap<(Concept, String), ConceptModel>;

fn find_concept<'a>(concepts: &'a Concepts, concept: Concept, prefix: &str) -> Result<&'a ConceptModel, LabError> {
    let missing = || LabError::ConceptMissing { concept: concept.name(), prefix: prefix.to_owned() };
    concepts.get(&(concept, prefix.to_owned())).ok_or_else(missing)
}

/// Why a session cannot do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Place(#[from] PlaceError),
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    #[error("the {concept} concept has {found} layers, the model {layers}: it was measured on another model")]
    ConceptOfAnotherModel { concept: &'static str, found: usize, layers: usize },
    #[error("the {concept} concept read at {prefix:?} is not loaded")]
    ConceptMissing { concept: &'static str, prefix: String },
    #[error("a stored concept cannot be read: {0}")]
    ConceptFile(String),
}

pub struct Session {
    pub backend: AnyBackend,
    /// Shared, so that a front end's token watch can hold it while the session runs.
    pub tokenizer: Arc<Tokenizer>,
    pub template: ChatTemplate,
    pub classifier: ToxicityClassifier,
    /// Needed only by embedding clustering; the front end loads it when a run needs it.
    pub embedder: Option<SentenceEmbedder>,
    /// The model file as results headers record it.
    pub model_name: String,
    pub model_sha256: String,
    source: Box<dyn ModelSource>,
    /// Loaded concepts by (concept, the answer prefix they were read at).
    concepts: Concepts,
}

impl Session {
    /// The model of `source` on the CPU engine (see [`use_backend`](Self::use_backend)).
    pub fn open(
        source: Box<dyn ModelSource>,
        model_name: String,
        model_sha256: String,
        classifier: ToxicityClassifier,
    ) -> Result<Self, LabError> {
        let model = sclab_engine::load_gguf(source.open().map_err(EngineError::from)?)?;
        Ok(Self {
            backend: AnyBackend::Cpu(model.backend),
            tokenizer: Arc::new(model.tokenizer),
            template: model.template,
            classifier,
            embedder: None,
            model_name,
            model_sha256,
            source,
            concepts: HashMap::new(),
        })
    }

    /// Run the model where `preference` asks; says why it stays on the CPU when a GPU was
    /// wanted but not taken.
    pub async fn use_backend(&mut self, preference: Preference) -> Result<Option<String>, LabError> {
        // The engine in place keeps running until the GPU's copy is ready.
        let stop = self.backend.info().stop_tokens.clone();
        match gpu_backend(preference, || self.source.open(), stop).await? {
            Ok(gpu) => {
                self.backend = gpu;
                Ok(None)
            }
            Err(reason) => {
                if !matches!(self.backend, AnyBackend::Cpu(_)) {
                    self.backend = AnyBackend::Cpu(cpu_engine(self.source.as_ref())?);
                }
                Ok(reason)
            }
        }
    }

    pub fn codec(&self) -> ChatCodec<'_> {
        ChatCodec { tokenizer: &self.tokenizer, template: &self.template }
    }

    /// The model as a results header records it, on the engine it runs on now.
    pub fn model_record(&self) -> ModelRecord {
        ModelRecord::new(self.model_name.clone(), self.model_sha256.clone(), self.backend.info(), self.backend.name())
    }

    /// The header of a run of `config` written by `writer` (the front end and its version).
    pub fn header(&self, config: &ExperimentConfig, writer: String) -> Result<Header, LabError> {
        let concept = self.concept(config.concept(), &config.concept_prefix())?;
        Ok(Header::of_run(config.clone(), self.model_record(), concept, writer))
    }

    /// The key `concept` read at the answer prefix `prefix` is kept under for this model file
    /// (also the staged manifest's key in the page).
    pub fn concept_key(&self, concept: Concept, prefix: &str) -> String {
        concept::cache_key(&self.model_sha256, concept, prefix)
    }

    /// `concept` read at `prefix`, once loaded or measured.
    pub fn concept(&self, concept: Concept, prefix: &str) -> Result<&ConceptModel, LabError> {
        find_concept(&self.concepts, concept, prefix)
    }

    /// Load a concept measured earlier (JSON, as [`ConceptStore::save`] is given it); refused
    /// when it was measured on a model with another number of layers.
    pub fn add_concept(&mut self, json: &str) -> Result<(), LabError> {
        let concept: ConceptModel = serde_json::from_str(json).map_err(|e| LabError::ConceptFile(e.to_string()))?;
        let layers = self.backend.info().n_layers;
        let found = concept.directions.layers.len();
        if found != layers {
            return Err(LabError::ConceptOfAnotherModel { concept: concept.concept.name(), found, layers });
        }
        self.concepts.insert((concept.concept, concept.answer_prefix.clone()), concept);
        Ok(())
    }

    /// `concept` read at `prefix`: loaded already, from `store`, or measured now on this model
    /// over the contrast texts in `rows` (`on_measuring` is told first: it takes a while) and
    /// saved to `store`.
    pub async fn ensure_concept(
        &mut self,
        concept: Concept,
        prefix: &str,
        rows: &Rows<'_>,
        store: &impl ConceptStore,
        mut on_measuring: impl FnMut(usize, usize),
    ) -> Result<&ConceptModel, LabError> {
        if self.concept(concept, prefix).is_err() {
            let key = self.concept_key(concept, prefix);
            let stored = match store.load(&key).await {
                Some(json) => self.add_concept(&json).is_ok(),
                None => false,
            };
            if !stored {
                let codec = ChatCodec { tokenizer: &self.tokenizer, template: &self.template };
                let measured =
                    ConceptModel::measure(&mut self.backend, &codec, concept, prefix, rows, 0, &mut on_measuring)
                        .await
                        .map_err(|e| LabError::Experiment(e.into()))?;
                let json = serde_json::to_string(&measured).map_err(|e| LabError::ConceptFile(e.to_string()))?;
                store.save(&key, &json).await.map_err(LabError::ConceptFile)?;
                self.concepts.insert((concept, prefix.to_owned()), measured);
            }
        }
        self.concept(concept, prefix)
    }

    /// Run and measure every round of `item` (`on_round` after each). A GPU lost mid-item is
    /// replaced by the CPU engine, which goes on from the last finished round; `on_fallback` is
    /// told what happened, with the backend the run now has.
    pub async fn run_item(
        &mut self,
        experiment: &Experiment,
        item: &TaskItem,
        watch: &dyn Watch,
        on_round: &mut dyn FnMut(&RoundRecord),
        on_fallback: &mut dyn FnMut(&AnyBackend, &str),
    ) -> Result<ItemRecord, LabError> {
        let config = &experiment.config;
        let concept = find_concept(&self.concepts, config.concept(), &config.concept_prefix())?;
        let instruments = Instruments {
            toxicity: &self.classifier,
            embedder: self.embedder.as_ref().map(|e| e as &dyn sclab_core::experiment::SentenceEmbedder),
            concept: Some(concept),
        };
        let codec = ChatCodec { tokenizer: &self.tokenizer, template: &self.template };
        let source = &self.source;
        let mut recover = |backend: &mut AnyBackend, why: &ProtocolError| match backend
            .fall_back_to_cpu(|| cpu_engine(source.as_ref()))
        {
            Ok(true) => {
                on_fallback(backend, &format!("{why}; going on on the CPU from the last finished round"));
                true
            }
            Ok(false) => false,
            Err(e) => {
                on_fallback(backend, &format!("{why}, and the CPU engine could not take over: {e}"));
                false
            }
        };
        let record = experiment
            .run_item_recovering(&mut self.backend, &codec, item, &instruments, watch, on_round, &mut recover)
            .await?;
        Ok(record)
    }
}

/// The CPU engine for the model file `source` reads.
fn cpu_engine(source: &dyn ModelSource) -> Result<sclab_engine::CpuBackend, EngineError> {
    Ok(sclab_engine::load_gguf(source.open()?)?.backend)
}
