//! REST for leaderboards: `GET /api/v1/projects/{name}/leaderboard` (reviewers of the project).

use super::{auth::Caller, error::ApiError};
use app::ssr::AppState;
use axum::{
    extract::{Path, Query, State},
    routing::get,
    Json, Router,
};
use pairwise_core::leaderboard::{LeaderboardRequest, LeaderboardView};

pub fn router() -> Router<AppState> {
    Router::new().route("/projects/{name}/leaderboard", get(show))
}

/// The project's generators, paths or transforms ranked by Bradley–Terry with bootstrap 95%
/// intervals: the judge's board (one rubric version) beside the humans', and their Spearman ρ.
#[utoipa::path(get, path = "/api/v1/projects/{name}/leaderboard", tag = "projects",
    params(("name" = String, Path), LeaderboardRequest),
    responses((status = 200, body = LeaderboardView), (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(request): Query<LeaderboardRequest>,
) -> Result<Json<LeaderboardView>, ApiError> {
    Ok(Json(
        pairwise_pipeline::leaderboard::show_leaderboard(
            &state.db,
            &caller.actor(),
            &name,
            &request,
        )
        .await?,
    ))
}
