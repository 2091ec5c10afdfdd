//! The decoding loop shared by every front end: K sequences advance in one batched forward
//! call per step, each with its own seeded sampler.

use crate::backend::{Backend, BackendError, ForwardRequest, SeqId};
use crate::sampling::{Sampler, SamplingParams};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerateParams {
    pub sampling: SamplingParams,
    pub max_tokens: usize,
    pub seed: u64,
    /// Sequence `i` of a call draws from RNG stream `first_stream + i`.
    pub first_stream: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model ended its turn; the stop token is not in `tokens` nor in the cache.
    StopToken(u32),
    MaxTokens,
    ContextFull,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub tokens: Vec<u32>,
    /// Log-probability of each token in `tokens` under the model (temperature 1).
    pub log_probs: Vec<f32>,
    pub stop: StopReason,
    /// How many of `tokens` were appended to the sequence's cache: all of them after a stop
    /// token, all but the last otherwise (the last was sampled but never fed back).
    pub cached: usize,
}

/// Continue each sequence of `seqs` from `first_logits`, the logits of its last cached position.
///
/// `on_token(i, token)` is called for every token kept for sequence `i`, between decoding steps;
/// returning `false` cancels every sequence still running (finished tokens stay).
pub async fn generate<B: Backend>(
    backend: &mut B,
    seqs: &[SeqId],
    first_logits: Vec<Vec<f32>>,
    params: &GenerateParams,
    mut on_token: impl FnMut(usize, u32) -> bool,
) -> Result<Vec<Generated>, BackendError> {
    assert_eq!(seqs.len(), first_logits.len(), "one logits row per sequence");
    let info = backend.info().clone();
    let mut samplers: Vec<Sampler> =
        (0..seqs.len()).map(|i| Sampler::new(params.sampling, params.seed, params.first_stream + i as u64)).collect();
    let mut out: Vec<Generated> = seqs
        .iter()
        .map(|_| Generated { tokens: Vec::new(), log_probs: Vec::new(), stop: StopReason::MaxTokens, cached: 0 })
        .collect();
    let mut logits = first_logits;
    let mut running: Vec<usize> = (0..seqs.len()).collect();
    let mut cancelled = false;

    while !running.is_empty() {
        let mut batch = Vec::with_capacity(running.len());
        let mut still = Vec::with_capacity(running.len());
        for &i in &running {
            let (token, lp) = samplers[i].sample(&logits[i]);
            let gen = &mut out[i];
            if info.stop_tokens.contains(&token) {
                gen.stop = StopReason::StopToken(token);
                continue;
            }
            gen.tokens.push(token);
            gen.log_probs.push(lp);
            if !on_token(i, token) {
                cancelled = true;
            }
            if gen.tokens.len() >= params.max_tokens {
                gen.stop = StopReason::MaxTokens;
                continue;
            }
            if backend.seq_len(seqs[i])? + 1 > info.context_length {
                gen.stop = StopReason::ContextFull;
                continue;
            }
            batch.push(ForwardRequest::decode(seqs[i], token));
            still.push(i);
        }
        if cancelled {
            for &i in &still {
                out[i].stop = StopReason::Cancelled;
            }
            break;
        }
        if batch.is_empty() {
            break;
        }
        let outputs = backend.forward(&batch).await?;
        for (&i, output) in still.iter().zip(outputs) {
            logits[i] = output.logits;
            out[i].cached = out[i].tokens.len();
        }
        running = still;
    }
    Ok(out)
}
