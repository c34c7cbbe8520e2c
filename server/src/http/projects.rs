//! Projects over HTTP: list them (reviewer) and create one (admin).

use super::{
    auth::Caller,
    error::{ApiError, ErrorBody},
};
use app::ssr::AppState;
use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use pairwise_core::{dto::ProjectView, requests::CreateProject, Role};
use pairwise_store::projects;

pub fn router() -> Router<AppState> {
    Router::new().route("/projects", get(list_projects).post(create_project))
}

/// Every project with its prompt count (reviewer, admin).
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", responses((status = 200, body = Vec<ProjectView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ProjectView>>, ApiError> {
    caller.require(Role::Reviewer)?;
    Ok(Json(projects::list(&state.db).await?))
}

/// Creates a project (admin).
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = CreateProject,
    responses((status = 201, body = ProjectView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_project(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CreateProject>,
) -> Result<(StatusCode, Json<ProjectView>), ApiError> {
    let project =
        pairwise_pipeline::projects::create_project(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(project)))
}
