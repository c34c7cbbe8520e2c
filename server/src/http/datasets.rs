//! Dataset versions over HTTP (reviewers): list, freeze, look at, diff, and download an export
//! streamed page by page. There is no route that changes or deletes a frozen version.

use super::{
    auth::Caller,
    error::{internal, ApiError},
};
use app::ssr::AppState;
use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use pairwise_core::{
    dto::{DatasetDiff, DatasetVersionView},
    requests::FreezeRequest,
    ExportFormat, Role,
};
use pairwise_pipeline::{export_target, ExportChunks};
use pairwise_store::datasets;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{name}/datasets", get(list).post(freeze))
        .route("/projects/{name}/datasets/{tag}", get(show))
        .route("/projects/{name}/datasets/{tag}/diff/{other}", get(diff))
        .route("/projects/{name}/datasets/{tag}/export", get(export))
        .route("/projects/{name}/datasets/{tag}/report", get(report))
}

/// The versions of a project, oldest first.
#[utoipa::path(get, path = "/api/v1/projects/{name}/datasets", tag = "datasets", params(("name" = String, Path)),
    responses((status = 200, body = Vec<DatasetVersionView>), (status = 403, body = super::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<DatasetVersionView>>, ApiError> {
    let p = caller.project(&state.db, &name, Role::Reviewer).await?;
    Ok(Json(datasets::list(&state.db, p.id).await?))
}

/// Freezes a new version (reviewer). An existing tag → 409: frozen versions never change.
#[utoipa::path(post, path = "/api/v1/projects/{name}/datasets", tag = "datasets", params(("name" = String, Path)), request_body = FreezeRequest,
    responses((status = 201, body = DatasetVersionView), (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn freeze(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<FreezeRequest>,
) -> Result<(StatusCode, Json<DatasetVersionView>), ApiError> {
    let version =
        pairwise_pipeline::datasets::freeze_version(&state.db, &caller.actor(), &name, body)
            .await?;
    Ok((StatusCode::CREATED, Json(version)))
}

#[utoipa::path(get, path = "/api/v1/projects/{name}/datasets/{tag}", tag = "datasets", params(("name" = String, Path), ("tag" = String, Path)),
    responses((status = 200, body = DatasetVersionView), (status = 404, body = super::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, tag)): Path<(String, String)>,
) -> Result<Json<DatasetVersionView>, ApiError> {
    let p = caller.project(&state.db, &name, Role::Reviewer).await?;
    Ok(Json(datasets::get_view(&state.db, p.id, &tag).await?))
}

#[utoipa::path(get, path = "/api/v1/projects/{name}/datasets/{tag}/diff/{other}", tag = "datasets",
    params(("name" = String, Path), ("tag" = String, Path), ("other" = String, Path)), responses((status = 200, body = DatasetDiff)))]
pub async fn diff(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, tag, other)): Path<(String, String, String)>,
) -> Result<Json<DatasetDiff>, ApiError> {
    let p = caller.project(&state.db, &name, Role::Reviewer).await?;
    Ok(Json(datasets::diff(&state.db, p.id, &tag, &other).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// trl, trl-conversational, trl-implicit, hh-rlhf, kto, trl-stepwise or sft.
    pub format: String,
    /// `jsonl` (default) or `parquet`.
    pub container: Option<String>,
    /// Only this split of the version (`train` or `eval`); default every pair.
    pub split: Option<String>,
}

/// Downloads a version as JSONL, streamed page by page (constant memory). The file name is made
/// of validated names only, so it cannot carry a path.
#[utoipa::path(get, path = "/api/v1/projects/{name}/datasets/{tag}/export", tag = "datasets",
    params(("name" = String, Path), ("tag" = String, Path), ExportQuery), responses((status = 200, content_type = "application/x-ndjson", body = String)))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, tag)): Path<(String, String)>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    caller.project(&state.db, &name, Role::Reviewer).await?;
    let format: ExportFormat = query
        .format
        .parse()
        .map_err(|e: String| ApiError::invalid("format", e))?;
    match query.container.as_deref().unwrap_or("jsonl") {
        "jsonl" => {}
        "parquet" => {
            return export_parquet(&state, &name, &tag, query.split.as_deref(), format).await
        }
        other => {
            return Err(ApiError::invalid(
                "container",
                format!("`{other}` is not jsonl or parquet"),
            ))
        }
    }
    let target = export_target(&state.db, &name, &tag)
        .await?
        .with_split(query.split.as_deref())?;
    let file = format!(
        "{}-{}{}-{}.jsonl",
        target.project,
        target.tag,
        target
            .only_split
            .map(|s| format!("-{s}"))
            .unwrap_or_default(),
        format.as_str()
    );
    let chunks = ExportChunks::new(&state.db, &target, format);
    let stream = futures_util::stream::unfold(Some(chunks), |chunks| async move {
        let mut chunks = chunks?;
        match chunks.next_chunk().await {
            Ok(None) => None,
            Ok(Some((chunk, _))) => Some((Ok::<_, std::io::Error>(chunk), Some(chunks))),
            Err(e) => {
                tracing::error!(error = %e, "export failed mid-stream");
                Some((Err(std::io::Error::other(e.to_string())), None))
            }
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// Parquet needs its footer written last, so the file is built in an unnamed temporary file
/// (page by page, constant memory) and then streamed; the file vanishes when the download ends.
async fn export_parquet(
    state: &AppState,
    name: &str,
    tag: &str,
    split: Option<&str>,
    format: ExportFormat,
) -> Result<Response, ApiError> {
    let target = export_target(&state.db, name, tag)
        .await?
        .with_split(split)?;
    let temp = tempfile::tempfile().map_err(internal)?;
    let mut writer = std::io::BufWriter::new(temp.try_clone().map_err(internal)?);
    pairwise_pipeline::parquet_io::write_parquet(&state.db, &target, format, &mut writer).await?;
    std::io::Write::flush(&mut writer).map_err(internal)?;
    drop(writer);
    let mut file = tokio::fs::File::from_std(temp);
    tokio::io::AsyncSeekExt::seek(&mut file, std::io::SeekFrom::Start(0))
        .await
        .map_err(internal)?;
    let download = format!(
        "{}-{}{}-{}.parquet",
        target.project,
        target.tag,
        target
            .only_split
            .map(|s| format!("-{s}"))
            .unwrap_or_default(),
        format.as_str()
    );
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.apache.parquet"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{download}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// Also check contamination against this other version.
    pub against: Option<String>,
}

/// The quality report of a version (reviewer).
#[utoipa::path(get, path = "/api/v1/projects/{name}/datasets/{tag}/report", tag = "datasets",
    params(("name" = String, Path), ("tag" = String, Path), ReportQuery),
    responses((status = 200, description = "the quality report"), (status = 404, body = super::error::ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, tag)): Path<(String, String)>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<pairwise_core::dto::QualityReport>, ApiError> {
    caller.project(&state.db, &name, Role::Reviewer).await?;
    Ok(Json(
        pairwise_pipeline::quality_report(&state.db, &name, &tag, query.against.as_deref()).await?,
    ))
}
