//! The REST API for scripts under `/api/v1`, described by the OpenAPI document at
//! `/api/v1/openapi.json`, and `GET /health`.

use super::{
    auth::{Caller, MeResponse},
    error::{ApiError, ErrorBody},
    security::is_body_limit,
};
use app::ssr::AppState;
use axum::{
    body::Body,
    extract::{DefaultBodyLimit, Path, Query, State},
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use futures_util::StreamExt;
use pairwise_core::{
    dto::{ImportReport, Page, ProjectView, PromptView, RunView, UserView},
    requests::CreateProject,
    ImportFormat, Role, Split,
};
use pairwise_pipeline::{import_prompts, ImportOptions};
use pairwise_store::{projects, prompts, users};
use serde::{Deserialize, Serialize};
use std::io::{BufReader, Write};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Pairwise API", description = "Scripts' access to Pairwise. Authenticate with `Authorization: Bearer <token>` (from `pairwise user token` or the Users page) or with the session cookie of `POST /api/v1/auth/login`."),
    paths(
        health, me, list_users, list_projects, create_project, list_prompts, import_prompts_raw,
        super::auth::login_json, super::auth::logout_json,
        super::datasets::list, super::datasets::freeze, super::datasets::show, super::datasets::diff, super::datasets::export,
        super::runs::list, super::runs::show, super::runs::generate, super::runs::judge,
        super::runs::reference, super::runs::cancel, super::runs::retry, super::audit::list
    ),
    components(schemas(ErrorBody, super::error::ErrorDetail, UserView, ProjectView, PromptView, ImportReport, Role, Split, MeResponse, CreateProject, Health, pairwise_core::requests::FreezeRequest, pairwise_core::run_requests::GenerateRequest, pairwise_core::run_requests::JudgeRequest, pairwise_core::run_requests::ReferenceRequest, pairwise_core::dto::AuditView, pairwise_core::dto::DatasetVersionView, pairwise_core::dto::DatasetDiff, pairwise_core::dto::StatDelta, RunView)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/me", get(me))
        .route("/users", get(list_users))
        .route("/projects", get(list_projects).post(create_project))
        .route("/projects/{name}/prompts", get(list_prompts))
        .route(
            "/projects/{name}/prompts/import",
            post(import_prompts_raw).layer(DefaultBodyLimit::disable()),
        )
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when the database answers and no migration is pending.
    pub status: &'static str,
    /// `ok` or the failure.
    pub database: String,
    /// Newest applied migration.
    pub migration: Option<String>,
    pub version: &'static str,
    /// The ONNX Runtime library and its execution providers (`cpu`, and `cuda` where it loads).
    #[schema(value_type = Object)]
    pub inference: pairwise_inference::runtime::RuntimeReport,
}

/// Liveness and readiness.
#[utoipa::path(get, path = "/health", tag = "meta", security(()), responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let version = env!("CARGO_PKG_VERSION");
    // Loading the runtime library is a one-time dlopen; later calls only read the report.
    let inference = tokio::task::spawn_blocking(pairwise_inference::runtime::report)
        .await
        .unwrap_or_else(|e| pairwise_inference::runtime::RuntimeReport {
            status: e.to_string(),
            library: None,
            providers: Vec::new(),
        });
    match pairwise_store::migration_status(&state.db).await {
        Ok((migration, 0)) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                database: "ok".into(),
                migration,
                version,
                inference,
            }),
        ),
        Ok((migration, pending)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "degraded",
                database: format!("{pending} migrations pending"),
                migration,
                version,
                inference,
            }),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "error",
                database: e.to_string(),
                migration: None,
                version,
                inference,
            }),
        ),
    }
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub async fn me(caller: Caller) -> Json<MeResponse> {
    Json(MeResponse::from(&caller.0))
}

/// Every user (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Vec<UserView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(users::list(&state.db).await?))
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

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PromptQuery {
    /// Rows per page, 1–500 (default 50).
    pub limit: Option<u64>,
    /// Rows to skip (default 0).
    pub offset: Option<u64>,
    pub split: Option<Split>,
    /// Case-insensitive substring of the prompt text.
    pub q: Option<String>,
}

/// One page of a project's prompts: `{"total", "limit", "offset", "items"}` (reviewer, admin).
#[utoipa::path(get, path = "/api/v1/projects/{name}/prompts", tag = "prompts", params(("name" = String, Path), PromptQuery),
    responses((status = 200, body = Page<PromptView>), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_prompts(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<PromptQuery>,
) -> Result<Json<Page<PromptView>>, ApiError> {
    caller.require(Role::Reviewer)?;
    let project = projects::require(&state.db, &name).await?;
    let filter = prompts::PromptFilter {
        split: query.split,
        search: query.q,
    };
    Ok(Json(
        prompts::page(
            &state.db,
            project.id,
            &filter,
            query.limit.unwrap_or(50),
            query.offset.unwrap_or(0),
        )
        .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// `jsonl` or `csv`.
    pub format: ImportFormat,
    /// Split for every prompt (else each record's own, else train).
    pub split: Option<Split>,
    /// Domain for every prompt.
    pub domain: Option<String>,
    /// Source recorded where a record names none.
    pub source: Option<String>,
}

/// Imports prompts from the raw request body (JSONL or CSV), atomically (reviewer, admin).
/// A bad line → 422 naming the line and field, and nothing stored.
#[utoipa::path(post, path = "/api/v1/projects/{name}/prompts/import", tag = "prompts", params(("name" = String, Path), ImportQuery),
    request_body(content = String, content_type = "application/octet-stream"),
    responses((status = 200, body = ImportReport), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_prompts_raw(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<ImportQuery>,
    body: Body,
) -> Result<Json<ImportReport>, ApiError> {
    let actor = caller.actor();
    pairwise_pipeline::access::require(&actor, Role::Reviewer, "import prompts")?;
    projects::require(&state.db, &name).await?;
    let mut tmp = tempfile::NamedTempFile::new().map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if is_body_limit(&e) {
                ApiError::TooLarge
            } else {
                ApiError::Invalid(format!("unreadable body: {e}"))
            }
        })?;
        tmp.write_all(&chunk)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    tmp.flush().map_err(|e| ApiError::Internal(e.to_string()))?;
    let options = ImportOptions {
        format: query.format,
        defaults: prompts::InsertDefaults {
            split: query.split,
            domain: query.domain,
            source: query.source,
        },
        actor,
    };
    let reader = BufReader::new(
        tmp.reopen()
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(Json(
        import_prompts(&state.db, &name, reader, &options, |_| ()).await?,
    ))
}
