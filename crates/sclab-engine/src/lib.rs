//! The language-model engine of the Self-Correction Lab.
//!
//! `model::load` opens a GGUF file (read by `sclab-model`) and returns everything a front end
//! needs: the CPU backend (the model and its KV cache, behind `sclab_core::Backend`), the
//! tokenizer, and the chat template. The toxicity classifier and the sentence embedder live here
//! too: they are models, not metrics.

pub mod cpu_backend;
pub mod embedder;
mod error;
mod interleaved;
pub mod kv_cache;
pub mod llama;
pub mod model;
mod ops;
pub mod qmatrix;
pub mod toxicity;

pub use cpu_backend::CpuBackend;
pub use embedder::SentenceEmbedder;
pub use error::{EngineError, Result};
pub use model::{load, load_from_reader, load_gguf, LoadedModel};
pub use toxicity::ToxicityClassifier;
