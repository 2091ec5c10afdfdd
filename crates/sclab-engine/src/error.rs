use std::path::PathBuf;

/// Why a model, tokenizer or classifier could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a GGUF file: {detail}")]
    NotGguf { path: PathBuf, detail: String },
    #[error("{path} is truncated or corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("unsupported model architecture `{0}` (supported: llama, qwen2)")]
    UnsupportedArchitecture(String),
    #[error("tensor `{tensor}` has type {dtype}, which this engine cannot run (supported: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K)")]
    UnsupportedTensorType { tensor: String, dtype: String },
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
    #[error("the prompt is {tokens} tokens long but the model's context holds {limit}")]
    PromptTooLong { tokens: usize, limit: usize },
    #[error("the prompt is empty")]
    EmptyPrompt,
    #[error("toxicity classifier: {0}")]
    Classifier(String),
    #[error("sentence embedder: {0}")]
    Embedder(String),
    #[error(transparent)]
    Backend(#[from] sclab_core::BackendError),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
