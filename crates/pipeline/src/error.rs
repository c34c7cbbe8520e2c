//! Errors of runs and workers; callers map them to HTTP statuses or exit codes.

use pairwise_inference::InferenceError;
use pairwise_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{0} not found")]
    NotFound(String),
    /// The actor's role may not take this action (HTTP 403; exit code 1 on the CLI).
    #[error("{actor} ({role}) may not {action}: it needs the {required} role")]
    Forbidden {
        actor: String,
        role: pairwise_core::Role,
        action: &'static str,
        required: pairwise_core::Role,
    },
    /// A field of the request is invalid; the message names it.
    #[error("field `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("inference: {0}")]
    Inference(#[from] InferenceError),
    /// A model server failed (after its retries); the run fails with this message.
    #[error("remote model: {0}")]
    Remote(#[from] pairwise_inference::RemoteError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl PipelineError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<sea_orm::DbErr> for PipelineError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

pub type Result<T, E = PipelineError> = std::result::Result<T, E>;
