use std::path::PathBuf;

/// Why a model, the classifier or the embedder could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] sclab_model::ModelError),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("tensor `{tensor}` has type {dtype}, which this engine cannot run (supported: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K)")]
    UnsupportedTensorType { tensor: String, dtype: String },
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
