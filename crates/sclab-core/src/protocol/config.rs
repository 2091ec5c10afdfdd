use serde::{Deserialize, Serialize};

use super::ProtocolError;

/// The texts injected into the conversation. Paper defaults per task come from the tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instructions {
    /// Appended to the query in round 1 (for the detoxification and jailbreak tasks it wraps
    /// the query: `{prompt}` / `{content}` mark where).
    pub moral: String,
    /// The user turn of every round after the first.
    pub review: String,
    /// Replaces the moral and review instructions in ablation rounds.
    pub immoral: Option<String>,
    /// The user turn of the baseline (round 0), `{query}` marking the item; `None`: the bare
    /// query. The paper's detoxification baseline asks for a completion without the moral words.
    #[serde(default)]
    pub baseline: Option<String>,
    /// The content-neutral review of the control condition: asks again in the review's format,
    /// without any moral word (docs/METHODS.md, "Controls").
    #[serde(default)]
    pub neutral_review: String,
    /// Opens the assistant's answer in round 1 (and the baseline).
    pub first_answer_prefix: String,
    /// Opens the assistant's answer in later rounds.
    pub review_answer_prefix: String,
}

/// Where the immoral instruction replaces the moral one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ImmoralRounds {
    #[default]
    None,
    All,
    /// 1-based round numbers (the paper used 2, 5, 8).
    Rounds(Vec<usize>),
}

impl ImmoralRounds {
    pub fn applies_to(&self, round: usize) -> bool {
        match self {
            ImmoralRounds::None => false,
            ImmoralRounds::All => true,
            ImmoralRounds::Rounds(rounds) => rounds.contains(&round),
        }
    }
}

/// How a QA option is scored after the round input (docs/METHODS.md, "Option scores").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OptionScoring {
    /// The paper's: the mean token log-probability of the option's label alone (" (a)").
    #[default]
    Label,
    /// The summed log-probability of the label and the option's whole text (longer options
    /// score lower, whatever they say).
    Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtocolConfig {
    /// Self-correction rounds T (round 1 = moral instruction).
    pub rounds: usize,
    /// Also ask the bare query, without instruction, as round 0 in a conversation of its own.
    pub baseline: bool,
    pub instructions: Instructions,
    pub immoral_rounds: ImmoralRounds,
    /// Rounds after the first that ask the query with the moral instruction again, in a turn
    /// like round 1's (the control for re-injecting the query).
    pub reask_rounds: Vec<usize>,
    pub option_scoring: OptionScoring,
    /// Semantic-entropy samples K per round (0 skips sampling).
    pub samples: usize,
    pub sample_temperature: f32,
    pub sample_top_p: f32,
    /// Longest answer, in tokens, for the greedy answer and for each sample.
    pub max_tokens: usize,
    pub seed: u64,
}

pub const MAX_ROUNDS: usize = 50;
pub const MAX_SAMPLES: usize = 32;

impl ProtocolConfig {
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let fail = |m: String| Err(ProtocolError::Config(m));
        if self.rounds == 0 || self.rounds > MAX_ROUNDS {
            return fail(format!("rounds must be 1..={MAX_ROUNDS}, not {}", self.rounds));
        }
        if self.samples > MAX_SAMPLES {
            return fail(format!("samples must be at most {MAX_SAMPLES}, not {}", self.samples));
        }
        if self.max_tokens == 0 {
            return fail("max_tokens must be at least 1".into());
        }
        if !(self.sample_temperature >= 0.0 && self.sample_top_p > 0.0 && self.sample_top_p <= 1.0) {
            return fail("sample temperature must be ≥ 0 and top-p in (0, 1]".into());
        }
        if self.immoral_rounds != ImmoralRounds::None && self.instructions.immoral.is_none() {
            return fail("immoral rounds are set but the task has no immoral instruction".into());
        }
        if let ImmoralRounds::Rounds(rounds) = &self.immoral_rounds {
            if let Some(r) = rounds.iter().find(|&&r| r == 0 || r > self.rounds) {
                return fail(format!("immoral round {r} is outside 1..={}", self.rounds));
            }
        }
        if let Some(r) = self.reask_rounds.iter().find(|&&r| r < 2 || r > self.rounds) {
            return fail(format!("re-ask round {r} is outside 2..={}", self.rounds));
        }
        if let Some(r) = self.reask_rounds.iter().find(|&&r| self.immoral_rounds.applies_to(r)) {
            return fail(format!("round {r} cannot both re-ask the moral instruction and be immoral"));
        }
        Ok(())
    }
}
