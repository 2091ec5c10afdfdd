use std::path::PathBuf;

/// Why a model file, its tokenizer or its chat template cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a GGUF file: {detail}")]
    NotGguf { path: PathBuf, detail: String },
    #[error("{path} is truncated or corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("unsupported model architecture `{0}` (supported: llama, qwen2)")]
    UnsupportedArchitecture(String),
    #[error("tensor `{tensor}`: {detail}")]
    BadTensor { tensor: String, detail: String },
    #[error("the model file lacks metadata `{0}`")]
    MissingMetadata(String),
    #[error("the model file lacks tensor `{0}`")]
    MissingTensor(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("chat template: {0}")]
    Template(String),
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
