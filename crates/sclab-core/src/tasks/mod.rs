//! The tasks: the paper's instruction texts, the catalogue that turns dataset rows into items
//! with their ground truth, the reading of answers, and each task's per-round metrics.

pub mod answers;
pub mod catalogue;
pub mod instructions;
pub mod scoring;

pub use catalogue::{
    load_items, parse_rows, BbqSubset, Provenance, Rows, TaskError, TaskId, TaskItem, TaskKind, Truth,
};
