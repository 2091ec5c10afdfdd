//! The results schema: what a run writes, one JSON line per item after a header line, and what
//! the report and the page read back. Versioned: a reader refuses a version it does not know.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConceptModel, ExperimentConfig};
use crate::backend::ModelInfo;
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

/// A results file read back: its header and every whole item.
#[derive(Debug)]
pub struct Results {
    pub header: Header,
    pub items: Vec<ItemRecord>,
    /// Bytes of whole, valid lines; anything after them is a line cut short by a crash.
    pub valid_len: usize,
}

impl Results {
    /// The results in `text`, the contents of a file that a run appends to line by line. The
    /// last line may be cut short (a run killed while writing): it is left out, and a resumed
    /// run overwrites it. Anything else that is not a results line is refused, by line number.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut header = None;
        let mut items = Vec::new();
        let mut valid_len = 0;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let end = valid_len + line.len();
            let complete = line.ends_with('\n');
            match serde_json::from_str::<Line>(line.trim_end()) {
                Ok(Line::Header(h)) if i == 0 => {
                    h.check_version()?;
                    header = Some(*h);
                }
                Ok(Line::Header(_)) => return Err(format!("line {} is a second header", i + 1)),
                Ok(Line::Item(_)) if i == 0 => return Err("the first line is not a results header".into()),
                Ok(Line::Item(item)) if complete => items.push(item),
                _ if end == text.len() && i > 0 => break,
                Ok(Line::Item(_)) => return Err(format!("line {} is cut short", i + 1)),
                Err(e) => return Err(format!("line {} is not a results line: {e}", i + 1)),
            }
            valid_len = end;
        }
        let header = header.ok_or("it holds no results header")?;
        Ok(Self { header, items, valid_len })
    }
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

    /// The header of a run of `config` on `model`, measured with `concept` (whose probes'
    /// held-out accuracy it records), written by `writer` ("sclab 0.1.0", "sclab-web 0.1.0").
    pub fn of_run(config: ExperimentConfig, model: ModelRecord, concept: &ConceptModel, writer: String) -> Self {
        Self::new(config, model, concept.probes.iter().map(|p| p.test_accuracy).collect(), writer)
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

impl ModelRecord {
    /// The record of model file `name` (its `sha256`) as `backend` ("cpu", "gpu") runs it.
    pub fn new(name: String, sha256: String, info: &ModelInfo, backend: &str) -> Self {
        Self { name, sha256, architecture: info.architecture.clone(), layers: info.n_layers, backend: backend.into() }
    }
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

/// A round that carries only `metrics`, for the tests of what is computed from rounds.
#[cfg(test)]
pub(crate) fn test_round(round: usize, kind: RoundKind, metrics: BTreeMap<String, f64>) -> RoundRecord {
    RoundRecord {
        round,
        kind,
        user: String::new(),
        answer_prefix: String::new(),
        answer: String::new(),
        answer_tokens: 1,
        stop: StopReason::MaxTokens,
        appended_tokens: 1,
        context_tokens: 1,
        metrics,
        qa: None,
        samples: Vec::new(),
        concept_input_layers: Vec::new(),
        concept_answer_layers: Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    pub text: String,
    pub tokens: usize,
    pub log_prob: f64,
    pub cluster: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(line: Line) -> String {
        serde_json::to_string(&line).unwrap() + "\n"
    }

    fn header() -> String {
        let config: ExperimentConfig = serde_json::from_str(r#"{"task": "custom", "prompt": "Hi"}"#).unwrap();
        let model = ModelRecord {
            name: "tiny.gguf".into(),
            sha256: "00".into(),
            architecture: "llama".into(),
            layers: 2,
            backend: "cpu".into(),
        };
        line(Line::Header(Box::new(Header::new(config, model, vec![0.5, 0.5], "sclab test".into()))))
    }

    fn item(id: &str) -> String {
        let truth = crate::tasks::Truth::Generation;
        line(Line::Item(ItemRecord { id: id.into(), category: None, query: "Hi".into(), truth, rounds: Vec::new() }))
    }

    #[test]
    fn a_line_cut_short_at_the_end_is_left_out() {
        let whole = format!("{}{}", header(), item("a"));
        let cut = item("b");
        let text = format!("{whole}{}", &cut[..cut.len() / 2]);
        let results = Results::parse(&text).unwrap();
        assert_eq!(results.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["a"]);
        assert_eq!(results.valid_len, whole.len());
        // A whole last line without its newline is cut short too: it may be half an item.
        let unterminated = format!("{whole}{}", item("b").trim_end());
        assert_eq!(Results::parse(&unterminated).unwrap().valid_len, whole.len());
    }

    #[test]
    fn anything_else_that_is_not_a_results_line_is_refused_by_number() {
        let cases = [
            (String::new(), "it holds no results header"),
            (item("a"), "the first line is not a results header"),
            (format!("{}{}{}", header(), header(), item("a")), "line 2 is a second header"),
            (format!("{}not json\n{}", header(), item("a")), "line 2 is not a results line"),
            (header().replace("\"version\":2", "\"version\":1"), "version 1 is not sclab-results version 2"),
        ];
        for (text, expected) in cases {
            let err = Results::parse(&text).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }
}
