//! A Llama-family model file as both engines read it: the GGUF container ([`GgufFile`], any
//! seekable [`Source`] of its bytes, its sizes checked before anything is allocated), the
//! hyper-parameters ([`ModelConfig`]) and the tensors they imply ([`tensors`]), the RoPE
//! frequencies ([`rope`]), the tokenizer and the chat template. The CPU engine (`sclab-engine`),
//! the GPU backend (`sclab-gpu`) and the testkit's tiny models all read this one description.

pub mod chat;
mod chat_codec;
pub mod config;
mod error;
pub mod gguf;
mod gguf_layout;
pub mod rope;
pub mod tensors;
pub mod tokenizer;

pub use chat::{ChatTemplate, Message};
pub use chat_codec::ChatCodec;
pub use config::ModelConfig;
pub use error::{ModelError, Result};
pub use gguf::{GgufFile, Source};
pub use rope::{RopeLayout, RopeScaling};
pub use tokenizer::{TextStream, Tokenizer};
