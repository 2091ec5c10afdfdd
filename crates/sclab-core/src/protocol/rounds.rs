use serde::{Deserialize, Serialize};

use super::{ChatFormat, OptionScoring, Phase, PhaseTimer, ProtocolConfig, ProtocolError, Stream, Watch};
use crate::backend::{Backend, ForwardRequest, LogitPositions, SeqId};
use crate::generate::{generate, GenerateParams, StopReason};
use crate::sampling::SamplingParams;
use crate::scoring::score_continuation;

/// One task item as the protocol sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The query the instructions are about (a question with its options, a prompt to complete).
    pub query: String,
    /// The QA options as the model would write them after the round input (label and text,
    /// " (a) Cannot answer"), in order; empty for free text.
    pub options: Vec<String>,
    /// Each option's label alone (" (a)"): what label scoring scores.
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundKind {
    /// Round 0: the query alone, in a conversation of its own.
    Baseline,
    /// Round 1: the query with the moral instruction.
    Moral,
    /// A round whose instruction was replaced by the immoral one.
    Immoral,
    /// Rounds 2..T: the review instruction.
    Review,
    /// A later round that asks the query with the moral instruction again.
    Reasked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampledAnswer {
    pub text: String,
    pub tokens: usize,
    /// Total log-probability of the sampled tokens under the model.
    pub log_prob: f64,
}

/// Everything one round produced, before any metric is computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    pub round: usize,
    pub kind: RoundKind,
    pub user: String,
    pub answer_prefix: String,
    /// The greedy answer after the prefix.
    pub answer: String,
    pub answer_tokens: usize,
    pub stop: StopReason,
    /// Tokens this round appended to the cache before answering: its new turn only.
    pub appended_tokens: usize,
    /// Cache length when the answer starts: the whole conversation so far.
    pub context_tokens: usize,
    pub samples: Vec<SampledAnswer>,
    /// Each option's score after the round input: the mean token log-probability of its label
    /// (label scoring) or the summed log-probability of its whole text (text scoring).
    pub option_log_probs: Vec<f64>,
    /// Last-token residual stream per layer of the round input, before the answer.
    pub hidden_input: Vec<Vec<f32>>,
    /// The same for the answer's last token.
    pub hidden_answer: Vec<Vec<f32>>,
}

/// Run every round of `item`; `watch` sees every token and may cancel between them.
pub async fn run_item<B: Backend, F: ChatFormat>(
    backend: &mut B,
    format: &F,
    config: &ProtocolConfig,
    item: &Item,
    watch: &dyn Watch,
) -> Result<Vec<Round>, ProtocolError> {
    let mut run = ItemRun::new(config, item)?;
    let mut rounds = Vec::with_capacity(config.rounds + 1);
    let result = async {
        while !run.is_done() {
            rounds.push(run.next_round(backend, format, watch).await?);
        }
        Ok::<_, ProtocolError>(())
    }
    .await;
    run.close(backend);
    result.map(|_| rounds)
}

/// One item's rounds, taken one at a time so that a caller can measure and report each round
/// (with the backend in hand) before the next begins. `close` frees the conversation's cache.
pub struct ItemRun<'a> {
    config: &'a ProtocolConfig,
    item: &'a Item,
    /// The round `next_round` runs.
    next: usize,
    conversation: Option<SeqId>,
    history: Vec<(String, String)>,
    /// Every token of the conversation's finished rounds, as its sequence caches them.
    finished_tokens: Vec<u32>,
}

/// Whether a run may continue after `error` on another backend (the device is gone).
pub fn is_device_lost(error: &ProtocolError) -> bool {
    matches!(error, ProtocolError::Backend(crate::BackendError::DeviceLost(_)))
}

impl<'a> ItemRun<'a> {
    pub fn new(config: &'a ProtocolConfig, item: &'a Item) -> Result<Self, ProtocolError> {
        config.validate()?;
        let next = if config.baseline { 0 } else { 1 };
        Ok(Self { config, item, next, conversation: None, history: Vec::new(), finished_tokens: Vec::new() })
    }

    pub fn is_done(&self) -> bool {
        self.next > self.config.rounds
    }

    pub async fn next_round<B: Backend, F: ChatFormat>(
        &mut self,
        backend: &mut B,
        format: &F,
        watch: &dyn Watch,
    ) -> Result<Round, ProtocolError> {
        let (config, item, r) = (self.config, self.item, self.next);
        if self.is_done() {
            return Err(ProtocolError::Config(format!("the item has only {} rounds", config.rounds)));
        }
        let ins = &config.instructions;
        if r == 0 {
            let user = ins.baseline.as_deref().map_or_else(|| item.query.clone(), |b| compose(&item.query, b));
            let seq = backend.new_sequence();
            let turn = Turn { round: 0, kind: RoundKind::Baseline, user, prefix: ins.first_answer_prefix.clone() };
            let result = match format.open(&turn.user, &turn.prefix) {
                Ok(input) => answer(backend, format, config, item, seq, input, turn, watch).await,
                Err(e) => Err(e),
            };
            backend.free(seq);
            self.next = 1;
            return result.map(|(round, _, _)| round);
        }
        let turn = Turn::of(config, item, r);
        let input = if r == 1 {
            format.open(&turn.user, &turn.prefix)?
        } else {
            format.next(&self.history, &turn.user, &turn.prefix)?
        };
        let seq = match self.conversation {
            Some(seq) => seq,
            None => {
                let seq = backend.new_sequence();
                self.conversation = Some(seq);
                if !self.finished_tokens.is_empty() {
                    let timer = PhaseTimer::start();
                    let tokens = self.finished_tokens.clone();
                    let replay = ForwardRequest { seq, tokens, logits: LogitPositions::None, hidden: false };
                    backend.forward(&[replay]).await?;
                    timer.stop(watch, r, Phase::Prefill);
                }
                seq
            }
        };
        let user = turn.user.clone();
        let (round, full_answer, cached) = answer(backend, format, config, item, seq, input, turn, watch).await?;
        self.history.push((user, full_answer));
        self.finished_tokens.extend(cached);
        self.next += 1;
        Ok(round)
    }

    /// Let go of the conversation's sequence, whose backend is gone (a lost device); the next
    /// round replays the finished rounds' tokens into a new sequence of whichever backend runs it.
    pub fn detach<B: Backend>(&mut self, backend: &mut B) {
        if let Some(seq) = self.conversation.take() {
            backend.free(seq);
        }
    }

    /// Free the conversation's cache; the run cannot continue after this.
    pub fn close<B: Backend>(&mut self, backend: &mut B) {
        if let Some(seq) = self.conversation.take() {
            backend.free(seq);
        }
        self.next = self.config.rounds + 1;
    }
}

/// Where an instruction template puts the query; without it the instruction follows the query.
pub const QUERY: &str = "{query}";

fn compose(query: &str, instruction: &str) -> String {
    if instruction.contains(QUERY) {
        instruction.replace(QUERY, query)
    } else {
        format!("{query}\n\n{instruction}")
    }
}

/// What round `round` (≥ 1) of the conversation says: its kind, its user turn, its answer prefix.
pub struct Turn {
    pub round: usize,
    pub kind: RoundKind,
    pub user: String,
    pub prefix: String,
}

impl Turn {
    pub fn of(config: &ProtocolConfig, item: &Item, round: usize) -> Turn {
        let ins = &config.instructions;
        let reasked = config.reask_rounds.contains(&round);
        let (kind, instruction) = if config.immoral_rounds.applies_to(round) {
            (RoundKind::Immoral, ins.immoral.as_deref().unwrap_or_default())
        } else if round == 1 {
            (RoundKind::Moral, ins.moral.as_str())
        } else if reasked {
            (RoundKind::Reasked, ins.moral.as_str())
        } else {
            (RoundKind::Review, ins.review.as_str())
        };
        // Round 1 and a re-asked round carry the query; a later instruction only where its
        // template places it.
        let user = if round == 1 || reasked || instruction.contains(QUERY) {
            compose(&item.query, instruction)
        } else {
            instruction.to_owned()
        };
        let prefix = if round == 1 || reasked { &ins.first_answer_prefix } else { &ins.review_answer_prefix };
        Turn { round, kind, user, prefix: prefix.clone() }
    }
}

/// Append the round input, sample, score the options and answer greedily; on return every
/// answer token is in the cache. Returns the round, the assistant's full answer text and the
/// tokens the round added to the cache.
#[allow(clippy::too_many_arguments)]
async fn answer<B: Backend, F: ChatFormat>(
    backend: &mut B,
    format: &F,
    config: &ProtocolConfig,
    item: &Item,
    seq: SeqId,
    input: Vec<u32>,
    turn: Turn,
    watch: &dyn Watch,
) -> Result<(Round, String, Vec<u32>), ProtocolError> {
    let r = turn.round;
    let appended_tokens = input.len();
    let mut cached = input.clone();
    let timer = PhaseTimer::start();
    let request = ForwardRequest { seq, tokens: input, logits: LogitPositions::Last, hidden: true };
    let out = backend.forward(&[request]).await?.remove(0);
    let (logits, hidden_input) = (out.logits, out.hidden.unwrap_or_default());
    let context_tokens = backend.seq_len(seq)?;
    timer.stop(watch, r, Phase::Prefill);

    let timer = PhaseTimer::start();
    let samples = sample(backend, format, config, seq, &logits, r, watch).await?;
    timer.stop(watch, r, Phase::Samples);

    let timer = PhaseTimer::start();
    let scored = match config.option_scoring {
        OptionScoring::Label => &item.labels,
        OptionScoring::Text => &item.options,
    };
    let mut option_log_probs = Vec::with_capacity(scored.len());
    for continuation in scored {
        let scores = score_continuation(backend, seq, &logits, &format.encode(continuation)?).await?;
        let total: f64 = scores.iter().map(|&s| s as f64).sum();
        option_log_probs.push(match config.option_scoring {
            OptionScoring::Label => total / scores.len().max(1) as f64,
            OptionScoring::Text => total,
        });
    }
    timer.stop(watch, r, Phase::OptionScores);

    let timer = PhaseTimer::start();
    let greedy = GenerateParams {
        sampling: SamplingParams::GREEDY,
        max_tokens: config.max_tokens,
        seed: config.seed,
        first_stream: 0,
    };
    let generated =
        generate(backend, &[seq], vec![logits], &greedy, |_, t| watch.token(r, Stream::Answer, t)).await?.remove(0);
    if generated.stop == StopReason::Cancelled {
        return Err(ProtocolError::Cancelled);
    }
    // The answer's last token goes through the model once more with its hidden state captured:
    // either it was never fed back (a length stop), or it is rolled back and fed again.
    let hidden_answer = match generated.tokens.last() {
        None => hidden_input.clone(),
        Some(&last) => {
            let len = backend.seq_len(seq)?;
            let uncached = generated.tokens.len() - generated.cached;
            backend.rollback(seq, len + uncached - 1)?;
            let request = ForwardRequest { seq, tokens: vec![last], logits: LogitPositions::None, hidden: true };
            backend.forward(&[request]).await?.remove(0).hidden.unwrap_or_default()
        }
    };
    timer.stop(watch, r, Phase::Answer);
    cached.extend(&generated.tokens);
    let answer = format.decode(&generated.tokens)?;
    let full_answer = format!("{}{answer}", turn.prefix);
    let round = Round {
        round: turn.round,
        kind: turn.kind,
        user: turn.user,
        answer_prefix: turn.prefix,
        answer,
        answer_tokens: generated.tokens.len(),
        stop: generated.stop,
        appended_tokens,
        context_tokens,
        samples,
        option_log_probs,
        hidden_input,
        hidden_answer,
    };
    Ok((round, full_answer, cached))
}

/// K samples forked from the round input and decoded as one batch; each round draws from its
/// own RNG streams.
async fn sample<B: Backend, F: ChatFormat>(
    backend: &mut B,
    format: &F,
    config: &ProtocolConfig,
    seq: SeqId,
    logits: &[f32],
    round: usize,
    watch: &dyn Watch,
) -> Result<Vec<SampledAnswer>, ProtocolError> {
    let k = config.samples;
    if k == 0 {
        return Ok(Vec::new());
    }
    let forks: Vec<SeqId> = (0..k).map(|_| backend.fork(seq)).collect::<Result<_, _>>()?;
    let params = GenerateParams {
        sampling: SamplingParams { temperature: config.sample_temperature, top_k: 0, top_p: config.sample_top_p },
        max_tokens: config.max_tokens,
        seed: config.seed,
        first_stream: (round * k) as u64,
    };
    let result =
        generate(backend, &forks, vec![logits.to_vec(); k], &params, |i, t| watch.token(round, Stream::Sample(i), t))
            .await;
    for fork in &forks {
        backend.free(*fork);
    }
    let generated = result?;
    if generated.iter().any(|g| g.stop == StopReason::Cancelled) {
        return Err(ProtocolError::Cancelled);
    }
    generated
        .into_iter()
        .map(|g| {
            Ok(SampledAnswer {
                text: format.decode(&g.tokens)?,
                tokens: g.tokens.len(),
                log_prob: g.log_probs.iter().map(|&l| l as f64).sum(),
            })
        })
        .collect()
}
