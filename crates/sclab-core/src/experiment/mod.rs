//! An experiment: a task's items run through the round protocol and measured round by round,
//! with the results schema the CLI writes and the page reads, and its aggregation.

pub mod clustering;
pub mod concept;
pub mod conditions;
mod config;
pub mod metric_names;
pub mod record;
mod runner;
pub mod summary;
pub mod tables;
pub mod vocabulary;

pub use clustering::{Clustering, SentenceEmbedder};
pub use concept::{Concept, ConceptModel};
pub use config::{ExperimentConfig, Review};
pub use runner::{Experiment, ExperimentError, Instruments, ToxicityScorer};
