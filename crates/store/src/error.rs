//! The store's error type: callers map each variant to their own status or exit code.

use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named object does not exist (HTTP 404).
    #[error("{0} not found")]
    NotFound(String),
    /// The object already exists or would break a uniqueness rule (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// A field of the input is invalid (HTTP 422); the message names the field.
    #[error("field `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The database failed (HTTP 500; the cause is logged, never shown).
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

impl StoreError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
