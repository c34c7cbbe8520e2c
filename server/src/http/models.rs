//! The models registry over HTTP: list models (reviewer), register a model directory or a model
//! served by an OpenAI-compatible server (admin; the server is checked first).

use super::{
    auth::Caller,
    error::{ApiError, ErrorBody},
};
use app::ssr::AppState;
use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use pairwise_core::{dto::ModelView, requests::RegisterModel, Role};
use pairwise_store::models;

pub fn router() -> Router<AppState> {
    Router::new().route("/models", get(list_models).post(register_model))
}

/// Registered models (reviewer, admin). A remote model shows its base URL as `path`, never a key.
#[utoipa::path(get, path = "/api/v1/models", tag = "models", responses((status = 200, body = Vec<ModelView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_models(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ModelView>>, ApiError> {
    caller.require(Role::Reviewer)?;
    Ok(Json(models::list(&state.db).await?))
}

/// Registers a model (admin): `dir` on the server, or `remote: {url, model, api_key_env?,
/// concurrency?, timeout_secs?}` (checked with `GET {url}/models`; 422 names what failed).
#[utoipa::path(post, path = "/api/v1/models", tag = "models", request_body = RegisterModel,
    responses((status = 201, body = ModelView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn register_model(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<RegisterModel>,
) -> Result<(StatusCode, Json<ModelView>), ApiError> {
    let view =
        pairwise_pipeline::models::register_model(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(view)))
}
