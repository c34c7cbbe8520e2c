//! Prompt upload from the browser: a multipart form streamed to a temporary file (bounded by the
//! body limit), then imported atomically; the page gets the outcome in its query string.

use super::super::{
    auth::Caller,
    error::{internal, ApiError},
    security::is_body_limit,
};
use app::ssr::AppState;
use axum::{
    extract::{DefaultBodyLimit, Multipart, Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::post,
    Router,
};
use pairwise_core::{
    requests::{BuildRequest, Builder},
    ImportFormat, Role, Split,
};
use pairwise_pipeline::{import_prompts, ImportOptions};
use pairwise_store::prompts::InsertDefaults;
use std::io::{BufReader, Write};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{name}/import", post(import_form))
        .route("/projects/{name}/build", post(build_form))
        .route("/projects/{name}/import-pairs", post(pairs_form))
        // The global RequestBodyLimitLayer bounds uploads; axum's 2 MB default would be too small.
        .layer(DefaultBodyLimit::disable())
}

/// A file received into a temporary file, with the form's other fields.
pub struct Upload {
    pub file: tempfile::NamedTempFile,
    pub file_name: String,
    pub split: Option<Split>,
    pub domain: Option<String>,
    /// The domain builder a build form names.
    pub builder: Option<String>,
    /// The pair format a pair or gold import names.
    pub format: Option<String>,
    /// `pairs` or `gold` (a pair import form).
    pub target: Option<String>,
}

async fn receive(mut multipart: Multipart) -> Result<Upload, ApiError> {
    let limit = |e: axum::extract::multipart::MultipartError| {
        if is_body_limit(&e) || e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::invalid("file", format!("unreadable upload: {e}"))
        }
    };
    let (mut file, mut file_name, mut split, mut domain) = (None, String::new(), None, None);
    let (mut builder, mut format, mut target) = (None, None, None);
    while let Some(mut field) = multipart.next_field().await.map_err(limit)? {
        match field.name().unwrap_or_default() {
            "file" => {
                file_name = field.file_name().unwrap_or_default().to_owned();
                let mut tmp = tempfile::NamedTempFile::new().map_err(internal)?;
                while let Some(chunk) = field.chunk().await.map_err(limit)? {
                    tmp.write_all(&chunk).map_err(internal)?;
                }
                tmp.flush().map_err(internal)?;
                file = Some(tmp);
            }
            "split" => {
                let text = field.text().await.map_err(limit)?;
                if !text.is_empty() {
                    split = Some(
                        text.parse::<Split>()
                            .map_err(|e| ApiError::invalid("split", e))?,
                    );
                }
            }
            "domain" => {
                let text = field.text().await.map_err(limit)?;
                domain = Some(text.trim().to_owned()).filter(|d| !d.is_empty());
            }
            "builder" => builder = Some(field.text().await.map_err(limit)?),
            "format" => format = Some(field.text().await.map_err(limit)?),
            "target" => target = Some(field.text().await.map_err(limit)?),
            _ => {}
        }
    }
    let file = file.ok_or_else(|| ApiError::invalid("file", "no file was sent"))?;
    Ok(Upload {
        file,
        file_name,
        split,
        domain,
        builder,
        format,
        target,
    })
}

async fn import_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let actor = caller.actor();
    // The project and the caller's place in it are checked before the upload is read: a
    // non-member gets 403/404 like the REST routes, never a redirect.
    pairwise_pipeline::access::project(&state.db, &actor, &name, Role::Reviewer, "import prompts")
        .await?;
    let back = format!("/projects/{}/prompts", urlencoding::encode(&name));
    let outcome = async {
        let upload = receive(multipart).await?;
        let format =
            ImportFormat::from_path(std::path::Path::new(&upload.file_name)).ok_or_else(|| {
                ApiError::invalid(
                    "file",
                    format!(
                        "`{}` is not .jsonl, .json, .ndjson or .csv",
                        upload.file_name
                    ),
                )
            })?;
        let options = ImportOptions {
            format,
            defaults: InsertDefaults {
                split: upload.split,
                domain: upload.domain,
                source: Some(upload.file_name.clone()),
            },
            actor,
        };
        let reader = BufReader::new(upload.file.reopen().map_err(internal)?);
        Ok::<_, ApiError>(import_prompts(&state.db, &name, reader, &options, |_| ()).await?)
    }
    .await;
    let outcome = outcome.map(|report| {
        format!(
            "{back}?imported={}&duplicates={}",
            report.inserted, report.duplicates
        )
    });
    redirect(outcome, &back, "import_error")
}

/// Where a form goes next: `to` on success; a refused input back to `back` with its message in
/// `error_key`; anything else (internal, too large, forbidden) as the error response itself.
fn redirect(
    to: Result<String, ApiError>,
    back: &str,
    error_key: &str,
) -> Result<Response, ApiError> {
    Ok(match to {
        Ok(to) => Redirect::to(&to),
        Err(e @ (ApiError::Internal | ApiError::TooLarge | ApiError::Forbidden)) => return Err(e),
        Err(e) => Redirect::to(&format!(
            "{back}?{error_key}={}",
            urlencoding::encode(&e.to_string())
        )),
    }
    .into_response())
}

/// Queues a domain build of the uploaded file (gzip undone) and sends the browser to /runs,
/// where its progress is live; a refused input comes back to the prompts page with its error.
async fn build_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let actor = caller.actor();
    // The project and the caller's place in it are checked before the upload is read: a
    // non-member gets 403/404 like the REST routes, never a redirect.
    pairwise_pipeline::access::project(&state.db, &actor, &name, Role::Reviewer, "build pairs")
        .await?;
    let back = format!("/projects/{}/prompts", urlencoding::encode(&name));
    let outcome = async {
        let upload = receive(multipart).await?;
        let builder = upload
            .builder
            .as_deref()
            .unwrap_or("math")
            .parse::<Builder>()
            .map_err(|e| ApiError::invalid("builder", e))?;
        let mut bytes = Vec::new();
        pairwise_pipeline::maybe_gunzip(upload.file.reopen().map_err(internal)?)
            .and_then(|mut r| std::io::Read::read_to_end(&mut r, &mut bytes))
            .map_err(|e| ApiError::invalid("file", format!("unreadable: {e}")))?;
        let input = String::from_utf8(bytes)
            .map_err(|e| ApiError::invalid("file", format!("not UTF-8: {e}")))?;
        let request = BuildRequest {
            project: name.clone(),
            builder,
            input,
            source: upload.file_name,
            mutants: None,
            mutant_budget: None,
            generator: None,
        };
        Ok::<_, ApiError>(
            pairwise_pipeline::builders::jobs::start_build(&state.db, &actor, request).await?,
        )
    }
    .await;
    let outcome = outcome.map(|run| {
        format!(
            "/runs?project={}&queued={}",
            urlencoding::encode(&name),
            run.id
        )
    });
    redirect(outcome, &back, "build_error")
}

/// Imports an uploaded pair file (JSONL, gzip or Parquet) as pairs, or (`target=gold`) as gold
/// items, atomically: a bad line stores nothing and its error, naming the line and field, comes
/// back to the page. Pairs go back to the versions page, gold to /calibration.
async fn pairs_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let actor = caller.actor();
    // The project and the caller's place in it are checked before the upload is read: a
    // non-member gets 403/404 like the REST routes, never a redirect.
    pairwise_pipeline::access::project(&state.db, &actor, &name, Role::Reviewer, "import pairs")
        .await?;
    let project = urlencoding::encode(&name).into_owned();
    let upload = match receive(multipart).await {
        Ok(upload) => upload,
        Err(e) => {
            let back = format!("/projects/{project}/datasets");
            return redirect(Err(e), &back, "pairs_error");
        }
    };
    let gold = upload.target.as_deref() == Some("gold");
    let (back, error_key) = if gold {
        (format!("/projects/{project}/calibration"), "gold_error")
    } else {
        (format!("/projects/{project}/datasets"), "pairs_error")
    };
    let outcome = async {
        let format = upload
            .format
            .as_deref()
            .unwrap_or("trl")
            .parse::<pairwise_core::PairFormat>()
            .map_err(|e| ApiError::invalid("format", e))?;
        import_pair_file(
            &state.db,
            &actor,
            &name,
            &upload.file,
            PairFileOptions {
                format,
                gold,
                source: &upload.file_name,
            },
        )
        .await
    }
    .await;
    let key = if gold { "gold" } else { "pairs" };
    let outcome = outcome.map(|r| {
        format!(
            "{back}?{key}_imported={}&{key}_duplicates={}&{key}_rows={}",
            r.inserted, r.duplicates, r.rows
        )
    });
    redirect(outcome, &back, error_key)
}

/// What a pair file holds and where it goes.
pub(crate) struct PairFileOptions<'a> {
    pub format: pairwise_core::PairFormat,
    /// Gold items instead of pairs.
    pub gold: bool,
    /// The source recorded on the pairs (the file name).
    pub source: &'a str,
}

/// Imports a received pair file as pairs or gold items of `project`, atomically: the upload form
/// and the REST route share it.
pub(crate) async fn import_pair_file(
    db: &pairwise_store::DatabaseConnection,
    actor: &pairwise_core::Actor,
    project: &str,
    file: &tempfile::NamedTempFile,
    o: PairFileOptions<'_>,
) -> Result<pairwise_core::dto::PairImportReport, ApiError> {
    let handle = file.reopen().map_err(internal)?;
    let rows = pairwise_pipeline::PairRows::open(handle, |f| Box::new(f))
        .map_err(|e| ApiError::invalid("file", e.to_string()))?;
    if o.gold {
        let pairwise_pipeline::PairRows::Lines(lines) = rows else {
            return Err(ApiError::invalid(
                "file",
                "a gold set is JSONL (gzip allowed), not Parquet",
            ));
        };
        return Ok(
            pairwise_pipeline::import_gold(db, project, lines, o.format, o.source, actor).await?,
        );
    }
    Ok(
        pairwise_pipeline::import_pair_rows(db, project, rows, o.format, o.source, actor, |_| ())
            .await?,
    )
}
