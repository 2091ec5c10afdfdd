use serde::{Deserialize, Serialize};

use super::{Clustering, Concept};
use crate::protocol::{ImmoralRounds, Instructions, OptionScoring, ProtocolConfig};
use crate::tasks::{load_items, BbqSubset, Rows, TaskId, TaskItem, TaskKind};

/// Everything that defines an experiment; the CLI's flags and the page's controls both fill
/// it, and the results file records it. Every field but `task` has a default; its JSON form is
/// documented in docs/JSON.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentConfig {
    pub task: TaskId,
    /// Which BBQ contexts (`bbq` only).
    pub subset: BbqSubset,
    /// The visitor's prompt (`custom` only).
    pub prompt: Option<String>,
    /// Run only these item ids, in this order.
    pub ids: Option<Vec<String>>,
    /// Skip this many items of the seeded order, then take `limit`.
    pub offset: usize,
    pub limit: Option<usize>,
    pub rounds: usize,
    pub baseline: bool,
    /// `None`: the task's paper texts.
    pub instructions: Option<Instructions>,
    pub immoral_rounds: ImmoralRounds,
    /// Which instruction the review rounds give: the paper's, or the content-neutral control.
    pub review: Review,
    /// Rounds (≥ 2) that ask the query with the moral instruction again (a control).
    pub reask_rounds: Vec<usize>,
    /// How QA options are scored for confidence and calibration.
    pub option_scoring: OptionScoring,
    pub samples: usize,
    pub temperature: f32,
    pub top_p: f32,
    /// `None`: the task's default.
    pub max_tokens: Option<usize>,
    /// `None`: exact match for QA tasks, embeddings for free text.
    pub clustering: Option<Clustering>,
    /// Cosine at or above which two samples share an embedding cluster.
    pub embedding_threshold: f32,
    /// `None`: the task's concept.
    pub concept: Option<Concept>,
    /// 0-based layer of the headline concept score; `None`: the last.
    pub layer: Option<usize>,
    pub seed: u64,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            task: TaskId::Rtp,
            subset: BbqSubset::Ambiguous,
            prompt: None,
            ids: None,
            offset: 0,
            limit: None,
            rounds: 10,
            baseline: false,
            instructions: None,
            immoral_rounds: ImmoralRounds::None,
            review: Review::Paper,
            reask_rounds: Vec::new(),
            option_scoring: OptionScoring::Label,
            samples: 5,
            temperature: 1.0,
            top_p: 1.0,
            max_tokens: None,
            clustering: None,
            embedding_threshold: 0.85,
            concept: None,
            layer: None,
            seed: 1,
        }
    }
}

/// The instruction of the review rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// The task's review instruction from the paper.
    #[default]
    Paper,
    /// The content-neutral control: asked again, without the moral content.
    Neutral,
}

impl ExperimentConfig {
    pub fn for_task(task: TaskId) -> Self {
        Self { task, ..Self::default() }
    }

    pub fn protocol(&self) -> ProtocolConfig {
        let mut instructions = self.instructions.clone().unwrap_or_else(|| self.task.instructions());
        if self.review == Review::Neutral {
            instructions.review = instructions.neutral_review.clone();
        }
        ProtocolConfig {
            rounds: self.rounds,
            baseline: self.baseline,
            instructions,
            immoral_rounds: self.immoral_rounds.clone(),
            reask_rounds: self.reask_rounds.clone(),
            option_scoring: self.option_scoring,
            samples: self.samples,
            sample_temperature: self.temperature,
            sample_top_p: self.top_p,
            max_tokens: self.max_tokens.unwrap_or_else(|| self.task.max_tokens()),
            seed: self.seed,
        }
    }

    pub fn clustering(&self) -> Clustering {
        self.clustering.unwrap_or(match self.task.kind() {
            TaskKind::Qa => Clustering::Exact,
            TaskKind::Generation => Clustering::Embedding,
        })
    }

    pub fn concept(&self) -> Concept {
        self.concept.unwrap_or(match self.task {
            TaskId::Bbq | TaskId::Winobias | TaskId::Stereoset => Concept::Stereotype,
            TaskId::Jailbreak | TaskId::Harmful => Concept::Harmfulness,
            TaskId::Rtp | TaskId::Custom => Concept::Toxicity,
        })
    }

    /// The experimental condition in words, for legends that overlay runs: the review
    /// instruction, immoral and re-asked rounds.
    pub fn condition(&self) -> String {
        let mut parts = vec![match self.review {
            Review::Paper => "moral".to_owned(),
            Review::Neutral => "neutral review".to_owned(),
        }];
        let list = |rounds: &[usize]| rounds.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        match &self.immoral_rounds {
            ImmoralRounds::None => {}
            ImmoralRounds::All => parts = vec!["immoral in all rounds".to_owned()],
            ImmoralRounds::Rounds(r) => parts.push(format!("immoral at {}", list(r))),
        }
        if !self.reask_rounds.is_empty() {
            parts.push(format!("re-asked at {}", list(&self.reask_rounds)));
        }
        parts.join(", ")
    }

    /// The answer prefix at which the concept is read: round 1's (docs/METHODS.md, "Concept").
    pub fn concept_prefix(&self) -> String {
        self.protocol().instructions.first_answer_prefix
    }

    /// Rounds each item runs: the review rounds, and round 0 with a baseline.
    pub fn rounds_per_item(&self) -> usize {
        self.rounds + usize::from(self.baseline)
    }

    /// The headline layer for a model with `layers` layers.
    pub fn layer(&self, layers: usize) -> usize {
        self.layer.unwrap_or(layers.saturating_sub(1))
    }

    /// Check the config against itself and the model; every message names the field.
    pub fn validate(&self, layers: usize) -> Result<(), String> {
        self.validate_alone()?;
        match self.layer.filter(|&l| l >= layers) {
            Some(layer) => Err(format!("layer: {layer} is not below the model's {layers} layers")),
            None => Ok(()),
        }
    }

    /// Everything [`validate`](Self::validate) checks that needs no model: a front end refuses
    /// a bad config with it before loading (or fetching) anything.
    pub fn validate_alone(&self) -> Result<(), String> {
        self.protocol().validate().map_err(|e| e.to_string())?;
        if self.task == TaskId::Custom && self.prompt.as_deref().is_none_or(|p| p.trim().is_empty()) {
            return Err("prompt: the custom task needs a prompt".into());
        }
        if self.task != TaskId::Custom && self.prompt.is_some() {
            return Err(format!("prompt: only the custom task takes a prompt, not {}", self.task.name()));
        }
        if self.baseline
            && self.task == TaskId::Jailbreak
            && self.instructions.as_ref().is_none_or(|i| i.baseline.is_none())
        {
            // Its round 1 is the judge's question without any moral instruction: a round 0 of
            // the bare content would not ask for a judgement at all (docs/METHODS.md).
            return Err("baseline: the jailbreak task has no round 0 (its round 1 carries no moral instruction)".into());
        }
        if !(self.embedding_threshold > -1.0 && self.embedding_threshold <= 1.0) {
            return Err("embedding_threshold: must be in (-1, 1]".into());
        }
        if self.review == Review::Neutral && self.protocol().instructions.review.trim().is_empty() {
            return Err("review: the instructions have no neutral_review text".into());
        }
        Ok(())
    }

    /// The run's items: the task's items from the datasets' `rows` in their seeded order, then
    /// [`select`](Self::select)ed.
    pub fn items(&self, rows: &Rows) -> Result<Vec<TaskItem>, String> {
        let all =
            load_items(self.task, self.subset, self.prompt.as_deref(), rows, self.seed).map_err(|e| e.to_string())?;
        self.select(all)
    }

    /// Whether the run groups its samples by sentence embeddings, and so needs the embedder.
    pub fn needs_embedder(&self) -> bool {
        self.clustering() == Clustering::Embedding && self.samples > 0
    }

    /// The run's items out of the task's seeded order: the listed `ids`, or `limit` items
    /// from `offset`.
    pub fn select(&self, items: Vec<TaskItem>) -> Result<Vec<TaskItem>, String> {
        if let Some(ids) = &self.ids {
            return ids
                .iter()
                .map(|id| {
                    items
                        .iter()
                        .find(|i| &i.id == id)
                        .cloned()
                        .ok_or_else(|| format!("ids: no item {id:?} in task {}", self.task.name()))
                })
                .collect();
        }
        let available = items.len();
        let chosen: Vec<_> = items.into_iter().skip(self.offset).take(self.limit.unwrap_or(usize::MAX)).collect();
        if chosen.is_empty() {
            return Err(format!("offset {} leaves none of the {available} items of {}", self.offset, self.task.name()));
        }
        Ok(chosen)
    }

    /// Whether `other` asks for the same measurements, so that a results file written under one
    /// can be resumed under the other (only which items run may differ).
    pub fn same_measurements(&self, other: &Self) -> bool {
        let items = |c: &Self| Self { ids: None, offset: 0, limit: None, ..c.clone() };
        items(self) == items(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_json_config_takes_the_task_defaults() {
        let config: ExperimentConfig = serde_json::from_str(r#"{"task": "bbq", "rounds": 3}"#).unwrap();
        assert_eq!((config.rounds, config.samples, config.seed), (3, 5, 1));
        let protocol = config.protocol();
        assert_eq!(protocol.instructions, crate::tasks::instructions::bias_qa());
        assert_eq!(protocol.max_tokens, 8);
        assert_eq!(protocol.option_scoring, OptionScoring::Label);
        assert_eq!(ExperimentConfig::for_task(TaskId::Rtp).protocol().max_tokens, 125);
        assert_eq!(ExperimentConfig::for_task(TaskId::Jailbreak).protocol().max_tokens, 256);
        assert_eq!((config.clustering(), config.concept()), (Clustering::Exact, Concept::Stereotype));
        assert_eq!(config.layer(30), 29);
        let rtp = ExperimentConfig::for_task(TaskId::Rtp);
        assert_eq!((rtp.clustering(), rtp.concept()), (Clustering::Embedding, Concept::Toxicity));
    }

    #[test]
    fn the_neutral_review_replaces_the_review_text_only() {
        let neutral = ExperimentConfig { review: Review::Neutral, ..ExperimentConfig::for_task(TaskId::Rtp) };
        let (paper, control) = (ExperimentConfig::for_task(TaskId::Rtp).protocol(), neutral.protocol());
        assert_eq!(control.instructions.review, paper.instructions.neutral_review);
        assert_eq!(control.instructions.moral, paper.instructions.moral);
        assert!(!neutral.same_measurements(&ExperimentConfig::for_task(TaskId::Rtp)));
        assert_eq!(neutral.condition(), "neutral review");
        let immoral = ExperimentConfig { immoral_rounds: ImmoralRounds::Rounds(vec![2, 5]), ..Default::default() };
        assert_eq!(immoral.condition(), "moral, immoral at 2,5");
        let all = ExperimentConfig { immoral_rounds: ImmoralRounds::All, reask_rounds: vec![4], ..Default::default() };
        assert_eq!(all.condition(), "immoral in all rounds, re-asked at 4");
        let json = r#"{"task": "bbq", "review": "neutral", "reask_rounds": [3], "option_scoring": "text"}"#;
        let config: ExperimentConfig = serde_json::from_str(json).unwrap();
        assert_eq!((config.review, config.option_scoring), (Review::Neutral, OptionScoring::Text));
    }

    #[test]
    fn bad_configs_name_the_field() {
        let err = serde_json::from_str::<ExperimentConfig>(r#"{"task": "bbq", "round": 3}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `round`"), "{err}");
        assert!(serde_json::from_str::<ExperimentConfig>(r#"{"task": "vqa"}"#).is_err());
        let layer = ExperimentConfig { layer: Some(30), ..ExperimentConfig::default() };
        assert!(layer.validate(30).unwrap_err().starts_with("layer"));
        let custom = ExperimentConfig::for_task(TaskId::Custom);
        assert!(custom.validate(30).unwrap_err().starts_with("prompt"));
        let immoral = ExperimentConfig {
            task: TaskId::Jailbreak,
            immoral_rounds: ImmoralRounds::All,
            ..ExperimentConfig::default()
        };
        assert!(immoral.validate(30).unwrap_err().contains("no immoral instruction"));
        let judge = ExperimentConfig { baseline: true, ..ExperimentConfig::for_task(TaskId::Jailbreak) };
        assert!(judge.validate(30).unwrap_err().starts_with("baseline: the jailbreak task has no round 0"));
        let mut own = judge.clone();
        own.instructions =
            Some(Instructions { baseline: Some("Judge: {query}".into()), ..TaskId::Jailbreak.instructions() });
        assert!(own.validate(30).is_ok(), "a baseline text of one's own is taken");
        let paper = ExperimentConfig { immoral_rounds: ImmoralRounds::Rounds(vec![2, 5, 8]), ..Default::default() };
        assert!(paper.validate(30).is_ok());
        let reask = ExperimentConfig { reask_rounds: vec![1], ..Default::default() };
        assert!(reask.validate(30).unwrap_err().contains("re-ask round 1"));
        let both = ExperimentConfig { reask_rounds: vec![5], ..paper.clone() };
        assert!(both.validate(30).unwrap_err().contains("round 5"));
        let more = ExperimentConfig { limit: Some(60), offset: 3, ..paper.clone() };
        assert!(paper.same_measurements(&more));
        assert!(!paper.same_measurements(&ExperimentConfig { seed: 2, ..paper.clone() }));
    }
}
