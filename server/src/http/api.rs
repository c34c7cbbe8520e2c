//! The REST API as a whole: the OpenAPI document at `/api/v1/openapi.json` (every route of the
//! domain modules), `GET /api/v1/me` and `GET /health`. The routes live in `http/<domain>.rs`.

use super::{
    auth::{Caller, MeResponse},
    error::ErrorBody,
};
use app::ssr::AppState;
use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use pairwise_core::{
    dto::{ImportReport, ProjectView, PromptView, RunView, UserView},
    requests::CreateProject,
    Role, Split,
};
use serde::Serialize;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Pairwise API", description = "Scripts' access to Pairwise. Authenticate with `Authorization: Bearer <token>` (from `pairwise user token` or the Users page) or with the session cookie of `POST /api/v1/auth/login`."),
    paths(
        health, me, super::users::list_users, super::projects::list_projects, super::projects::create_project,
        super::prompts::list_prompts, super::prompts::import_prompts_raw,
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
