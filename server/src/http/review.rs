//! REST for the review step: `GET /api/v1/projects/{name}/review` lists votes for review,
//! `POST /api/v1/projects/{name}/review` accepts, rejects or requeues them (reviewers of the
//! project).

use super::{auth::Caller, error::ApiError};
use app::ssr::AppState;
use axum::{
    extract::{Path, Query, State},
    routing::get,
    Json, Router,
};
use pairwise_core::annotation::review::{ReviewFilter, ReviewList, ReviewOutcome, ReviewRequest};

pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{name}/review", get(list).post(decide))
}

/// The project's votes that the filter selects (oldest first, at most `limit`), each with its
/// item's agreement, gold result, time on task against the reading-speed minimum and review
/// state; `counts` has every main and gold vote by review state.
#[utoipa::path(get, path = "/api/v1/projects/{name}/review", tag = "annotation",
    params(("name" = String, Path), ReviewFilter),
    responses((status = 200, body = ReviewList), (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(filter): Query<ReviewFilter>,
) -> Result<Json<ReviewList>, ApiError> {
    Ok(Json(
        pairwise_pipeline::review::list(&state.db, &caller.actor(), &name, &filter).await?,
    ))
}

/// Accepts, rejects (a reason is required) or requeues votes, all or none: a rejected or
/// requeued vote no longer counts as data, a requeued one's slot goes back to the queue for
/// another annotator. Audited.
#[utoipa::path(post, path = "/api/v1/projects/{name}/review", tag = "annotation",
    params(("name" = String, Path)), request_body = ReviewRequest,
    responses((status = 200, body = ReviewOutcome), (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<ReviewRequest>,
) -> Result<Json<ReviewOutcome>, ApiError> {
    Ok(Json(
        pairwise_pipeline::review::decide(&state.db, &caller.actor(), &name, &request).await?,
    ))
}
