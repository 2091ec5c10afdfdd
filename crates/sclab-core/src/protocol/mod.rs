//! The multi-round self-correction protocol of the paper, on any backend.
//!
//! Round 1 asks the task's query with the moral instruction; every later round adds the fixed
//! review instruction on top of the whole conversation. Each round appends only its new turn to
//! the KV cache, its K entropy samples fork from the round input and decode as one batch, and
//! its greedy answer continues the conversation.

mod chat_format;
mod config;
mod rounds;
mod watch;

pub use chat_format::ChatFormat;
pub use config::{ImmoralRounds, Instructions, OptionScoring, ProtocolConfig, MAX_ROUNDS, MAX_SAMPLES};
pub use rounds::{is_device_lost, run_item, Item, ItemRun, Round, RoundKind, SampledAnswer, Turn, QUERY};
pub(crate) use watch::PhaseTimer;
pub use watch::{Phase, PhaseTally, Stream, Watch};

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error(transparent)]
    Backend(#[from] crate::BackendError),
    #[error("chat format: {0}")]
    Format(String),
    #[error("invalid protocol configuration: {0}")]
    Config(String),
    #[error("cancelled")]
    Cancelled,
}
