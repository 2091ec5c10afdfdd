//! The toxicity classifier of the `toxic-comment-classifier` package, re-implemented:
//! Keras tokenizer → Embedding(20000×50) → BiLSTM(50) → global max-pool → Dense(50, relu)
//! → Dense(6, sigmoid). Weights come from the asset step as safetensors.

use std::collections::HashMap;
use std::path::Path;

use safetensors::SafeTensors;

use crate::error::{EngineError, Result};

pub const LABELS: [&str; 6] = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"];
const MAX_LEN: usize = 100;
const VOCAB_LIMIT: u32 = 20_000;
/// Characters the Keras tokenizer turns into separators.
const FILTERS: &str = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

pub const WEIGHTS_FILE: &str = "toxicity.safetensors";
pub const VOCAB_FILE: &str = "toxicity_vocab.json";

struct Lstm {
    /// `input × 4·units`, gate order i, f, g, o.
    kernel: Vec<f32>,
    recurrent: Vec<f32>,
    bias: Vec<f32>,
}

struct Dense {
    kernel: Vec<f32>,
    bias: Vec<f32>,
    outputs: usize,
}

pub struct ToxicityClassifier {
    vocab: HashMap<String, u32>,
    embedding: Vec<f32>,
    embed_dim: usize,
    units: usize,
    forward: Lstm,
    backward: Lstm,
    hidden: Dense,
    output: Dense,
}

/// The six label probabilities of one text, in the order of [`LABELS`].
pub type LabelScores = [f32; 6];

impl ToxicityClassifier {
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|source| EngineError::Io { path: dir.join(name), source })
        };
        Self::from_bytes(&read(WEIGHTS_FILE)?, &read(VOCAB_FILE)?)
    }

    /// From the contents of [`WEIGHTS_FILE`] and [`VOCAB_FILE`] (the browser has no folder).
    pub fn from_bytes(weights: &[u8], vocab: &[u8]) -> Result<Self> {
        let vocab: HashMap<String, u32> =
            serde_json::from_slice(vocab).map_err(|e| EngineError::Classifier(format!("{VOCAB_FILE}: {e}")))?;
        let st =
            SafeTensors::deserialize(weights).map_err(|e| EngineError::Classifier(format!("{WEIGHTS_FILE}: {e}")))?;
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
            let t = st.tensor(name).map_err(|e| EngineError::Classifier(format!("tensor {name}: {e}")))?;
            if t.shape() != shape || t.dtype() != safetensors::Dtype::F32 {
                return Err(EngineError::Classifier(format!(
                    "tensor {name} is {:?} {:?}, expected F32 {shape:?}",
                    t.dtype(),
                    t.shape()
                )));
            }
            Ok(t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        };
        let (embed_dim, units) = (50, 50);
        let lstm = |prefix: &str| -> Result<Lstm> {
            Ok(Lstm {
                kernel: get(&format!("{prefix}.kernel"), &[embed_dim, 4 * units])?,
                recurrent: get(&format!("{prefix}.recurrent_kernel"), &[units, 4 * units])?,
                bias: get(&format!("{prefix}.bias"), &[4 * units])?,
            })
        };
        Ok(Self {
            embedding: get("embedding", &[VOCAB_LIMIT as usize, embed_dim])?,
            forward: lstm("lstm_forward")?,
            backward: lstm("lstm_backward")?,
            hidden: Dense {
                kernel: get("dense.kernel", &[2 * units, 50])?,
                bias: get("dense.bias", &[50])?,
                outputs: 50,
            },
            output: Dense { kernel: get("output.kernel", &[50, 6])?, bias: get("output.bias", &[6])?, outputs: 6 },
            vocab,
            embed_dim,
            units,
        })
    }

    /// Keras `texts_to_sequences` + `pad_sequences(maxlen=100)` (pre-padding, pre-truncation).
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        let lowered: String = text.to_lowercase().chars().map(|c| if FILTERS.contains(c) { ' ' } else { c }).collect();
        let ids: Vec<u32> = lowered
            .split(' ')
            .filter(|w| !w.is_empty())
            .filter_map(|w| self.vocab.get(w).copied())
            .filter(|&id| id < VOCAB_LIMIT)
            .collect();
        let kept = &ids[ids.len().saturating_sub(MAX_LEN)..];
        let mut padded = vec![0; MAX_LEN - kept.len()];
        padded.extend_from_slice(kept);
        padded
    }

    pub fn score(&self, texts: &[&str]) -> Vec<LabelScores> {
        texts.iter().map(|t| self.score_one(t)).collect()
    }

    /// P(toxic) of each text: the lab's toxicity metric.
    pub fn toxicity(&self, texts: &[&str]) -> Vec<f32> {
        self.score(texts).iter().map(|s| s[0]).collect()
    }

    fn score_one(&self, text: &str) -> LabelScores {
        let ids = self.token_ids(text);
        let inputs: Vec<&[f32]> =
            ids.iter().map(|&id| &self.embedding[id as usize * self.embed_dim..][..self.embed_dim]).collect();
        // Max-pooling over time makes the backward direction's output order irrelevant.
        let mut pooled = vec![f32::NEG_INFINITY; 2 * self.units];
        self.run_lstm(&self.forward, inputs.iter().copied(), &mut pooled[..self.units]);
        self.run_lstm(&self.backward, inputs.iter().rev().copied(), &mut pooled[self.units..]);
        let hidden: Vec<f32> = dense(&self.hidden, &pooled).into_iter().map(|x| x.max(0.0)).collect();
        let out = dense(&self.output, &hidden);
        std::array::from_fn(|i| sigmoid(out[i]))
    }

    fn run_lstm<'a>(&self, lstm: &Lstm, inputs: impl Iterator<Item = &'a [f32]>, pooled: &mut [f32]) {
        let u = self.units;
        let mut h = vec![0f32; u];
        let mut c = vec![0f32; u];
        let mut z = vec![0f32; 4 * u];
        for x in inputs {
            z.copy_from_slice(&lstm.bias);
            accumulate(&mut z, x, &lstm.kernel);
            accumulate(&mut z, &h, &lstm.recurrent);
            for j in 0..u {
                let i = sigmoid(z[j]);
                let f = sigmoid(z[u + j]);
                let g = z[2 * u + j].tanh();
                let o = sigmoid(z[3 * u + j]);
                c[j] = f * c[j] + i * g;
                h[j] = o * c[j].tanh();
                pooled[j] = pooled[j].max(h[j]);
            }
        }
    }
}

/// `z += x · W` for a row-major `W` of `x.len() × z.len()`.
fn accumulate(z: &mut [f32], x: &[f32], w: &[f32]) {
    for (xi, row) in x.iter().zip(w.chunks_exact(z.len())) {
        for (zj, wij) in z.iter_mut().zip(row) {
            *zj += xi * wij;
        }
    }
}

fn dense(layer: &Dense, x: &[f32]) -> Vec<f32> {
    let mut z = layer.bias.clone();
    debug_assert_eq!(z.len(), layer.outputs);
    accumulate(&mut z, x, &layer.kernel);
    z
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl sclab_core::experiment::ToxicityScorer for ToxicityClassifier {
    fn toxicity(&self, texts: &[&str]) -> Vec<f64> {
        ToxicityClassifier::toxicity(self, texts).into_iter().map(f64::from).collect()
    }
}
