//! One item of an experiment: the protocol's rounds, each measured as soon as it is answered
//! (toxicity, the task metrics, semantic entropy, the concept scores) and reported to the
//! caller before the next round starts.

use std::collections::BTreeMap;

use super::clustering::{self, Clustering, SentenceEmbedder};
use super::concept::ConceptModel;
use super::record::{ItemRecord, RoundRecord, SampleRecord};
use super::ExperimentConfig;
use crate::backend::Backend;
use crate::metrics::entropy::{self, Sample};
use crate::protocol::{
    is_device_lost, ChatFormat, ItemRun, Phase, PhaseTimer, ProtocolConfig, ProtocolError, Round, Watch,
};
use crate::sampling::item_seed;
use crate::tasks::scoring::{read_qa, task_metrics};
use crate::tasks::TaskItem;

/// Scores texts for toxicity in [0, 1] (the engine's classifier).
pub trait ToxicityScorer {
    fn toxicity(&self, texts: &[&str]) -> Vec<f64>;
}

/// The measuring instruments besides the model itself.
pub struct Instruments<'a> {
    pub toxicity: &'a dyn ToxicityScorer,
    /// Needed only for embedding clustering.
    pub embedder: Option<&'a dyn SentenceEmbedder>,
    /// The concept of the run on this model; without it no concept scores are recorded.
    pub concept: Option<&'a ConceptModel>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("embedding clustering: {0}")]
    Embedding(String),
    #[error("invalid experiment: {0}")]
    Config(String),
}

/// A resolved experiment: the config and what follows from it for one model.
pub struct Experiment {
    pub config: ExperimentConfig,
    pub protocol: ProtocolConfig,
    pub clustering: Clustering,
    pub layer: usize,
}

impl Experiment {
    pub fn new(config: ExperimentConfig, layers: usize) -> Result<Self, ExperimentError> {
        config.validate(layers).map_err(ExperimentError::Config)?;
        Ok(Self { protocol: config.protocol(), clustering: config.clustering(), layer: config.layer(layers), config })
    }

    /// Run and measure every round of `task_item`, calling `on_round` after each.
    pub async fn run_item<B: Backend, F: ChatFormat>(
        &self,
        backend: &mut B,
        format: &F,
        task_item: &TaskItem,
        instruments: &Instruments<'_>,
        watch: &dyn Watch,
        on_round: &mut dyn FnMut(&RoundRecord),
    ) -> Result<ItemRecord, ExperimentError> {
        self.run_item_recovering(backend, format, task_item, instruments, watch, on_round, &mut |_, _| false).await
    }

    /// [`run_item`](Self::run_item) that survives a lost device: `recover` is told why and
    /// replaces the backend in place (returning false when it cannot), and the item goes on
    /// from its last finished round on the replacement, the conversation so far replayed token
    /// for token. A round answered but not yet measured is measured there, not answered again.
    #[allow(clippy::too_many_arguments)]
    pub async fn run_item_recovering<B: Backend, F: ChatFormat>(
        &self,
        backend: &mut B,
        format: &F,
        task_item: &TaskItem,
        instruments: &Instruments<'_>,
        watch: &dyn Watch,
        on_round: &mut dyn FnMut(&RoundRecord),
        recover: &mut dyn FnMut(&mut B, &ProtocolError) -> bool,
    ) -> Result<ItemRecord, ExperimentError> {
        if self.config.needs_embedder() && instruments.embedder.is_none() {
            return Err(ExperimentError::Embedding("no sentence embedder is loaded".into()));
        }
        if let Some(concept) = instruments.concept {
            let wanted = (self.config.concept(), self.config.concept_prefix());
            if (concept.concept, concept.answer_prefix.as_str()) != (wanted.0, wanted.1.as_str()) {
                return Err(ExperimentError::Config(format!(
                    "the {} concept read at {:?} was loaded, the run needs {} read at {:?}",
                    concept.concept.name(),
                    concept.answer_prefix,
                    wanted.0.name(),
                    wanted.1
                )));
            }
        }
        let protocol = ProtocolConfig { seed: item_seed(self.config.seed, &task_item.id), ..self.protocol.clone() };
        let mut run = ItemRun::new(&protocol, &task_item.item)?;
        let mut rounds = Vec::new();
        let mut pending: Option<Round> = None;
        let result = loop {
            if pending.is_none() && run.is_done() {
                break Ok(());
            }
            let step = async {
                let round = match pending.take() {
                    Some(round) => round,
                    None => run.next_round(backend, format, watch).await?,
                };
                pending = Some(round.clone());
                self.measure(backend, format, task_item, instruments, watch, round).await
            }
            .await;
            match step {
                Ok(record) => {
                    pending = None;
                    on_round(&record);
                    rounds.push(record);
                }
                Err(ExperimentError::Protocol(e)) if is_device_lost(&e) => {
                    run.detach(backend);
                    if !recover(backend, &e) {
                        break Err(e.into());
                    }
                }
                Err(e) => break Err(e),
            }
        };
        run.close(backend);
        result?;
        Ok(ItemRecord {
            id: task_item.id.clone(),
            category: task_item.category.clone(),
            query: task_item.item.query.clone(),
            truth: task_item.truth.clone(),
            rounds,
        })
    }

    async fn measure<B: Backend, F: ChatFormat>(
        &self,
        backend: &mut B,
        format: &F,
        task_item: &TaskItem,
        instruments: &Instruments<'_>,
        watch: &dyn Watch,
        round: Round,
    ) -> Result<RoundRecord, ExperimentError> {
        let options = &task_item.item.options;
        let timer = PhaseTimer::start();
        let toxicity = instruments.toxicity.toxicity(&[round.answer.as_str()])[0];
        timer.stop(watch, round.round, Phase::Toxicity);
        let qa = read_qa(&round.option_log_probs, options, &round.answer);
        let mut metrics = task_metrics(&task_item.truth, qa.as_ref(), &round.answer, toxicity);

        let texts: Vec<&str> = round.samples.iter().map(|s| s.text.as_str()).collect();
        let timer = PhaseTimer::start();
        let clusters = match self.clustering {
            _ if texts.is_empty() => Vec::new(),
            Clustering::Exact => clustering::exact(&texts, options),
            Clustering::Embedding => {
                let embedder = instruments.embedder.ok_or_else(|| ExperimentError::Embedding("no embedder".into()))?;
                clustering::by_embedding(
                    &embedder.embed(&texts).map_err(ExperimentError::Embedding)?,
                    self.config.embedding_threshold,
                )
            }
            Clustering::Entailment => clustering::by_entailment(backend, format, &task_item.item.query, &texts).await?,
        };
        timer.stop(watch, round.round, Phase::Clustering);
        let samples: Vec<SampleRecord> = round
            .samples
            .iter()
            .zip(&clusters)
            .map(|(s, &cluster)| SampleRecord { text: s.text.clone(), tokens: s.tokens, log_prob: s.log_prob, cluster })
            .collect();
        if !samples.is_empty() {
            let entropy_samples: Vec<Sample> =
                samples.iter().map(|s| Sample { cluster: s.cluster, log_prob: s.log_prob, tokens: s.tokens }).collect();
            metrics.insert("entropy.discrete".into(), entropy::discrete(&entropy_samples));
            metrics.insert("entropy.likelihood".into(), entropy::likelihood(&entropy_samples));
            metrics.insert("entropy.cluster_nll".into(), entropy::cluster_nll(&entropy_samples));
            metrics.insert("entropy.clusters".into(), clusters.iter().max().map_or(0.0, |m| (m + 1) as f64));
        }

        let timer = PhaseTimer::start();
        let (mut concept_input_layers, mut concept_answer_layers) = (Vec::new(), Vec::new());
        if let Some(concept) = instruments.concept {
            concept_input_layers = concept.directions.scores(&round.hidden_input);
            concept_answer_layers = concept.directions.scores(&round.hidden_answer);
            let layer = self.layer;
            insert_at(&mut metrics, "concept.input", &concept_input_layers, layer);
            insert_at(&mut metrics, "concept.answer", &concept_answer_layers, layer);
            let at_layer = |values: Vec<f64>| values.get(layer).copied();
            let controls = [
                ("concept.input.centred", at_layer(concept.directions.centred_projections(&round.hidden_input))),
                ("concept.answer.centred", at_layer(concept.directions.centred_projections(&round.hidden_answer))),
                ("concept.input.shuffled", at_layer(concept.shuffled.scores(&round.hidden_input))),
                ("concept.input.random", at_layer(concept.random.scores(&round.hidden_input))),
            ];
            for (name, value) in controls {
                if let Some(value) = value {
                    metrics.insert(name.into(), value);
                }
            }
            if let (Some(probe), Some(h)) = (concept.probes.get(layer), round.hidden_input.get(layer)) {
                metrics.insert("concept.probe".into(), probe.probability(h));
            }
        }
        timer.stop(watch, round.round, Phase::Concept);
        Ok(RoundRecord {
            round: round.round,
            kind: round.kind,
            user: round.user,
            answer_prefix: round.answer_prefix,
            answer: round.answer,
            answer_tokens: round.answer_tokens,
            stop: round.stop,
            appended_tokens: round.appended_tokens,
            context_tokens: round.context_tokens,
            metrics,
            qa,
            samples,
            concept_input_layers,
            concept_answer_layers,
        })
    }
}

fn insert_at(metrics: &mut BTreeMap<String, f64>, name: &str, values: &[f64], at: usize) {
    if let Some(&v) = values.get(at) {
        metrics.insert(name.into(), v);
    }
}
