//! The error type of every server function: each variant says what the page should show.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Nobody is signed in (HTTP 401): pages send the visitor to the login page.
    #[error("please sign in")]
    Unauthenticated,
    /// The signed-in user's role may not do this (HTTP 403).
    #[error("your role may not do this")]
    Forbidden,
    /// The named object does not exist (HTTP 404).
    #[error("{0} not found")]
    NotFound(String),
    /// A field of the input is invalid (HTTP 422); the message names the field.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The object already exists (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// Something failed on the server; the cause is in the server log, not here (HTTP 500).
    #[error("internal error (see the server log)")]
    Internal,
    /// The call itself failed (network, encoding).
    #[error("request failed: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
