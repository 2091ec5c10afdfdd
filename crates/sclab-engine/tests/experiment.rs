//! The measured experiment on the tiny model, with the testkit's random classifier (and the real
//! embedder from the asset step where MiniLM itself is tested): every round is measured and
//! reported in order, with its phases timed, the same seed writes the same record, and the three
//! clustering methods behave.

use std::cell::RefCell;
use std::sync::OnceLock;

use candle_core::quantized::GgmlDType;
use pollster::block_on;
use sclab_assets::Cache;
use sclab_core::experiment::clustering::{by_embedding, by_entailment};
use sclab_core::experiment::concept::last_token_states;
use sclab_core::experiment::{Clustering, Concept, ConceptModel, Experiment, ExperimentConfig, Instruments};
use sclab_core::protocol::{ChatFormat, Phase, Stream, Watch};
use sclab_core::tasks::{TaskError, TaskItem};
use sclab_core::{Backend, BackendError, ForwardOutput, ForwardRequest, LogitPositions, ModelInfo, SeqId};
use sclab_engine::{load, LoadedModel, SentenceEmbedder, ToxicityClassifier};
use sclab_model::ChatCodec;
use sclab_testkit::*;
use serde_json::{json, Value};

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| {
        let cache = Cache::from_env();
        sclab_assets::prepare(&cache, |_| {}).expect("asset step");
        cache
    })
}

fn tiny(dir: &tempfile::TempDir) -> LoadedModel {
    load(&write_tiny_model(dir.path(), &TinySpec { dtype: GgmlDType::Q8_0, ..Default::default() })).unwrap()
}

fn rows(name: &str) -> Result<Vec<Value>, TaskError> {
    assert_eq!(name, "refusal_pairs");
    Ok((0..6)
        .map(|i| json!({"text": format!("bake bread {i}"), "harmful_version": format!("make a bomb {i}")}))
        .collect())
}

/// Every phase reported, with its round and seconds.
#[derive(Default)]
struct PhaseLog(RefCell<Vec<(usize, Phase, f64)>>);

impl Watch for PhaseLog {
    fn token(&self, _round: usize, _stream: Stream, _token: u32) -> bool {
        true
    }

    fn phase(&self, round: usize, phase: Phase, seconds: f64) {
        self.0.borrow_mut().push((round, phase, seconds));
    }
}

fn config(seed: u64) -> ExperimentConfig {
    tiny_experiment(seed)
}

/// The testkit's random classifier of the real one's shape: these tests need a classifier that
/// runs, not one that knows toxicity.
fn classifier() -> ToxicityClassifier {
    let (weights, vocab) = tiny_classifier(3);
    ToxicityClassifier::from_bytes(&weights, &vocab).unwrap()
}

#[test]
fn rounds_are_measured_in_order_and_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = tiny(&dir);
    let classifier = classifier();
    let codec = ChatCodec { tokenizer: &model.tokenizer, template: &model.template };
    let prefix = config(1).concept_prefix();
    let mut progress = Vec::new();
    let concept = block_on(ConceptModel::measure(
        &mut model.backend,
        &codec,
        Concept::Harmfulness,
        &prefix,
        &rows,
        0,
        &mut |done, total| progress.push((done, total)),
    ))
    .unwrap();
    assert_eq!((concept.directions.layers.len(), concept.answer_prefix.as_str()), (LAYERS, "Answer:"));
    assert_eq!(concept.texts_per_side, (6, 6));
    assert_eq!(progress, vec![(0, 12), (6, 12), (12, 12)], "one step per batch of texts read");
    let instruments = Instruments { toxicity: &classifier, embedder: None, concept: Some(&concept) };

    let run = |model: &mut LoadedModel, seed: u64| {
        let codec = ChatCodec { tokenizer: &model.tokenizer, template: &model.template };
        let experiment = Experiment::new(config(seed), LAYERS).unwrap();
        let mut seen = Vec::new();
        let record = block_on(experiment.run_item(
            &mut model.backend,
            &codec,
            &tiny_task_item(),
            &instruments,
            &|| false,
            &mut |r| seen.push(r.round),
        ))
        .unwrap();
        (record, seen)
    };
    let (a, seen) = run(&mut model, 1);
    assert_eq!(seen, [1, 2, 3], "each round is reported as it finishes");
    for round in &a.rounds {
        for name in [
            "toxicity",
            "accuracy",
            "confidence",
            "entropy.discrete",
            "entropy.cluster_nll",
            "concept.input",
            "concept.probe",
            "concept.input.centred",
            "concept.input.shuffled",
            "concept.input.random",
        ] {
            assert!(round.metrics.contains_key(name), "round {} lacks {name}", round.round);
        }
        let clusters: Vec<usize> = round.samples.iter().map(|s| s.cluster).collect();
        assert_eq!(clusters[0], 0);
        assert_eq!(round.metrics["entropy.clusters"], (clusters.iter().max().unwrap() + 1) as f64);
        assert_eq!(round.concept_input_layers.len(), LAYERS);
        assert_eq!(round.metrics["concept.input"], round.concept_input_layers[LAYERS - 1]);
    }
    // Another item id draws other samples from the same seed.
    let codec = ChatCodec { tokenizer: &model.tokenizer, template: &model.template };
    let other = TaskItem { id: "t2".into(), ..tiny_task_item() };
    let experiment = Experiment::new(config(1), LAYERS).unwrap();
    let b = block_on(experiment.run_item(&mut model.backend, &codec, &other, &instruments, &|| false, &mut |_| {}))
        .unwrap();
    assert_eq!(b.rounds[0].answer, a.rounds[0].answer, "the greedy answer does not depend on the id");
    assert_ne!(
        b.rounds.iter().map(|r| &r.samples).collect::<Vec<_>>(),
        a.rounds.iter().map(|r| &r.samples).collect::<Vec<_>>()
    );
    let json_a = serde_json::to_string(&a).unwrap();
    assert_eq!(json_a, serde_json::to_string(&run(&mut model, 1).0).unwrap(), "same seed, same record");
    assert_ne!(json_a, serde_json::to_string(&run(&mut model, 2).0).unwrap());

    // Every round reports each of its phases once, in the order it does them.
    let watch = PhaseLog::default();
    let codec = ChatCodec { tokenizer: &model.tokenizer, template: &model.template };
    let started = std::time::Instant::now();
    block_on(experiment.run_item(&mut model.backend, &codec, &other, &instruments, &watch, &mut |_| {})).unwrap();
    let wall = started.elapsed().as_secs_f64();
    let log = watch.0.into_inner();
    let expected: Vec<(usize, Phase)> = (1..=3).flat_map(|r| Phase::ALL.map(|p| (r, p))).collect();
    assert_eq!(log.iter().map(|&(r, p, _)| (r, p)).collect::<Vec<_>>(), expected);
    // The model's phases take time; all the parts together no more than the item did.
    let model_phases = [Phase::Prefill, Phase::Samples, Phase::Answer];
    assert!(log.iter().filter(|(_, p, _)| model_phases.contains(p)).all(|&(_, _, s)| s > 0.0), "{log:?}");
    let total: f64 = log.iter().map(|&(_, _, s)| s).sum();
    assert!(total <= wall, "the parts ({total} s) exceed the item ({wall} s)");

    // A concept read at another answer prefix is refused rather than scored at the wrong place.
    let codec = ChatCodec { tokenizer: &model.tokenizer, template: &model.template };
    let elsewhere =
        block_on(ConceptModel::measure(&mut model.backend, &codec, Concept::Harmfulness, "", &rows, 0, &mut |_, _| {}))
            .unwrap();
    let instruments = Instruments { concept: Some(&elsewhere), ..instruments };
    let err = block_on(experiment.run_item(&mut model.backend, &codec, &other, &instruments, &|| false, &mut |_| {}))
        .unwrap_err();
    assert!(err.to_string().contains("read at \"\""), "{err}");
}

#[test]
fn contrast_texts_read_their_shared_opening_once_and_keep_their_states() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = tiny(&dir);
    let codec = ChatCodec { tokenizer: &model.tokenizer, template: &model.template };
    // 20 texts: a batch of 16 and one of 4; they share the template's opening and "Tell me".
    let texts: Vec<String> = (0..20).map(|i| format!("Tell me {i} ways to bake bread")).collect();
    let encoded: Vec<Vec<u32>> = texts.iter().map(|t| codec.open(t, "Answer:").unwrap()).collect();
    let opening = (0..).take_while(|&i| encoded.iter().all(|e| e[i] == encoded[0][i])).count();
    assert!(opening > 2, "the texts share {opening} tokens");

    let mut counted = CountingBackend { inner: &mut model.backend, batches: Vec::new(), tokens: 0 };
    let shared = block_on(last_token_states(&mut counted, &codec, &texts, "Answer:", &mut |_| {})).unwrap();
    assert_eq!(counted.batches, [1, 16, 4], "the opening once, then the texts in batches");
    let all: usize = encoded.iter().map(Vec::len).sum();
    assert_eq!(counted.tokens, all - (texts.len() - 1) * opening);

    // Each text read whole on its own gives exactly the same states.
    for (tokens, states) in encoded.into_iter().zip(&shared) {
        let seq = model.backend.new_sequence();
        let request = ForwardRequest { seq, tokens, logits: LogitPositions::None, hidden: true };
        let out = block_on(model.backend.forward(&[request])).unwrap();
        model.backend.free(seq);
        assert_eq!(out[0].hidden.as_ref(), Some(states));
    }
    // Nothing is left cached: the opening (the first sequence) and the 20 texts' forks are freed.
    for id in 0..=20 {
        assert_eq!(model.backend.seq_len(SeqId(id)), Err(BackendError::UnknownSequence(SeqId(id))));
    }
}

#[test]
fn embedding_clustering_needs_an_embedder() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = tiny(&dir);
    let classifier = classifier();
    let codec = ChatCodec { tokenizer: &model.tokenizer, template: &model.template };
    let experiment =
        Experiment::new(ExperimentConfig { clustering: Some(Clustering::Embedding), ..config(1) }, LAYERS).unwrap();
    let instruments = Instruments { toxicity: &classifier, embedder: None, concept: None };
    let err = block_on(experiment.run_item(
        &mut model.backend,
        &codec,
        &tiny_task_item(),
        &instruments,
        &|| false,
        &mut |_| {},
    ))
    .unwrap_err();
    assert!(err.to_string().contains("no sentence embedder"), "{err}");
}

#[test]
fn entailment_is_judged_in_one_batch_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = tiny(&dir);
    let codec = ChatCodec { tokenizer: &model.tokenizer, template: &model.template };
    let texts = ["It is harmful.", "It is harmful.", "No, it is fine.", "Yes."];
    let mut counted = CountingBackend { inner: &mut model.backend, batches: Vec::new(), tokens: 0 };
    let a = block_on(by_entailment(&mut counted, &codec, "Is it harmful?", &texts)).unwrap();
    assert_eq!(counted.batches, [12], "all 4 × 3 ordered pairs in one forward call");
    let b = block_on(by_entailment(&mut model.backend, &codec, "Is it harmful?", &texts)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 4);
    assert_eq!(a[0], 0);
    // Cluster ids appear in order: each new id is one more than the largest so far.
    assert!(a.iter().enumerate().all(|(i, &c)| c <= a[..i].iter().max().map_or(0, |m| m + 1)));
    assert_eq!(block_on(by_entailment(&mut model.backend, &codec, "q", &["only"])).unwrap(), vec![0]);
    let probe = sclab_core::Backend::new_sequence(&mut model.backend);
    assert_eq!(sclab_core::Backend::seq_len(&model.backend, probe).unwrap(), 0, "judge sequences are freed");
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn minilm_puts_paraphrases_together() {
    let embedder = SentenceEmbedder::load(&cache().embedder()).unwrap();
    let texts = [
        "The cat sat on the mat.",
        "A cat was sitting on the mat.",
        "Stock markets fell sharply today.",
        "Shares dropped steeply on the exchange today.",
    ];
    let e = embedder.embed(&texts).unwrap();
    assert!(e.iter().all(|v| v.len() == 384 && (v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4));
    let cos = |a: usize, b: usize| sclab_core::metrics::concept::cosine(&e[a], &e[b]);
    assert!(cos(0, 1) > 0.75 && cos(2, 3) > 0.6, "paraphrases: {} {}", cos(0, 1), cos(2, 3));
    assert!(cos(0, 2) < 0.2, "unrelated: {}", cos(0, 2));
    assert_eq!(by_embedding(&e, 0.6), vec![0, 0, 1, 1]);
}

/// The real backend, with the size of every forward call's batch and the tokens read recorded.
struct CountingBackend<'a, B> {
    inner: &'a mut B,
    batches: Vec<usize>,
    tokens: usize,
}

impl<B: Backend> Backend for CountingBackend<'_, B> {
    fn info(&self) -> &ModelInfo {
        self.inner.info()
    }
    fn new_sequence(&mut self) -> SeqId {
        self.inner.new_sequence()
    }
    fn fork(&mut self, seq: SeqId) -> Result<SeqId, BackendError> {
        self.inner.fork(seq)
    }
    fn rollback(&mut self, seq: SeqId, len: usize) -> Result<(), BackendError> {
        self.inner.rollback(seq, len)
    }
    fn free(&mut self, seq: SeqId) {
        self.inner.free(seq)
    }
    fn seq_len(&self, seq: SeqId) -> Result<usize, BackendError> {
        self.inner.seq_len(seq)
    }
    async fn forward(&mut self, batch: &[ForwardRequest]) -> Result<Vec<ForwardOutput>, BackendError> {
        self.batches.push(batch.len());
        self.tokens += batch.iter().map(|r| r.tokens.len()).sum::<usize>();
        self.inner.forward(batch).await
    }
}
