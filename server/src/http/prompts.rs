//! Prompts over HTTP (reviewers): pages of a project's prompts, and atomic imports from a raw
//! request body (scripts) or a multipart form (the browser, in [`upload`]).

pub mod upload;

use super::{
    auth::Caller,
    error::{internal, ApiError, ErrorBody},
    security::is_body_limit,
};
use app::ssr::AppState;
use axum::{
    body::Body,
    extract::{DefaultBodyLimit, Path, Query, State},
    routing::{get, post},
    Json, Router,
};
use futures_util::StreamExt;
use pairwise_core::{
    dto::{ImportReport, Page, PromptView},
    ImportFormat, Role, Split,
};
use pairwise_pipeline::{import_prompts, ImportOptions};
use pairwise_store::prompts;
use serde::Deserialize;
use std::io::{BufReader, Write};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{name}/prompts", get(list_prompts))
        .route("/projects/{name}/prompts/{id}", get(get_prompt))
        .route(
            "/projects/{name}/prompts/import",
            post(import_prompts_raw).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/projects/{name}/pairs/import",
            post(import_pairs_raw).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/projects/{name}/gold/import",
            post(import_gold_raw).layer(DefaultBodyLimit::disable()),
        )
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
    let project = caller.project(&state.db, &name, Role::Reviewer).await?;
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

/// One prompt, whole (lists cut long texts; see `truncated`) (reviewer, admin).
#[utoipa::path(get, path = "/api/v1/projects/{name}/prompts/{id}", tag = "prompts",
    params(("name" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = PromptView), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_prompt(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, i64)>,
) -> Result<Json<PromptView>, ApiError> {
    let project = caller.project(&state.db, &name, Role::Reviewer).await?;
    Ok(Json(prompts::get(&state.db, project.id, id).await?))
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
    pairwise_pipeline::access::project(&state.db, &actor, &name, Role::Reviewer, "import prompts")
        .await?;
    let tmp = body_to_file(body).await?;
    let options = ImportOptions {
        format: query.format,
        defaults: prompts::InsertDefaults {
            split: query.split,
            domain: query.domain,
            source: query.source,
        },
        actor,
    };
    let reader = BufReader::new(tmp.reopen().map_err(internal)?);
    Ok(Json(
        import_prompts(&state.db, &name, reader, &options, |_| ()).await?,
    ))
}

/// Streams a raw request body into a temporary file (bounded by the body limit).
pub(crate) async fn body_to_file(body: Body) -> Result<tempfile::NamedTempFile, ApiError> {
    let mut tmp = tempfile::NamedTempFile::new().map_err(internal)?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if is_body_limit(&e) {
                ApiError::TooLarge
            } else {
                ApiError::invalid("body", format!("unreadable body: {e}"))
            }
        })?;
        tmp.write_all(&chunk).map_err(internal)?;
    }
    tmp.flush().map_err(internal)?;
    Ok(tmp)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PairImportQuery {
    /// `trl`, `hh-rlhf` or `ultrafeedback`.
    #[param(value_type = String)]
    pub format: pairwise_core::PairFormat,
    /// Source recorded on the pairs (default `api`).
    pub source: Option<String>,
}

async fn import_pair_body(
    state: &AppState,
    caller: Caller,
    name: &str,
    query: PairImportQuery,
    body: Body,
    gold: bool,
) -> Result<Json<pairwise_core::dto::PairImportReport>, ApiError> {
    let actor = caller.actor();
    let action = if gold { "import gold" } else { "import pairs" };
    pairwise_pipeline::access::project(&state.db, &actor, name, Role::Reviewer, action).await?;
    let tmp = body_to_file(body).await?;
    let options = upload::PairFileOptions {
        format: query.format,
        gold,
        source: query.source.as_deref().unwrap_or("api"),
    };
    Ok(Json(
        upload::import_pair_file(&state.db, &actor, name, &tmp, options).await?,
    ))
}

/// Imports preference pairs from the raw request body — JSONL (gzip allowed) or Parquet —
/// atomically (reviewer, admin): a bad line → 422 naming the line and field, nothing stored.
#[utoipa::path(post, path = "/api/v1/projects/{name}/pairs/import", tag = "pairs", params(("name" = String, Path), PairImportQuery),
    request_body(content = String, content_type = "application/octet-stream"),
    responses((status = 200, body = pairwise_core::dto::PairImportReport), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_pairs_raw(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<PairImportQuery>,
    body: Body,
) -> Result<Json<pairwise_core::dto::PairImportReport>, ApiError> {
    import_pair_body(&state, caller, &name, query, body, false).await
}

/// Imports a golden set from the raw request body (JSONL, gzip allowed): each row's chosen
/// answer is the agreed answer of a new silent gold item. Atomic like a pair import.
#[utoipa::path(post, path = "/api/v1/projects/{name}/gold/import", tag = "annotation", params(("name" = String, Path), PairImportQuery),
    request_body(content = String, content_type = "application/octet-stream"),
    responses((status = 200, body = pairwise_core::dto::PairImportReport), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_gold_raw(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<PairImportQuery>,
    body: Body,
) -> Result<Json<pairwise_core::dto::PairImportReport>, ApiError> {
    import_pair_body(&state, caller, &name, query, body, true).await
}
