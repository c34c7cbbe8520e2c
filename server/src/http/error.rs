//! The JSON error of the REST API: `{"error": {"code", "message"}}` with a matching status.

use app::error::AppError;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use pairwise_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: no valid session or token.
    #[error("authentication required")]
    Unauthenticated,
    /// 403: the caller's role may not do this.
    #[error("your role may not do this")]
    Forbidden,
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 413: the request body is larger than the configured limit.
    #[error("request body too large")]
    TooLarge,
    /// 422: invalid input; the message names the line or field.
    #[error("{0}")]
    Invalid(String),
    /// 429: too many attempts.
    #[error("too many attempts, try again later")]
    TooManyRequests,
    /// 500: logged with its cause, shown without it.
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable kind: unauthenticated, forbidden, not_found, conflict, too_large, invalid,
    /// too_many_requests, internal.
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            Self::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let mut response = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code,
                    message: self.to_string(),
                },
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(msg) => Self::Conflict(msg),
            e @ StoreError::Invalid { .. } => Self::Invalid(e.to_string()),
            StoreError::Db(e) => Self::Internal(e.to_string()),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthenticated => Self::Unauthenticated,
            AppError::Forbidden => Self::Forbidden,
            AppError::NotFound(what) => Self::NotFound(what),
            AppError::Conflict(msg) => Self::Conflict(msg),
            e @ AppError::Invalid { .. } => Self::Invalid(e.to_string()),
            AppError::Internal | AppError::Transport(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<pairwise_pipeline::ImportError> for ApiError {
    fn from(e: pairwise_pipeline::ImportError) -> Self {
        match e {
            pairwise_pipeline::ImportError::Parse(e) => Self::Invalid(e.to_string()),
            pairwise_pipeline::ImportError::Store(e) => e.into(),
            pairwise_pipeline::ImportError::Denied(e) => e.into(),
        }
    }
}

impl From<pairwise_pipeline::PipelineError> for ApiError {
    fn from(e: pairwise_pipeline::PipelineError) -> Self {
        use pairwise_pipeline::PipelineError as P;
        match e {
            P::NotFound(what) => Self::NotFound(what),
            P::Forbidden { .. } => Self::Forbidden,
            P::Invalid { field, message } => Self::Invalid(format!("field `{field}`: {message}")),
            P::Store(e) => e.into(),
            other => Self::Internal(other.to_string()),
        }
    }
}
