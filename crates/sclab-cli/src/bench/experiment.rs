//! `sclab bench --experiment`: one `rtp` item × 10 rounds × K = 5 run the lab's way (each round
//! appends its turn to the cached conversation; the K samples fork from it and decode as one
//! batch) against the naive way (every answer and every sample re-prefills the whole history
//! and decodes alone), on the same model in the same process.

use std::time::Instant;

use sclab_core::experiment::{Experiment, ExperimentConfig};
use sclab_core::protocol::{run_item, ChatFormat, Item, PhaseTally, ProtocolConfig, Turn};
use sclab_core::tasks::{TaskId, TaskItem};
use sclab_core::{generate, Backend, ForwardRequest, GenerateParams, LogitPositions, SamplingParams};
use sclab_model::ChatCodec;
use serde::Serialize;

use crate::lab::{dataset_rows, Lab};
use crate::model_choice::ModelArgs;

#[derive(Serialize)]
pub struct ExperimentBench {
    pub machine: String,
    pub date: String,
    pub item: String,
    pub rounds: usize,
    pub samples: usize,
    /// The lab's protocol alone.
    pub protocol_s: f64,
    /// The same with every measurement (toxicity, embeddings, concept scores) as `sclab run` does.
    pub end_to_end_s: f64,
    /// Where the end-to-end seconds went, phase by phase (`Phase::name`).
    pub phases: Vec<(&'static str, f64)>,
    pub naive_s: f64,
    pub speedup: f64,
    pub protocol_prefill_tokens: usize,
    pub naive_prefill_tokens: usize,
}

/// The benchmark's experiment: the paper's setting for one `rtp` item, 10 rounds, K = 5.
pub fn config() -> ExperimentConfig {
    ExperimentConfig { rounds: 10, samples: 5, limit: Some(1), ..ExperimentConfig::for_task(TaskId::Rtp) }
}

/// The benchmark's item, its instruments, and a run of the whole experiment on it.
pub struct Bench {
    lab: Lab,
    pub config: ExperimentConfig,
    pub item: TaskItem,
}

impl Bench {
    /// Open the model and the instruments and run one round of the experiment, every
    /// measurement included, untimed: caches, thread pools and instruments start warm.
    pub fn open(model: &ModelArgs) -> anyhow::Result<Bench> {
        let mut lab = Lab::open(model)?;
        let config = config();
        let item = config.items(&dataset_rows(&lab.cache)?).map_err(anyhow::Error::msg)?.remove(0);
        lab.concept(config.concept(), &config.concept_prefix())?;
        lab.load_embedder()?;
        let mut bench = Bench { lab, config, item };
        bench.run(1)?;
        Ok(bench)
    }

    /// The model file's sha256.
    pub fn model_sha256(&self) -> &str {
        &self.lab.session.model_sha256
    }

    /// The item with every measurement, as `sclab run` does it: seconds, and the seconds of each
    /// phase (`Phase::name`).
    pub fn end_to_end(&mut self) -> anyhow::Result<(f64, Vec<(&'static str, f64)>)> {
        self.run(self.config.rounds)
    }

    fn run(&mut self, rounds: usize) -> anyhow::Result<(f64, Vec<(&'static str, f64)>)> {
        let session = &mut self.lab.session;
        let config = ExperimentConfig { rounds, ..self.config.clone() };
        let experiment = Experiment::new(config, session.backend.info().n_layers)?;
        let tally = PhaseTally::default();
        let started = Instant::now();
        pollster::block_on(session.run_item(&experiment, &self.item, &tally, &mut |_| {}, &mut |_, _| {}))?;
        let seconds = started.elapsed().as_secs_f64();
        Ok((seconds, tally.take().into_iter().map(|(phase, s)| (phase.name(), s)).collect()))
    }
}

pub fn measure(model: &ModelArgs) -> anyhow::Result<ExperimentBench> {
    let mut bench = Bench::open(model)?;
    let protocol = bench.config.protocol();
    let session = &mut bench.lab.session;
    let codec = ChatCodec { tokenizer: &session.tokenizer, template: &session.template };

    let started = Instant::now();
    let rounds = pollster::block_on(run_item(&mut session.backend, &codec, &protocol, &bench.item.item, &|| false))?;
    let protocol_s = started.elapsed().as_secs_f64();
    let protocol_prefill_tokens = rounds.iter().map(|r| r.appended_tokens).sum();

    let started = Instant::now();
    let naive_prefill_tokens =
        pollster::block_on(naive_item(&mut session.backend, &codec, &protocol, &bench.item.item))?;
    let naive_s = started.elapsed().as_secs_f64();

    let (end_to_end_s, phases) = bench.end_to_end()?;
    Ok(ExperimentBench {
        machine: super::machine_name(),
        date: super::today(),
        item: bench.item.id.clone(),
        rounds: protocol.rounds,
        samples: protocol.samples,
        protocol_s,
        end_to_end_s,
        phases,
        naive_s,
        speedup: naive_s / protocol_s,
        protocol_prefill_tokens,
        naive_prefill_tokens,
    })
}

/// The rounds done without cache reuse or batching: every greedy answer and every sample
/// prefills the whole conversation on a fresh sequence and decodes alone. Returns the tokens
/// prefilled.
async fn naive_item<B: Backend, F: ChatFormat>(
    backend: &mut B,
    format: &F,
    config: &ProtocolConfig,
    item: &Item,
) -> anyhow::Result<usize> {
    let mut conversation: Vec<u32> = Vec::new();
    let mut history: Vec<(String, String)> = Vec::new();
    let mut prefilled = 0;
    for r in 1..=config.rounds {
        let turn = Turn::of(config, item, r);
        let input = if r == 1 {
            format.open(&turn.user, &turn.prefix)?
        } else {
            format.next(&history, &turn.user, &turn.prefix)?
        };
        conversation.extend(&input);
        let sampling = SamplingParams { temperature: config.sample_temperature, top_k: 0, top_p: config.sample_top_p };
        for k in 0..config.samples {
            let stream = (r * config.samples + k) as u64;
            let params =
                GenerateParams { sampling, max_tokens: config.max_tokens, seed: config.seed, first_stream: stream };
            generate_alone(backend, &conversation, &params).await?;
            prefilled += conversation.len();
        }
        let greedy = GenerateParams {
            sampling: SamplingParams::GREEDY,
            max_tokens: config.max_tokens,
            seed: config.seed,
            first_stream: 0,
        };
        let answer = generate_alone(backend, &conversation, &greedy).await?;
        prefilled += conversation.len();
        conversation.extend(&answer);
        history.push((turn.user, format!("{}{}", turn.prefix, format.decode(&answer)?)));
    }
    Ok(prefilled)
}

async fn generate_alone<B: Backend>(
    backend: &mut B,
    tokens: &[u32],
    params: &GenerateParams,
) -> anyhow::Result<Vec<u32>> {
    let seq = backend.new_sequence();
    let request = ForwardRequest { seq, tokens: tokens.to_vec(), logits: LogitPositions::Last, hidden: false };
    let result = async {
        let logits = backend.forward(&[request]).await?.remove(0).logits;
        Ok::<_, anyhow::Error>(generate(backend, &[seq], vec![logits], params, |_, _| true).await?.remove(0).tokens)
    }
    .await;
    backend.free(seq);
    result
}

pub fn markdown(b: &ExperimentBench) -> String {
    format!(
        "## {} — {} — experiment\n\n`sclab bench --experiment`: one `rtp` item ({}) × {} rounds × K = {} samples.\n\n\
| way | seconds | tokens prefilled |\n|---|---|---|\n\
| lab protocol (cached history, K samples forked and batched) | {:.2} | {} |\n\
| the same, with every measurement (`sclab run`) | {:.2} | |\n\
| naive (history re-prefilled, samples one by one) | {:.2} | {} |\n\n\
The lab's protocol is **{:.2}×** faster than the naive way. Where the end-to-end seconds went:\n\n\
| phase | seconds |\n|---|---|\n{}",
        b.date,
        b.machine,
        b.item,
        b.rounds,
        b.samples,
        b.protocol_s,
        b.protocol_prefill_tokens,
        b.end_to_end_s,
        b.naive_s,
        b.naive_prefill_tokens,
        b.speedup,
        b.phases.iter().map(|(phase, s)| format!("| {phase} | {s:.2} |\n")).collect::<String>()
    )
}
