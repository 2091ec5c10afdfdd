//! The model-free half of the lab: what a backend must offer, and how tokens are chosen
//! and generated on top of any backend. The engine implements [`backend::Backend`]; the
//! protocol and the front ends only ever see this trait.

pub mod backend;
pub mod exp;
pub mod experiment;
pub mod generate;
pub mod logits;
pub mod metrics;
pub mod protocol;
pub mod sampling;
pub mod scoring;
pub mod tasks;

pub use backend::{
    check_batch, Backend, BackendError, BatchRows, ForwardOutput, ForwardRequest, LogitPositions, ModelInfo, SeqId,
};
pub use generate::{generate, GenerateParams, Generated, StopReason};
pub use sampling::{Sampler, SamplingParams};
pub use scoring::score_continuation;
