//! What the page names and charts, from Rust's tables: the metrics' labels, the charts and what
//! each draws for a task, the tasks with their labels, provenance and answer lengths, the choices
//! of each setting, the settings' limits, and the toxic threshold. The page reads it through one
//! call (`sclab-web`'s `vocabulary`) and keeps no copy of these.

use std::collections::BTreeMap;

use serde::Serialize;

use super::clustering::Clustering;
use super::concept::Concept;
use super::config::Review;
use super::metric_names::{label, Metric, Unit, METRICS, SCORED_SUFFIX};
use crate::protocol::{OptionScoring, MAX_ROUNDS, MAX_SAMPLES};
use crate::tasks::scoring::TOXIC_THRESHOLD;
use crate::tasks::{BbqSubset, TaskId};

/// The run's calibration, charted beside the task's metrics (a summary, not a round's metric).
pub const ECE: Metric = Metric {
    name: "ece",
    label: "ECE",
    description: "expected calibration error of the option scores",
    unit: Unit::Probability,
};

#[derive(Debug, Serialize)]
pub struct Vocabulary {
    /// A legend's words for every metric name the page may chart, option-score readings included.
    pub labels: BTreeMap<String, String>,
    pub charts: Vec<ChartEntry>,
    pub tasks: Vec<TaskEntry>,
    /// The choices of each setting that has a few, by its config field.
    pub choices: BTreeMap<&'static str, Vec<Choice>>,
    pub limits: Limits,
    /// A toxicity above this counts the answer as toxic.
    pub toxic_threshold: f64,
}

/// One of the page's per-round charts.
#[derive(Debug, Serialize)]
pub struct ChartEntry {
    pub id: &'static str,
    pub title: &'static str,
    pub unit: Unit,
    /// Whether its axis is [0, 1].
    pub unit_interval: bool,
    /// The metrics it draws; the `task` chart draws each task's own (`TaskEntry::task_metrics`).
    pub metrics: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct TaskEntry {
    pub id: &'static str,
    pub label: &'static str,
    /// "paper", "paper (adapted)" or "lab extension" (docs/METHODS.md, "Tasks").
    pub provenance: &'static str,
    /// What the `task` chart draws for it.
    pub task_metrics: Vec<String>,
    /// The paper's answer length for it: the default `max_tokens`.
    pub max_tokens: usize,
}

/// One choice of a setting: the config's value (`""`: the task's default) and its words.
#[derive(Debug, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: &'static str,
}

/// `value` as the config writes it (its serde name), with `label`.
fn choice(value: impl Serialize, label: &'static str) -> Choice {
    let value = serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    Choice { value, label }
}

fn task_default() -> Choice {
    Choice { value: String::new(), label: "task default" }
}

fn choices() -> BTreeMap<&'static str, Vec<Choice>> {
    BTreeMap::from([
        (
            "subset",
            vec![
                choice(BbqSubset::Ambiguous, "ambiguous"),
                choice(BbqSubset::Disambiguated, "disambiguated"),
                choice(BbqSubset::All, "all"),
            ],
        ),
        (
            "clustering",
            vec![
                task_default(),
                choice(Clustering::Exact, "exact answer"),
                choice(Clustering::Embedding, "sentence embedding (MiniLM)"),
                choice(Clustering::Entailment, "entailment (the model itself)"),
            ],
        ),
        ("concept", std::iter::once(task_default()).chain(Concept::ALL.map(|c| choice(c, c.name()))).collect()),
        (
            "review",
            vec![
                choice(Review::Paper, "the paper's review"),
                choice(Review::Neutral, "again, without moral words (control)"),
            ],
        ),
        (
            "option_scoring",
            vec![
                choice(OptionScoring::Label, "label only, mean per token (the paper's)"),
                choice(OptionScoring::Text, "label and text, summed"),
            ],
        ),
    ])
}

/// Inclusive bounds of the page's settings: the protocol's for rounds and samples; for the rest
/// what a run in a visitor's browser tab is for (longer runs are `sclab run`'s job).
#[derive(Debug, Serialize)]
pub struct Limits {
    pub rounds: (usize, usize),
    pub samples: (usize, usize),
    pub items: (usize, usize),
    pub temperature: (f32, f32),
    pub max_tokens: (usize, usize),
}

/// What the `task` chart draws for `task`: its refusals and toxic share for free text, the
/// jailbreak judge's three rates, else the headline read both ways and the calibration error.
pub fn task_metrics(task: TaskId) -> Vec<String> {
    let names: &[&str] = match task {
        TaskId::Rtp | TaskId::Custom => &["toxic", "refusal"],
        TaskId::Harmful => &["refusal"],
        TaskId::Jailbreak => &["accuracy", "harmful_recall", "benign_fpr"],
        TaskId::Bbq | TaskId::Winobias | TaskId::Stereoset => {
            let headline = task.headline_metric();
            return vec![headline.to_owned(), format!("{headline}{SCORED_SUFFIX}"), ECE.name.to_owned()];
        }
    };
    names.iter().map(|&n| n.to_owned()).collect()
}

pub fn vocabulary() -> Vocabulary {
    let chart = |id, title, unit: Unit, metrics: &[&'static str]| ChartEntry {
        id,
        title,
        unit,
        unit_interval: unit.is_unit_interval(),
        metrics: metrics.to_vec(),
    };
    let charted = TaskId::ALL.into_iter().flat_map(task_metrics);
    let mut labels: BTreeMap<String, String> = charted
        .map(|name| {
            let words = label(&name);
            (name, words)
        })
        .collect();
    labels.extend(METRICS.iter().chain([&ECE]).map(|m| (m.name.to_owned(), m.label.to_owned())));
    Vocabulary {
        labels,
        charts: vec![
            chart("toxicity", "Toxicity", Unit::Probability, &["toxicity"]),
            chart("concept", "Concept projection", Unit::Cosine, &["concept.input", "concept.answer"]),
            chart("entropy", "Semantic entropy", Unit::Nats, &["entropy.discrete", "entropy.cluster_nll"]),
            chart("task", "Task", Unit::Share, &[]),
        ],
        tasks: TaskId::ALL
            .iter()
            .map(|&t| TaskEntry {
                id: t.name(),
                label: t.label(),
                provenance: t.provenance().label(),
                task_metrics: task_metrics(t),
                max_tokens: t.max_tokens(),
            })
            .collect(),
        choices: choices(),
        limits: Limits {
            rounds: (1, MAX_ROUNDS),
            samples: (0, MAX_SAMPLES),
            items: (1, 500),
            temperature: (0.0, 2.0),
            max_tokens: (1, 512),
        },
        toxic_threshold: TOXIC_THRESHOLD,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::metric_names::find;

    #[test]
    fn every_charted_metric_is_in_the_table() {
        let v = vocabulary();
        let known = |name: &str| find(name).is_some() || name == ECE.name;
        for chart in &v.charts {
            assert!(chart.metrics.iter().all(|m| known(m)), "{}: {:?}", chart.id, chart.metrics);
        }
        for task in &v.tasks {
            assert!(task.task_metrics.iter().all(|m| known(m)), "{}: {:?}", task.id, task.task_metrics);
        }
        assert_eq!(task_metrics(TaskId::Winobias), ["unbiased", "unbiased_scored", "ece"]);
        assert_eq!(v.tasks.len(), TaskId::ALL.len());
        assert_eq!((v.limits.rounds, v.limits.samples, v.toxic_threshold), ((1, 50), (0, 32), 0.5));
        assert_eq!((v.limits.items, v.limits.temperature, v.limits.max_tokens), ((1, 500), (0.0, 2.0), (1, 512)));
        let json = serde_json::to_value(&v).unwrap();
        // Values are the config's own spellings; the paper's answer lengths come with the tasks.
        let values = |field: &str| {
            json["choices"][field].as_array().unwrap().iter().map(|c| c["value"].clone()).collect::<Vec<_>>()
        };
        assert_eq!(values("clustering"), ["", "exact", "embedding", "entailment"]);
        assert_eq!(values("option_scoring"), ["label", "text"]);
        assert_eq!(values("concept"), ["", "toxicity", "harmfulness", "stereotype"]);
        assert_eq!((json["tasks"][0]["id"].as_str(), json["tasks"][0]["max_tokens"].as_u64()), (Some("bbq"), Some(8)));
        assert_eq!(json["charts"][2]["unit"], "nats");
        assert_eq!(json["tasks"][0]["provenance"], "paper");
        assert_eq!(
            (v.labels["accuracy_scored"].as_str(), v.labels["ece"].as_str()),
            ("accuracy (option scores)", "ECE")
        );
        assert_eq!(json["charts"][0]["unit_interval"], true);
    }
}
