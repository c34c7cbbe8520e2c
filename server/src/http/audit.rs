//! The audit log over HTTP (admin): `GET /api/v1/audit` with filters on actor, action, project
//! and time, paged, newest first.

use super::{auth::Caller, error::ApiError};
use app::ssr::AppState;
use axum::{
    extract::{Query, State},
    routing::get,
    Json, Router,
};
use pairwise_core::{
    audit_query::AuditQuery,
    dto::{AuditView, Page},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

/// One page of the audit log: `{"total", "limit", "offset", "items"}` (admin).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditView>), (status = 403, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Page<AuditView>>, ApiError> {
    let page = pairwise_pipeline::audit::list_entries(&state.db, &caller.actor(), query).await?;
    Ok(Json(page))
}
