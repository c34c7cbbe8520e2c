//! Constitutions over HTTP: list versions and show one (reviewers), save the next version of a
//! constitution (admins).

use super::{auth::Caller, error::ApiError};
use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::get,
    Json, Router,
};
use pairwise_core::{dto::ConstitutionView, requests::SaveConstitution};
use pairwise_pipeline::constitutions;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/constitutions", get(list).post(save))
        .route("/constitutions/{reference}", get(show))
}

/// Every version of every constitution, newest version first within a name.
#[utoipa::path(get, path = "/api/v1/constitutions", tag = "constitutions",
    responses((status = 200, body = Vec<ConstitutionView>), (status = 403, body = super::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ConstitutionView>>, ApiError> {
    Ok(Json(
        constitutions::list_constitutions(&state.db, &caller.actor()).await?,
    ))
}

/// One version: `NAME` (the latest) or `NAME@VERSION`.
#[utoipa::path(get, path = "/api/v1/constitutions/{reference}", tag = "constitutions",
    params(("reference" = String, Path)),
    responses((status = 200, body = ConstitutionView), (status = 404, body = super::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
) -> Result<Json<ConstitutionView>, ApiError> {
    Ok(Json(
        constitutions::show_constitution(&state.db, &caller.actor(), &reference).await?,
    ))
}

/// Saves `{name, spec: {principles: [{name, critique, revision}]}}` as the next version of
/// `name` (admin); an unchanged spec is a conflict (409).
#[utoipa::path(post, path = "/api/v1/constitutions", tag = "constitutions",
    request_body(content = Object, description = "`{name, spec: {principles: [{name, critique, revision}]}}`"),
    responses((status = 201, body = ConstitutionView), (status = 403, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn save(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<SaveConstitution>,
) -> Result<(StatusCode, Json<ConstitutionView>), ApiError> {
    let view = constitutions::save_constitution(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(view)))
}
