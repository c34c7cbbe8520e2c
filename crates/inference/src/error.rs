//! The inference error type: every variant names what went wrong and where.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// A required file of a model directory is missing.
    #[error("{}: missing (a model directory needs model.onnx, tokenizer.json, tokenizer_config.json and config.json)", .0.display())]
    MissingFile(PathBuf),
    /// A file is present but unreadable or malformed.
    #[error("{}: {message}", file.display())]
    Malformed { file: PathBuf, message: String },
    /// The ONNX Runtime library could not be found or loaded.
    #[error("ONNX Runtime library: {0}")]
    Runtime(String),
    /// The requested execution provider cannot run here.
    #[error("execution provider `{provider}` is not available: {message}")]
    Provider { provider: String, message: String },
    /// ONNX Runtime failed while running the model.
    #[error("ONNX Runtime: {0}")]
    Ort(String),
    /// Tokenizing or detokenizing failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A decoding parameter is invalid.
    #[error(transparent)]
    Param(#[from] crate::params::ParamError),
    /// The chat template failed.
    #[error(transparent)]
    Template(#[from] crate::chat_template::TemplateError),
    /// The request itself is unusable (empty prompt, no candidates, prompt too long).
    #[error("{0}")]
    Request(String),
    /// The worker has more requests than it may queue.
    #[error("overloaded: {0} requests are already waiting; retry later")]
    Overloaded(usize),
}

impl From<ort::Error> for InferenceError {
    fn from(e: ort::Error) -> Self {
        Self::Ort(e.to_string())
    }
}

pub type Result<T, E = InferenceError> = std::result::Result<T, E>;
