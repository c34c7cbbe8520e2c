//! Projects over HTTP: list them (each caller sees their own), create one and manage its members
//! (admin).

use super::{
    auth::Caller,
    error::{ApiError, ErrorBody},
};
use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get},
    Json, Router,
};
use pairwise_core::{
    dto::{MemberView, ProjectView},
    requests::{CreateProject, SetMember},
    Role,
};
use pairwise_pipeline::projects as actions;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list_projects).post(create_project))
        .route("/projects/{name}", get(show_project))
        .route(
            "/projects/{name}/members",
            get(list_members).post(set_member),
        )
        .route("/projects/{name}/members/{username}", delete(remove_member))
}

/// The projects the caller may see, with prompt counts: every project for admins, their
/// memberships for reviewers.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", responses((status = 200, body = Vec<ProjectView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ProjectView>>, ApiError> {
    let actor = caller.actor();
    caller.require(Role::Reviewer)?;
    Ok(Json(actions::list_projects(&state.db, &actor).await?))
}

/// One project (a reviewer member, or an admin).
#[utoipa::path(get, path = "/api/v1/projects/{name}", tag = "projects", params(("name" = String, Path)),
    responses((status = 200, body = ProjectView), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn show_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<ProjectView>, ApiError> {
    Ok(Json(
        actions::get_project(&state.db, &caller.actor(), &name).await?,
    ))
}

/// The members of a project and their roles in it (admin).
#[utoipa::path(get, path = "/api/v1/projects/{name}/members", tag = "projects", params(("name" = String, Path)),
    responses((status = 200, body = Vec<MemberView>), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<MemberView>>, ApiError> {
    Ok(Json(
        actions::list_members(&state.db, &caller.actor(), &name).await?,
    ))
}

/// Makes a user a member with a role (`annotator` or `reviewer`), or changes it (admin).
#[utoipa::path(post, path = "/api/v1/projects/{name}/members", tag = "projects", params(("name" = String, Path)), request_body = SetMember,
    responses((status = 200, body = MemberView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<SetMember>,
) -> Result<Json<MemberView>, ApiError> {
    Ok(Json(
        actions::set_member(&state.db, &caller.actor(), &name, request).await?,
    ))
}

/// Removes a member (admin); their votes stay.
#[utoipa::path(delete, path = "/api/v1/projects/{name}/members/{username}", tag = "projects",
    params(("name" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    actions::remove_member(&state.db, &caller.actor(), &name, &username).await?;
    Ok(StatusCode::NO_CONTENT)
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
