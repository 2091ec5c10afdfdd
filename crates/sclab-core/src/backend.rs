//! The backend contract: a batch of sequences over a shared, forkable KV cache.
//!
//! `forward` is asynchronous because a WebGPU readback only completes when the browser's
//! event loop runs; the CPU backend returns ready futures and native callers drive them
//! with a small executor.

use serde::{Deserialize, Serialize};

/// A sequence held in a backend's KV cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeqId(pub u32);

/// Which appended positions a forward call returns logits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogitPositions {
    /// No logits (a pure prefill whose continuation is known).
    None,
    /// The last appended position: what decoding needs.
    #[default]
    Last,
    /// Every appended position: what scoring a continuation needs.
    All,
}

/// One sequence's part of a batched forward call.
#[derive(Debug, Clone)]
pub struct ForwardRequest {
    pub seq: SeqId,
    /// Token ids appended to the sequence's cache (at least one).
    pub tokens: Vec<u32>,
    pub logits: LogitPositions,
    /// Capture the last appended token's residual stream after every layer.
    pub hidden: bool,
}

impl ForwardRequest {
    pub fn decode(seq: SeqId, token: u32) -> Self {
        Self { seq, tokens: vec![token], logits: LogitPositions::Last, hidden: false }
    }
}

/// One sequence's result, in the order of the requests.
#[derive(Debug, Clone)]
pub struct ForwardOutput {
    pub seq: SeqId,
    /// Row-major `positions × vocab`: one row for `Last`, `tokens.len()` rows for `All`.
    pub logits: Vec<f32>,
    /// Per layer, the residual stream of the last appended token (`n_layers × hidden_size`).
    pub hidden: Option<Vec<Vec<f32>>>,
}

impl ForwardOutput {
    /// The logits row of appended position `i` (as returned, so 0 for `Last`).
    pub fn logits_row(&self, i: usize, vocab: usize) -> &[f32] {
        &self.logits[i * vocab..(i + 1) * vocab]
    }
}

/// A batch's new tokens laid out as rows, request after request: where each request ends, and
/// which rows go through the (large) output head — only those whose logits were asked for.
pub struct BatchRows {
    /// Per request, the row of its last new token.
    pub last: Vec<usize>,
    /// The rows whose logits were asked for, in request order.
    pub logits: Vec<usize>,
    /// Per request, its first entry in `logits`.
    first_logit: Vec<usize>,
}

impl BatchRows {
    pub fn of(batch: &[ForwardRequest]) -> Self {
        let (mut last, mut logits, mut first_logit) = (Vec::new(), Vec::new(), Vec::new());
        let mut start = 0;
        for req in batch {
            let end = start + req.tokens.len();
            last.push(end - 1);
            first_logit.push(logits.len());
            match req.logits {
                LogitPositions::None => {}
                LogitPositions::Last => logits.push(end - 1),
                LogitPositions::All => logits.extend(start..end),
            }
            start = end;
        }
        Self { last, logits, first_logit }
    }

    /// Request `r`'s logits out of the output head's result for `self.logits` (row-major, `vocab` wide).
    pub fn logits_of(&self, r: usize, head: &[f32], vocab: usize) -> Vec<f32> {
        let end = self.first_logit.get(r + 1).copied().unwrap_or(self.logits.len());
        head[self.first_logit[r] * vocab..end * vocab].to_vec()
    }
}

/// What a loaded model looks like from the outside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub architecture: String,
    pub n_layers: usize,
    pub hidden_size: usize,
    pub vocab_size: usize,
    pub context_length: usize,
    /// Tokens that end an assistant turn.
    pub stop_tokens: Vec<u32>,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum BackendError {
    #[error("unknown sequence {0:?} (freed or never created)")]
    UnknownSequence(SeqId),
    #[error("sequence {seq:?} would hold {needed} tokens but the model's context is {limit}")]
    ContextOverflow { seq: SeqId, needed: usize, limit: usize },
    #[error("cannot roll sequence {seq:?} back to {to} tokens: it holds {len}")]
    InvalidRollback { seq: SeqId, to: usize, len: usize },
    #[error("token id {token} is outside the vocabulary of {vocab}")]
    InvalidToken { token: u32, vocab: usize },
    #[error("a forward request for {0:?} appends no tokens")]
    EmptyRequest(SeqId),
    #[error("sequence {0:?} appears twice in one forward call")]
    DuplicateSequence(SeqId),
    #[error("backend failure: {0}")]
    Device(String),
    /// The GPU went away (driver reset, tab in the background too long, `destroy()`): nothing
    /// on this backend can run again, but another backend can take over.
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
}

/// A language model behind a KV cache of sequences.
///
/// Fork, rollback and free are cache operations, never model calls.
#[allow(async_fn_in_trait)] // futures stay on one thread: the browser has no other
pub trait Backend {
    fn info(&self) -> &ModelInfo;
    /// An empty sequence.
    fn new_sequence(&mut self) -> SeqId;
    /// A new sequence sharing `seq`'s cached prefix; appending to either leaves the other unchanged.
    fn fork(&mut self, seq: SeqId) -> Result<SeqId, BackendError>;
    /// Drop every cached position from `len` on.
    fn rollback(&mut self, seq: SeqId, len: usize) -> Result<(), BackendError>;
    fn free(&mut self, seq: SeqId);
    /// Number of positions cached for `seq`.
    fn seq_len(&self, seq: SeqId) -> Result<usize, BackendError>;
    /// Append each request's tokens to its sequence and return what it asked for.
    async fn forward(&mut self, batch: &[ForwardRequest]) -> Result<Vec<ForwardOutput>, BackendError>;
}

/// The checks every backend makes before a forward call: known, distinct sequences, at least
/// one token each, token ids inside the vocabulary, and room left in the context.
pub fn check_batch(
    info: &ModelInfo,
    batch: &[ForwardRequest],
    seq_len: impl Fn(SeqId) -> Result<usize, BackendError>,
) -> Result<(), BackendError> {
    let mut seen = std::collections::HashSet::new();
    for req in batch {
        let len = seq_len(req.seq)?;
        if !seen.insert(req.seq) {
            return Err(BackendError::DuplicateSequence(req.seq));
        }
        if req.tokens.is_empty() {
            return Err(BackendError::EmptyRequest(req.seq));
        }
        if let Some(&token) = req.tokens.iter().find(|&&t| t as usize >= info.vocab_size) {
            return Err(BackendError::InvalidToken { token, vocab: info.vocab_size });
        }
        let needed = len + req.tokens.len();
        if needed > info.context_length {
            return Err(BackendError::ContextOverflow { seq: req.seq, needed, limit: info.context_length });
        }
    }
    Ok(())
}
