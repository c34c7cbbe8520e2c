//! The one error type of every HTTP entry point: server functions return it to the pages, REST
//! handlers return it as `{"error": {"code", "message"}}` with its status. Each variant says what
//! the caller should show; causes of internal errors are logged on the server, never sent.

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
    /// A field of the input is invalid (HTTP 422); the message names the field (or the line).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A line of an imported file is invalid (HTTP 422); the message names the line and field.
    #[error("{0}")]
    InvalidLine(String),
    /// The object already exists, or the action conflicts with its state (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The request body is larger than the configured limit (HTTP 413).
    #[error("request body too large")]
    TooLarge,
    /// Too many attempts; try again later (HTTP 429).
    #[error("too many attempts, try again later")]
    TooManyRequests,
    /// Something failed on the server; the cause is in the server log, not here (HTTP 500).
    #[error("internal error (see the server log)")]
    Internal,
    /// The call itself failed (network, encoding) before reaching a handler.
    #[error("request failed: {0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::TooLarge => 413,
            Self::Invalid { .. } | Self::InvalidLine(_) => 422,
            Self::TooManyRequests => 429,
            Self::Internal | Self::Transport(_) => 500,
        }
    }

    /// Machine-readable kind, as the REST API's `error.code` carries it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::TooLarge => "too_large",
            Self::Invalid { .. } | Self::InvalidLine(_) => "invalid",
            Self::TooManyRequests => "too_many_requests",
            Self::Internal | Self::Transport(_) => "internal",
        }
    }

    /// The message the REST API sends: invalid fields as "field `name`: message".
    pub fn message(&self) -> String {
        match self {
            Self::Invalid { field, message } => format!("field `{field}`: {message}"),
            Self::Internal | Self::Transport(_) => "internal error".into(),
            other => other.to_string(),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }

    /// Encodes the error for the browser, and gives the server function's response this error's
    /// status (401, 403, 404, 422 …) instead of the framework's blanket 500: scripts, proxies
    /// and logs see what happened, and the browser client decodes any 4xx/5xx body as the error.
    fn ser(&self) -> leptos::server_fn::Bytes {
        // A plain HTML form post (no JavaScript) is redirected back to its page by the
        // framework; its status stays the redirect.
        #[cfg(feature = "ssr")]
        let form_post = leptos::prelude::use_context::<http::request::Parts>().is_some_and(|p| {
            p.headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        });
        #[cfg(feature = "ssr")]
        if let Some(response) =
            leptos::prelude::use_context::<leptos_axum::ResponseOptions>().filter(|_| !form_post)
        {
            response.set_status(
                axum::http::StatusCode::from_u16(self.status())
                    .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
        <JsonEncoding as leptos::server_fn::Encodes<Self>>::encode(self)
            .unwrap_or_else(|_| leptos::server_fn::Bytes::from_static(b"\"Internal\""))
    }
}

/// The body of every REST error.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Machine-readable kind: unauthenticated, forbidden, not_found, conflict, too_large, invalid,
    /// too_many_requests, internal.
    pub code: &'static str,
    pub message: String,
}

/// Logs `cause` (never sent to the caller) and returns [`AppError::Internal`].
#[cfg(feature = "ssr")]
pub fn internal(cause: impl std::fmt::Display) -> AppError {
    tracing::error!(%cause, "request failed");
    AppError::Internal
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        use axum::http::{header, HeaderValue, StatusCode};
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.message(),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::AppError;

    #[test]
    fn statuses_and_messages_follow_the_variant() {
        let e = AppError::invalid("split", "unknown split `x`");
        assert_eq!((e.status(), e.code()), (422, "invalid"));
        assert_eq!(e.message(), "field `split`: unknown split `x`");
        assert_eq!(AppError::Internal.message(), "internal error");
        assert_eq!(AppError::TooManyRequests.status(), 429);
    }
}
