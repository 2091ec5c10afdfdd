//! Grouping a round's K samples into meaning clusters for semantic entropy (docs/METHODS.md,
//! "Semantic entropy"): exact match of the chosen option or the normalised text, embedding
//! cosine, or bidirectional entailment judged by the lab's own model.

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, ForwardRequest, LogitPositions};
use crate::metrics::concept::cosine;
use crate::protocol::{ChatFormat, ProtocolError};
use crate::tasks::scoring::read_choice;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clustering {
    /// Same option (QA) or the same text after normalisation.
    Exact,
    /// Sentence-embedding cosine at or above the threshold.
    Embedding,
    /// The model judges that each answer entails the other.
    Entailment,
}

/// Produces sentence embeddings (the engine's MiniLM).
pub trait SentenceEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String>;
}

/// Cluster ids (0, 1, … in order of first appearance) where `same(i, j)` joins sample `i` to the
/// cluster whose first member is `j`.
fn greedy(n: usize, mut same: impl FnMut(usize, usize) -> bool) -> Vec<usize> {
    let mut representatives: Vec<usize> = Vec::new();
    let mut clusters = Vec::with_capacity(n);
    for i in 0..n {
        match representatives.iter().position(|&r| same(i, r)) {
            Some(c) => clusters.push(c),
            None => {
                clusters.push(representatives.len());
                representatives.push(i);
            }
        }
    }
    clusters
}

/// QA samples cluster by the option they name (read as the answer is), other text by its
/// normalised form.
pub fn exact(texts: &[&str], options: &[String]) -> Vec<usize> {
    let key = |t: &str| match read_choice(t, options) {
        Some(choice) => format!("({choice})"),
        None => normalise(t),
    };
    let keys: Vec<String> = texts.iter().map(|t| key(t)).collect();
    greedy(texts.len(), |i, j| keys[i] == keys[j])
}

fn normalise(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.join(" ").trim_end_matches(['.', '!', '?', ',', ';', ':']).to_lowercase()
}

pub fn by_embedding(embeddings: &[Vec<f32>], threshold: f32) -> Vec<usize> {
    greedy(embeddings.len(), |i, j| cosine(&embeddings[i], &embeddings[j]) >= threshold as f64)
}

/// The question an entailment judgement is asked under, shortened so that the judge's prompts stay small.
const MAX_CONTEXT_CHARS: usize = 600;

/// Cluster by bidirectional entailment: every ordered pair is judged in one batched forward
/// pass (each on a fresh sequence), then the greedy rule joins mutual entailments.
pub async fn by_entailment<B: Backend, F: ChatFormat>(
    backend: &mut B,
    format: &F,
    question: &str,
    texts: &[&str],
) -> Result<Vec<usize>, ProtocolError> {
    let n = texts.len();
    let yes = first_tokens(format, &["Yes", "yes", " Yes", " yes"])?;
    let no = first_tokens(format, &["No", "no", " No", " no"])?;
    let question: String = question.chars().take(MAX_CONTEXT_CHARS).collect();
    let pairs: Vec<(usize, usize)> = (0..n).flat_map(|i| (0..n).map(move |j| (i, j))).filter(|(i, j)| i != j).collect();
    let mut requests = Vec::with_capacity(pairs.len());
    for &(i, j) in &pairs {
        let prompt = format!(
            "We are evaluating answers to the question: {question}\nHere are two possible answers:\n\
Possible Answer 1: {}\nPossible Answer 2: {}\nDoes Possible Answer 1 semantically entail Possible Answer 2? \
Respond with yes or no.",
            texts[i].trim(),
            texts[j].trim()
        );
        let tokens = format.open(&prompt, "")?;
        requests.push(ForwardRequest {
            seq: backend.new_sequence(),
            tokens,
            logits: LogitPositions::Last,
            hidden: false,
        });
    }
    let seqs: Vec<_> = requests.iter().map(|r| r.seq).collect();
    let result = if requests.is_empty() { Ok(Vec::new()) } else { backend.forward(&requests).await };
    for seq in seqs {
        backend.free(seq);
    }
    let vocab = backend.info().vocab_size;
    let mut entails = vec![vec![true; n]; n];
    for (out, &(i, j)) in result?.iter().zip(&pairs) {
        let logits = out.logits_row(0, vocab);
        let best = |ids: &[u32]| ids.iter().map(|&t| logits[t as usize]).fold(f32::NEG_INFINITY, f32::max);
        entails[i][j] = best(&yes) > best(&no);
    }
    Ok(greedy(n, |i, j| entails[i][j] && entails[j][i]))
}

fn first_tokens<F: ChatFormat>(format: &F, words: &[&str]) -> Result<Vec<u32>, ProtocolError> {
    let mut ids: Vec<u32> = Vec::new();
    for word in words {
        if let Some(&t) = format.encode(word)?.first() {
            ids.push(t);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_uses_the_option_or_the_normalised_text() {
        let options = [" (a) yes".to_owned(), " (b) no".to_owned()];
        assert_eq!(exact(&["(a) yes", " (A) sure", "B.", "no", "maybe"], &options), vec![0, 0, 1, 1, 2]);
        assert_eq!(exact(&["The cat sat.", "the  cat sat", "A dog."], &[]), vec![0, 0, 1]);
    }

    #[test]
    fn embedding_clusters_join_the_first_close_representative() {
        let e = vec![vec![1.0, 0.0], vec![0.96, 0.28], vec![0.0, 1.0], vec![0.6, 0.8]];
        // cos(e1, e0) = 0.96, cos(e3, e0) = 0.6, cos(e3, e2) = 0.8.
        assert_eq!(by_embedding(&e, 0.9), vec![0, 0, 1, 2]);
        assert_eq!(by_embedding(&e, 0.75), vec![0, 0, 1, 1]);
        assert_eq!(by_embedding(&e, 0.5), vec![0, 0, 1, 0]);
    }
}
