//! Scoring a continuation: how likely the model finds given tokens after a given context.
//! Option scoring and sequence likelihoods for semantic entropy are built on this.

use crate::backend::{Backend, BackendError, ForwardRequest, LogitPositions, SeqId};
use crate::logits::log_prob;

/// Log-probability of each token of `continuation` after the context cached in `context`,
/// whose last position's logits are `context_logits`. The context is left as it was: the
/// continuation is appended to a fork, which is freed.
pub async fn score_continuation<B: Backend>(
    backend: &mut B,
    context: SeqId,
    context_logits: &[f32],
    continuation: &[u32],
) -> Result<Vec<f32>, BackendError> {
    let Some((&first, rest)) = continuation.split_first() else {
        return Ok(Vec::new());
    };
    let mut scores = vec![log_prob(context_logits, first)];
    if rest.is_empty() {
        return Ok(scores);
    }
    let fork = backend.fork(context)?;
    // Position i's logits predict token i + 1; the last token's prediction is not needed.
    let request = ForwardRequest {
        seq: fork,
        tokens: continuation[..continuation.len() - 1].to_vec(),
        logits: LogitPositions::All,
        hidden: false,
    };
    let result = backend.forward(&[request]).await;
    backend.free(fork);
    let output = result?.remove(0);
    let vocab = backend.info().vocab_size;
    scores.extend(rest.iter().enumerate().map(|(i, &token)| log_prob(output.logits_row(i, vocab), token)));
    Ok(scores)
}
