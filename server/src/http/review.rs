//! REST for a reviewer's annotation work: the review step (`GET /api/v1/projects/{name}/review`
//! lists votes for review, `POST` the same path accepts, rejects or requeues them), filling the
//! annotation queue and making queued pair items gold (reviewers of the project).

use super::{auth::Caller, error::ApiError};
use app::ssr::AppState;
use axum::{
    extract::{Path, Query, State},
    routing::{get, post},
    Json, Router,
};
use pairwise_core::annotation::review::{ReviewFilter, ReviewList, ReviewOutcome, ReviewRequest};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{name}/review", get(list).post(decide))
        .route("/projects/{name}/queue/fill", post(fill))
        .route("/projects/{name}/gold/from-pairs", post(gold_from_pairs))
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FillRequest {
    /// At most this many pairs (default: all).
    pub limit: Option<u64>,
    /// Mark every new item red-team (content warning, hidden from opted-out annotators).
    #[serde(default)]
    pub redteam: bool,
    /// Seed for which side of each pair is X (reproducible queues).
    pub seed: Option<u64>,
}

/// Queues items for blind review: inconsistent pairwise judge verdicts first, then the
/// project's pairs by smallest judge margin, imports last. Audited.
#[utoipa::path(post, path = "/api/v1/projects/{name}/queue/fill", tag = "annotation",
    params(("name" = String, Path)), request_body = FillRequest,
    responses((status = 200, description = "`{judge_inconsistent, pairs}`, each `{added, duplicates, redteam}`"), (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn fill(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<FillRequest>,
) -> Result<Json<pairwise_core::dto::QueueFill>, ApiError> {
    Ok(Json(
        pairwise_pipeline::annotation::fill_queue(
            &state.db,
            &caller.actor(),
            &name,
            request.limit.unwrap_or(u64::MAX),
            request.redteam,
            request.seed,
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GoldFromPairsRequest {
    /// How many queued pair items become silent gold (the pair's chosen side is the answer).
    pub n: u64,
}

/// Makes `n` queued pair items silent gold items. Audited.
#[utoipa::path(post, path = "/api/v1/projects/{name}/gold/from-pairs", tag = "annotation",
    params(("name" = String, Path)), request_body = GoldFromPairsRequest,
    responses((status = 200, description = "`{\"gold\": N}`: items made gold"), (status = 404, body = super::error::ErrorBody)))]
pub async fn gold_from_pairs(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<GoldFromPairsRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let n = pairwise_pipeline::annotation::gold_from_pairs(
        &state.db,
        &caller.actor(),
        &name,
        request.n,
    )
    .await?;
    Ok(Json(serde_json::json!({ "gold": n })))
}
