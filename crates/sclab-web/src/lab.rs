//! `WebLab`: one loaded model with its measuring instruments, as the worker holds it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::BufReader;
use std::rc::Rc;
use std::sync::Arc;

use sclab_core::experiment::record::{ItemRecord, RoundRecord};
use sclab_core::experiment::summary::Summary;
use sclab_core::experiment::{Experiment, ExperimentConfig, ExperimentError};
use sclab_core::protocol::ProtocolError;
use sclab_core::tasks::{parse_rows, TaskError, TaskItem};
use sclab_core::Backend;
use sclab_engine::{SentenceEmbedder, ToxicityClassifier};
use sclab_lab::{AnyBackend, ConceptStore, LabError, ModelSource, Preference, Session};
use sclab_model::{GgufFile, ModelError};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use crate::blob_source::BlobSource;
use crate::events::Event;
use crate::watch::PageWatch;
use crate::{error, js, to_js};

/// Metadata reads of a GGUF are many and small: buffer them. Tensor reads larger than this go
/// straight into their buffers.
const READ_BUFFER: usize = 1 << 20;

struct Inner {
    session: Session,
    bytes: u64,
    datasets: HashMap<String, Vec<Value>>,
}

/// The model file (the visitor's, or the page's cached copy), read again to load the model onto
/// another engine: WebGPU, or the CPU after a lost GPU.
struct BlobModel {
    blob: Blob,
    name: String,
}

impl ModelSource for BlobModel {
    fn open(&self) -> Result<GgufFile, ModelError> {
        let source = BlobSource::new(self.blob.clone())
            .map_err(|e| ModelError::Io { path: self.name.clone().into(), source: std::io::Error::other(e) })?;
        GgufFile::from_reader(self.name.as_ref(), reader(source))
    }
}

/// The page's store of measured concepts: two JavaScript functions over the Cache API (and the
/// staged manifest), `load(key)` resolving to the JSON or nothing, `save(key, json)`.
struct PageConcepts<'a> {
    load: &'a js_sys::Function,
    save: &'a js_sys::Function,
}

impl ConceptStore for PageConcepts<'_> {
    async fn load(&self, key: &str) -> Option<String> {
        let promise = self.load.call1(&JsValue::NULL, &key.into()).ok()?;
        JsFuture::from(js_sys::Promise::resolve(&promise)).await.ok()?.as_string()
    }

    async fn save(&self, key: &str, json: &str) -> Result<(), String> {
        let described = |e: JsValue| format!("{e:?}");
        let promise = self.save.call2(&JsValue::NULL, &key.into(), &json.into()).map_err(described)?;
        JsFuture::from(js_sys::Promise::resolve(&promise)).await.map_err(described)?;
        Ok(())
    }
}

#[wasm_bindgen]
pub struct WebLab {
    inner: Rc<RefCell<Inner>>,
}

#[derive(Serialize)]
struct Info<'a> {
    name: &'a str,
    sha256: &'a str,
    bytes: u64,
    architecture: &'a str,
    layers: usize,
    hidden_size: usize,
    vocab_size: usize,
    context_length: usize,
    backend: &'static str,
    /// The GPU adapter's name, or "CPU".
    device: String,
    /// Size of the wasm heap after loading: the weights plus everything else.
    wasm_memory_bytes: f64,
}

/// What the page must hand the worker before a config can run.
#[derive(Serialize)]
struct Needs {
    datasets: Vec<&'static str>,
    concept: &'static str,
    embedder: bool,
    /// The task's headline metric (docs/JSON.md).
    headline: &'static str,
}

#[wasm_bindgen]
impl WebLab {
    /// Read a GGUF model (`Blob` or `File`) and the toxicity classifier's two files.
    /// `on_progress(done, total)` follows the hashing pass over the model file.
    pub fn load(
        model: Blob,
        name: &str,
        classifier_weights: &[u8],
        classifier_vocab: &[u8],
        on_progress: &js_sys::Function,
    ) -> Result<WebLab, JsError> {
        let source = BlobSource::new(model.clone()).map_err(|e| JsError::new(&e))?;
        let total = source.len();
        let sha256 = source
            .sha256(&mut |done| {
                let _ = on_progress.call2(&JsValue::NULL, &(done as f64).into(), &(total as f64).into());
            })
            .map_err(error)?;
        let classifier = ToxicityClassifier::from_bytes(classifier_weights, classifier_vocab).map_err(error)?;
        let source = Box::new(BlobModel { blob: model, name: name.to_owned() });
        let session = Session::open(source, name.to_owned(), sha256, classifier).map_err(error)?;
        let inner = Inner { session, bytes: total, datasets: HashMap::new() };
        Ok(WebLab { inner: Rc::new(RefCell::new(inner)) })
    }

    /// Run the model on `preference`: "gpu" (WebGPU, an error without an adapter), "auto"
    /// (WebGPU on a hardware adapter, else the CPU) or "cpu". Resolves to
    /// `{backend, device, reason}`, `reason` saying why "auto" stayed on the CPU.
    // The borrow is held across awaits on purpose: a second call meanwhile gets `busy()`.
    #[allow(clippy::await_holding_refcell_ref)]
    pub async fn use_backend(&self, preference: String) -> Result<JsValue, JsError> {
        let wanted = Preference::parse(&preference)
            .ok_or_else(|| JsError::new(&format!("unknown backend {preference:?} (gpu, auto, cpu)")))?;
        let mut inner = self.inner.try_borrow_mut().map_err(|_| busy())?;
        let reason = inner.session.use_backend(wanted).await.map_err(error)?;
        let backend = &inner.session.backend;
        js(serde_json::json!({
            "backend": backend.name(),
            "device": backend.device_name(),
            "reason": reason,
        }))
    }

    pub fn info(&self) -> Result<JsValue, JsError> {
        let inner = self.inner.try_borrow().map_err(|_| busy())?;
        let session = &inner.session;
        let model = session.backend.info();
        let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
        let buffer: js_sys::ArrayBuffer = memory.buffer().unchecked_into();
        to_js(&Info {
            name: &session.model_name,
            sha256: &session.model_sha256,
            bytes: inner.bytes,
            architecture: &model.architecture,
            layers: model.n_layers,
            hidden_size: model.hidden_size,
            vocab_size: model.vocab_size,
            context_length: model.context_length,
            backend: session.backend.name(),
            device: session.backend.device_name(),
            wasm_memory_bytes: buffer.byte_length() as f64,
        })
    }

    /// The datasets, concept and embedder that `config` needs (a JSON experiment config).
    pub fn needs(config: JsValue) -> Result<JsValue, JsError> {
        let config = parse_config(config)?;
        let concept = config.concept();
        let mut datasets: Vec<&'static str> = config.task.datasets(config.subset).to_vec();
        datasets.extend(concept.datasets());
        datasets.sort_unstable();
        datasets.dedup();
        let embedder = config.needs_embedder();
        to_js(&Needs { datasets, concept: concept.name(), embedder, headline: config.task.headline_metric() })
    }

    /// A normalised dataset (JSON lines, as the asset step writes them).
    pub fn add_dataset(&self, name: &str, jsonl: &str) -> Result<(), JsError> {
        let rows = parse_rows(name, jsonl).map_err(error)?;
        self.inner.try_borrow_mut().map_err(|_| busy())?.datasets.insert(name.to_owned(), rows);
        Ok(())
    }

    pub fn has_embedder(&self) -> bool {
        self.inner.borrow().session.embedder.is_some()
    }

    pub fn set_embedder(&self, config: &[u8], tokenizer: Vec<u8>, weights: Vec<u8>) -> Result<(), JsError> {
        let embedder = SentenceEmbedder::from_bytes(config, tokenizer, weights).map_err(error)?;
        self.inner.try_borrow_mut().map_err(|_| busy())?.session.embedder = Some(embedder);
        Ok(())
    }

    /// A concept measured earlier on this model file (JSON, as `ensure_concept` saves it).
    pub fn set_concept(&self, json: &str) -> Result<(), JsError> {
        self.inner.try_borrow_mut().map_err(|_| busy())?.session.add_concept(json).map_err(error)
    }

    /// Make the concept `config` needs ready: loaded, or `load(key)` resolves to its JSON (the
    /// staged manifest's or the page's cache), or it is measured now on this model (slow: a
    /// forward pass over its contrast texts; `on_measuring(done, total)` hears how many are
    /// read, from `(0, total)` on) and handed to
    /// `save(key, json)`. The key names the model file, the concept, the answer prefix it is
    /// read at and the measuring code's version, so a stale direction is never reused.
    // The borrow is held across awaits on purpose: a second call meanwhile gets `busy()`.
    #[allow(clippy::await_holding_refcell_ref)]
    pub async fn ensure_concept(
        &self,
        config: JsValue,
        load: js_sys::Function,
        save: js_sys::Function,
        on_measuring: js_sys::Function,
    ) -> Result<(), JsError> {
        let config = parse_config(config)?;
        let mut guard = self.inner.try_borrow_mut().map_err(|_| busy())?;
        let inner = &mut *guard;
        let rows = |name: &str| dataset(&inner.datasets, name);
        let store = PageConcepts { load: &load, save: &save };
        let measuring = |done: usize, total: usize| {
            drop(on_measuring.call2(&JsValue::NULL, &(done as u32).into(), &(total as u32).into()))
        };
        let (concept, prefix) = (config.concept(), config.concept_prefix());
        inner.session.ensure_concept(concept, &prefix, &rows, &store, measuring).await.map_err(error)?;
        Ok(())
    }

    /// The browser benchmark: prefill `prompt`, then decode `steps` tokens greedily in `batch`
    /// forks of it (stop tokens ignored), timed inside the worker:
    /// `{prompt_tokens, prefill_ms, decode_ms, steps, batch}`.
    // The borrow is held across awaits on purpose: a second call meanwhile gets `busy()`.
    #[allow(clippy::await_holding_refcell_ref)]
    pub async fn bench(&self, prompt: String, steps: usize, batch: usize) -> Result<JsValue, JsError> {
        use sclab_core::{logits::argmax, ForwardRequest, LogitPositions};
        let mut guard = self.inner.try_borrow_mut().map_err(|_| busy())?;
        let session = &mut guard.session;
        let tokens = session.tokenizer.encode(&prompt).map_err(error)?;
        let backend = &mut session.backend;
        let seq = backend.new_sequence();
        let start = js_sys::Date::now();
        let request = ForwardRequest { seq, tokens: tokens.clone(), logits: LogitPositions::Last, hidden: false };
        let first = backend.forward(&[request]).await.map_err(error)?.remove(0).logits;
        let prefilled = js_sys::Date::now();
        let forks: Vec<_> = (0..batch.max(1)).map(|_| backend.fork(seq)).collect::<Result<_, _>>().map_err(error)?;
        let mut logits = vec![first; forks.len()];
        for _ in 0..steps {
            let batch: Vec<_> =
                forks.iter().zip(&logits).map(|(&s, l)| ForwardRequest::decode(s, argmax(l) as u32)).collect();
            logits = backend.forward(&batch).await.map_err(error)?.into_iter().map(|o| o.logits).collect();
        }
        let decoded = js_sys::Date::now();
        for s in forks.into_iter().chain([seq]) {
            backend.free(s);
        }
        js(serde_json::json!({
            "prompt_tokens": tokens.len(),
            "prefill_ms": prefilled - start,
            "decode_ms": decoded - prefilled,
            "steps": steps,
            "batch": batch.max(1),
        }))
    }

    /// The items `config` selects: `[{id, category, query}]`.
    pub fn items(&self, config: JsValue) -> Result<JsValue, JsError> {
        let config = parse_config(config)?;
        let inner = self.inner.try_borrow().map_err(|_| busy())?;
        let items = select_items(&inner.datasets, &config)?;
        let listed: Vec<Value> = items
            .iter()
            .map(|i| serde_json::json!({"id": i.id, "category": i.category, "query": i.item.query}))
            .collect();
        to_js(&listed)
    }

    /// Run an experiment, calling `on_event` with each event (see `events.rs`); a non-zero
    /// `cancel[0]` stops it between two tokens. Resolves to `{items, cancelled}`.
    // The borrow is held across awaits on purpose: a second call meanwhile gets `busy()`.
    #[allow(clippy::await_holding_refcell_ref)]
    pub async fn run(
        &self,
        config: JsValue,
        on_event: js_sys::Function,
        cancel: Option<js_sys::Int32Array>,
    ) -> Result<JsValue, JsError> {
        let config = parse_config(config)?;
        let mut guard = self.inner.try_borrow_mut().map_err(|_| busy())?;
        let inner = &mut *guard;
        let session = &mut inner.session;
        let experiment = Experiment::new(config.clone(), session.backend.info().n_layers).map_err(error)?;
        let items = select_items(&inner.datasets, &config)?;
        let emit = |event: Event| {
            let _ = on_event.call1(&JsValue::NULL, &event.to_js());
        };
        let header = session.header(&config, format!("sclab-web {}", env!("CARGO_PKG_VERSION"))).map_err(error)?;
        emit(Event::Header { header: &header });

        let tokenizer = Arc::clone(&session.tokenizer);
        let rounds_total = items.len() * config.rounds_per_item();
        let mut finished: Vec<ItemRecord> = Vec::new();
        let mut cancelled = false;
        for (index, item) in items.iter().enumerate() {
            emit(Event::ItemStarted { index, total: items.len(), record: &unfinished(item) });
            let watch = PageWatch {
                index,
                tokenizer: &tokenizer,
                emit: &emit,
                cancel: cancel.as_ref(),
                streams: Default::default(),
                phases: Default::default(),
                streaming: Default::default(),
            };
            let mut partial: Vec<RoundRecord> = Vec::new();
            let mut on_round = |record: &RoundRecord| {
                emit(Event::Round { index, record });
                partial.push(record.clone());
                let started = web_time::Instant::now();
                let mut so_far = finished.clone();
                so_far.push(ItemRecord { rounds: partial.clone(), ..unfinished(item) });
                emit(Event::Summary { summary: &Summary::of(&so_far, config.seed) });
                let rounds_done = finished.len() * config.rounds_per_item() + partial.len();
                emit(Event::Progress { rounds_done, rounds_total });
                let mut ms = watch.take_timing();
                ms.push(("summary", started.elapsed().as_secs_f64() * 1e3));
                emit(Event::Timing { index, round: record.round, ms });
            };
            let mut on_fallback = |backend: &AnyBackend, reason: &str| {
                let device = backend.device_name();
                emit(Event::Backend { index, backend: backend.name(), device: &device, reason });
            };
            let result = session.run_item(&experiment, item, &watch, &mut on_round, &mut on_fallback).await;
            match result {
                Ok(record) => {
                    emit(Event::Item { index, record: &record });
                    finished.push(record);
                }
                Err(LabError::Experiment(ExperimentError::Protocol(ProtocolError::Cancelled))) => {
                    cancelled = true;
                    break;
                }
                Err(e) => {
                    let message = format!("item {}: {e}", item.id);
                    emit(Event::Error { message: &message });
                    return Err(JsError::new(&message));
                }
            }
            if watch.cancelled() {
                cancelled = true;
                break;
            }
        }
        emit(Event::Finished { items: finished.len(), cancelled });
        js(serde_json::json!({"items": finished.len(), "cancelled": cancelled}))
    }
}

impl WebLab {
    /// The WebGPU device while the model runs on one: a handle to lose it on purpose (tests of
    /// the CPU fallback), never needed to run the lab.
    #[cfg(feature = "gpu")]
    pub fn gpu_device(&self) -> Option<sclab_gpu::wgpu::Device> {
        match &self.inner.try_borrow().ok()?.session.backend {
            AnyBackend::Gpu(gpu) => Some(gpu.context().device.clone()),
            AnyBackend::Cpu(_) => None,
        }
    }
}

fn reader(source: BlobSource) -> Box<dyn sclab_model::Source> {
    Box::new(BufReader::with_capacity(READ_BUFFER, source))
}

fn busy() -> JsError {
    JsError::new("the lab is busy with another run")
}

fn parse_config(config: JsValue) -> Result<ExperimentConfig, JsError> {
    serde_wasm_bindgen::from_value(config).map_err(|e| JsError::new(&format!("invalid experiment config: {e}")))
}

fn dataset(datasets: &HashMap<String, Vec<Value>>, name: &str) -> Result<Vec<Value>, TaskError> {
    datasets.get(name).cloned().ok_or_else(|| TaskError::Dataset {
        dataset: name.to_owned(),
        message: "not loaded in the page (fetch it before the run)".into(),
    })
}

fn select_items(datasets: &HashMap<String, Vec<Value>>, config: &ExperimentConfig) -> Result<Vec<TaskItem>, JsError> {
    config.items(&|name: &str| dataset(datasets, name)).map_err(|e| JsError::new(&e))
}

/// The record of an item whose rounds are still coming.
fn unfinished(item: &TaskItem) -> ItemRecord {
    ItemRecord {
        id: item.id.clone(),
        category: item.category.clone(),
        query: item.item.query.clone(),
        truth: item.truth.clone(),
        rounds: Vec::new(),
    }
}
