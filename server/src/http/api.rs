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
        health, me, super::users::list_users, super::models::list_models, super::models::register_model, super::projects::list_projects, super::projects::create_project,
        super::projects::show_project, super::projects::list_members, super::projects::set_member, super::projects::remove_member,
        super::prompts::list_prompts, super::prompts::get_prompt, super::prompts::import_prompts_raw,
        super::auth::login_json, super::auth::logout_json,
        super::datasets::list, super::datasets::freeze, super::datasets::show, super::datasets::diff, super::datasets::export, super::datasets::report,
        super::runs::list, super::runs::show, super::runs::generate, super::runs::judge,
        super::runs::reference, super::runs::critique, super::runs::critique_loops, super::runs::eval, super::runs::evals, super::runs::duel, super::runs::rounds, super::runs::save_round, super::runs::refusal_check, super::runs::refusal_checks, super::constitutions::list, super::constitutions::show, super::constitutions::save, super::runs::build, super::runs::cancel, super::runs::retry, super::runs::events, super::runs::build_pairs, super::runs::build_human_pairs, super::leaderboard::show, super::review::list, super::review::decide, super::review::fill, super::review::gold_from_pairs, super::prompts::import_pairs_raw, super::prompts::import_gold_raw, super::audit::list
    ),
    components(schemas(ErrorBody, pairwise_core::dto::ModelView, pairwise_core::requests::RegisterModel, pairwise_core::requests::RemoteModelRequest, pairwise_core::dto::MemberView, pairwise_core::requests::SetMember, super::error::ErrorDetail, UserView, ProjectView, PromptView, ImportReport, Role, Split, MeResponse, CreateProject, Health, pairwise_core::requests::FreezeRequest, pairwise_core::run_requests::GenerateRequest, pairwise_core::run_requests::JudgeRequest, pairwise_core::run_requests::ReferenceRequest, pairwise_core::run_requests::CritiqueRequest, pairwise_core::run_requests::EvalRequest, pairwise_core::dto::EvalPointView, pairwise_core::run_requests::DuelRequest, pairwise_core::duel::DuelSource, pairwise_core::duel::DuelTally, pairwise_core::run_requests::SaveRound, pairwise_core::run_requests::RefusalCheckRequest, pairwise_core::dto::RefusalCheckView, pairwise_core::dto::RoundView, pairwise_core::dto::DuelView, pairwise_core::dto::RunGoldView, pairwise_core::eval::EvalFigures, pairwise_core::dto::ConstitutionView, pairwise_core::dto::CritiqueLoopView, pairwise_core::requests::BuildRequest, pairwise_core::requests::BuildPairsRequest, pairwise_core::strategy::Strategy, pairwise_core::strategy::RankedPick, pairwise_core::leaderboard::LeaderboardView, pairwise_core::leaderboard::Standing, pairwise_core::leaderboard::BoardBy, pairwise_core::annotation::review::ReviewList, pairwise_core::annotation::review::ReviewRow, pairwise_core::annotation::review::ReviewMark, pairwise_core::annotation::review::ReviewState, pairwise_core::annotation::review::ReviewDecision, pairwise_core::annotation::review::GoldFilter, pairwise_core::annotation::review::ReviewRequest, pairwise_core::annotation::review::ReviewOutcome, super::review::FillRequest, super::review::GoldFromPairsRequest, pairwise_core::requests::Builder, pairwise_core::dto::AuditView, pairwise_core::dto::DatasetVersionView, pairwise_core::dto::DatasetDiff, pairwise_core::dto::StatDelta, RunView)),
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

/// Liveness and readiness. Anonymous callers (load balancers, probes) get the status alone;
/// admins also get the database state, the newest migration, the version and the inference
/// runtime (library path, providers), which would otherwise tell an attacker about the server.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when the database answers and no migration is pending; `degraded` or `error` else.
    pub status: &'static str,
    /// `ok` or the failure (admins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Newest applied migration (admins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration: Option<String>,
    /// The server's version (admins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'static str>,
    /// The ONNX Runtime library and its execution providers (`cpu`, and `cuda` where it loads;
    /// admins).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub inference: Option<pairwise_inference::runtime::RuntimeReport>,
}

/// Liveness and readiness (details for admins only).
#[utoipa::path(get, path = "/health", tag = "meta", security(()), responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> (StatusCode, Json<Health>) {
    let admin = parts
        .extensions
        .get::<app::ssr::Auth>()
        .and_then(|a| a.user.as_ref())
        .is_some_and(|u| u.role.at_least(Role::Admin));
    let (code, status, database, migration) =
        match pairwise_store::migration_status(&state.db).await {
            Ok((migration, 0)) => (StatusCode::OK, "ok", "ok".to_owned(), migration),
            Ok((migration, pending)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "degraded",
                format!("{pending} migrations pending"),
                migration,
            ),
            Err(e) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "error",
                e.to_string(),
                None,
            ),
        };
    if !admin {
        return (
            code,
            Json(Health {
                status,
                database: None,
                migration: None,
                version: None,
                inference: None,
            }),
        );
    }
    // Loading the runtime library is a one-time dlopen; later calls only read the report.
    let inference = tokio::task::spawn_blocking(pairwise_inference::runtime::report)
        .await
        .unwrap_or_else(|e| pairwise_inference::runtime::RuntimeReport {
            status: e.to_string(),
            library: None,
            providers: Vec::new(),
        });
    (
        code,
        Json(Health {
            status,
            database: Some(database),
            migration,
            version: Some(env!("CARGO_PKG_VERSION")),
            inference: Some(inference),
        }),
    )
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub async fn me(caller: Caller) -> Json<MeResponse> {
    Json(MeResponse::from(&caller.0))
}
