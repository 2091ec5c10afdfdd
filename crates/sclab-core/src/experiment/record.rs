//! The results schema: what a run writes, one JSON line per item after a header line, and what
//! the report and the page read back. Versioned: a reader refuses a version it does not know.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ExperimentConfig;
use crate::generate::StopReason;
use crate::protocol::RoundKind;
use crate::tasks::scoring::QaReading;
use crate::tasks::Truth;

pub const SCHEMA: &str = "sclab-results";
pub const SCHEMA_VERSION: u32 = 2;

/// One line of a results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    Header(Box<Header>),
    Item(ItemRecord),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub schema: String,
    pub version: u32,
    pub config: ExperimentConfig,
    pub model: ModelRecord,
    /// Held-out accuracy of the concept probe at each layer.
    pub probe_accuracy: Vec<f64>,
    /// Which program wrote the file, e.g. "sclab 0.1.0".
    pub writer: String,
}

impl Header {
    pub fn new(config: ExperimentConfig, model: ModelRecord, probe_accuracy: Vec<f64>, writer: String) -> Self {
        Self { schema: SCHEMA.into(), version: SCHEMA_VERSION, config, model, probe_accuracy, writer }
    }

    pub fn check_version(&self) -> Result<(), String> {
        if self.schema != SCHEMA || self.version != SCHEMA_VERSION {
            return Err(format!(
                "results schema {} version {} is not {SCHEMA} version {SCHEMA_VERSION}",
                self.schema, self.version
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// File name of the GGUF.
    pub name: String,
    /// sha256 of the GGUF file.
    pub sha256: String,
    pub architecture: String,
    pub layers: usize,
    /// "cpu" or "gpu".
    pub backend: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub id: String,
    pub category: Option<String>,
    pub query: String,
    pub truth: Truth,
    pub rounds: Vec<RoundRecord>,
}

impl ItemRecord {
    /// Round `round` of this item, if it ran.
    pub fn round(&self, round: usize) -> Option<&RoundRecord> {
        self.rounds.iter().find(|r| r.round == round)
    }

    /// Metric `name` in round `round`, where it was measured and is a number.
    pub fn metric(&self, name: &str, round: usize) -> Option<f64> {
        self.round(round)?.metrics.get(name).copied().filter(|v| v.is_finite())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    pub round: usize,
    pub kind: RoundKind,
    /// The user turn as sent.
    pub user: String,
    pub answer_prefix: String,
    /// The greedy answer after the prefix (untrusted model text).
    pub answer: String,
    pub answer_tokens: usize,
    pub stop: StopReason,
    pub appended_tokens: usize,
    pub context_tokens: usize,
    /// Every per-item number of this round, by name (see docs/JSON.md): task metrics,
    /// `toxicity`, `entropy.*`, `concept.*`. A metric that does not apply is absent.
    pub metrics: BTreeMap<String, f64>,
    pub qa: Option<QaReading>,
    pub samples: Vec<SampleRecord>,
    /// Cosine with the concept direction at every layer, of the round input and of the answer.
    pub concept_input_layers: Vec<f64>,
    pub concept_answer_layers: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub text: String,
    pub tokens: usize,
    pub log_prob: f64,
    pub cluster: usize,
}
