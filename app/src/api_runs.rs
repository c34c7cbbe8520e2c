//! Server functions of the pipeline pages: models (admin), rubric versions (admin), runs
//! (reviewers start, cancel and retry them) and the candidate browser.
// The generation form has one field per argument; the server-fn macro copies the signature.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use pairwise_core::Role;
use pairwise_core::{
    dto::{ModelView, PromptCandidates, RubricView, RunView},
    rubric::RubricChange,
};

#[cfg(feature = "ssr")]
use crate::ssr::{db, require};
#[cfg(feature = "ssr")]
use pairwise_store::{audit, candidates, jobs, models, projects, rubrics};

/// Prompts per page of the candidate browser.
pub const CANDIDATE_PAGE: u64 = 5;

#[cfg(feature = "ssr")]
impl From<pairwise_pipeline::PipelineError> for AppError {
    fn from(e: pairwise_pipeline::PipelineError) -> Self {
        use pairwise_pipeline::PipelineError as P;
        match e {
            P::NotFound(what) => AppError::NotFound(what),
            P::Invalid { field, message } => AppError::Invalid {
                field: field.to_owned(),
                message,
            },
            P::Store(e) => e.into(),
            other => {
                tracing::error!(error = %other, "pipeline error");
                AppError::Internal
            }
        }
    }
}

#[server]
pub async fn list_models() -> Result<Vec<ModelView>, AppError> {
    require(Role::Reviewer)?;
    Ok(models::list(&db()?).await?)
}

#[server]
pub async fn register_model(
    name: String,
    kind: String,
    dir: String,
    device: String,
) -> Result<ModelView, AppError> {
    let admin = require(Role::Admin)?;
    let db = db()?;
    let path = std::path::PathBuf::from(dir.trim());
    let path = path.canonicalize().map_err(|e| AppError::Invalid {
        field: "dir".into(),
        message: format!("{}: {e}", path.display()),
    })?;
    let version = pairwise_pipeline::runs::open_version(path.clone()).await?;
    let view = models::register(
        &db,
        models::NewModel {
            name: name.trim().to_owned(),
            kind,
            path: path.display().to_string(),
            version,
            device,
            created_by: Some(admin.id),
        },
    )
    .await?;
    audit::record(
        &db,
        Some(admin.id),
        "model.register",
        &format!("model:{}", view.name),
        serde_json::json!({"version": view.version}),
    )
    .await?;
    Ok(view)
}

#[server]
pub async fn list_rubrics() -> Result<Vec<RubricView>, AppError> {
    require(Role::Reviewer)?;
    Ok(rubrics::list(&db()?).await?)
}

/// Saves `spec` (JSON) as the next version of `name`.
#[server]
pub async fn save_rubric(
    name: String,
    spec: String,
    force: Option<String>,
) -> Result<RubricView, AppError> {
    let admin = require(Role::Admin)?;
    let parsed: pairwise_core::rubric::RubricSpec =
        serde_json::from_str(&spec).map_err(|e| AppError::Invalid {
            field: "spec".into(),
            message: format!("line {} column {}: {e}", e.line(), e.column()),
        })?;
    let db = db()?;
    let view = rubrics::save(
        &db,
        name.trim(),
        &parsed,
        force.is_some_and(|f| !f.is_empty()),
        Some(admin.id),
    )
    .await?;
    audit::record(
        &db,
        Some(admin.id),
        "rubric.save",
        &format!("rubric:{}@{}", view.name, view.version),
        serde_json::json!({}),
    )
    .await?;
    Ok(view)
}

#[server]
pub async fn rubric_diff(a: String, b: String) -> Result<Vec<RubricChange>, AppError> {
    require(Role::Reviewer)?;
    let db = db()?;
    let (ra, rb) = (rubrics::show(&db, &a).await?, rubrics::show(&db, &b).await?);
    Ok(pairwise_core::rubric::diff(&ra.spec, &rb.spec))
}

#[server]
pub async fn list_runs() -> Result<Vec<RunView>, AppError> {
    require(Role::Reviewer)?;
    Ok(jobs::list(&db()?, None, 50).await?)
}

/// Starts a generation run from the runs page's form.
#[server]
pub async fn start_generation(
    project: String,
    model: String,
    n: u32,
    conservative: Option<String>,
    diverse: Option<String>,
    adversarial: Option<String>,
    max_new_tokens: u32,
    limit: Option<String>,
    split: Option<String>,
    presets: Option<String>,
    confirm: Option<String>,
) -> Result<RunView, AppError> {
    let user = require(Role::Reviewer)?;
    let mut request = pairwise_pipeline::GenerateRequest::new(project, model);
    request.n = n;
    use pairwise_core::generation::GenerationPath as G;
    request.paths = [
        (conservative, G::Conservative),
        (diverse, G::Diverse),
        (adversarial, G::Adversarial),
    ]
    .into_iter()
    .filter(|(on, _)| on.as_deref().is_some_and(|v| !v.is_empty()))
    .map(|(_, path)| path)
    .collect();
    request.max_new_tokens = max_new_tokens;
    request.limit = match limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => Some(l.parse().map_err(|_| AppError::Invalid {
            field: "limit".into(),
            message: format!("`{l}` is not a number"),
        })?),
        None => None,
    };
    request.split = match split.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse().map_err(|message| AppError::Invalid {
            field: "split".into(),
            message,
        })?),
        None => None,
    };
    if let Some(text) = presets.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        request.presets = serde_json::from_str(text).map_err(|e| AppError::Invalid {
            field: "presets".into(),
            message: format!("line {} column {}: {e}", e.line(), e.column()),
        })?;
    }
    request.confirm_high_temperature = confirm.is_some_and(|c| !c.is_empty());
    let db = db()?;
    let run = pairwise_pipeline::create_generation(&db, request, Some(user.id)).await?;
    audit::record(
        &db,
        Some(user.id),
        "run.generate",
        &format!("run:{}", run.id),
        serde_json::json!({"project": run.project}),
    )
    .await?;
    Ok(run)
}

/// The default decoding preset of every path, as the generation form shows it for editing.
pub fn default_presets_json() -> String {
    use pairwise_core::generation::GenerationPath;
    let presets: std::collections::BTreeMap<GenerationPath, _> = GenerationPath::ALL
        .into_iter()
        .map(|p| (p, p.default_preset()))
        .collect();
    serde_json::to_string_pretty(&presets).unwrap_or_default()
}

/// Starts a judge run from the runs page's form.
#[server]
pub async fn start_judge(
    project: String,
    model: String,
    rubric: String,
    mode: String,
) -> Result<RunView, AppError> {
    let user = require(Role::Reviewer)?;
    let mode = mode.parse().map_err(|message| AppError::Invalid {
        field: "mode".into(),
        message,
    })?;
    let request = pairwise_pipeline::JudgeRequest::new(project, model, rubric, mode);
    let db = db()?;
    let run = pairwise_pipeline::create_judge(&db, request, Some(user.id)).await?;
    audit::record(
        &db,
        Some(user.id),
        "run.judge",
        &format!("run:{}", run.id),
        serde_json::json!({"project": run.project, "mode": mode.as_str()}),
    )
    .await?;
    Ok(run)
}

#[server]
pub async fn cancel_run(id: i64) -> Result<(), AppError> {
    let user = require(Role::Reviewer)?;
    let db = db()?;
    jobs::cancel(&db, id).await?;
    audit::record(
        &db,
        Some(user.id),
        "run.cancel",
        &format!("run:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}

#[server]
pub async fn retry_run(id: i64) -> Result<(), AppError> {
    let user = require(Role::Reviewer)?;
    let db = db()?;
    jobs::retry(&db, id).await?;
    audit::record(
        &db,
        Some(user.id),
        "run.retry",
        &format!("run:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}

/// One page of a project's prompts that have candidates, each with all its candidates.
#[server]
pub async fn candidate_page(
    project: String,
    offset: u64,
) -> Result<pairwise_core::dto::Page<PromptCandidates>, AppError> {
    require(Role::Reviewer)?;
    let db = db()?;
    let p = projects::require(&db, &project).await?;
    let (total, ids) =
        candidates::prompts_with_candidates(&db, p.id, offset, CANDIDATE_PAGE).await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        items.push(candidates::for_prompt(&db, p.id, id).await?);
    }
    Ok(pairwise_core::dto::Page {
        total,
        limit: CANDIDATE_PAGE,
        offset,
        items,
    })
}

/// A dataset version with its quality report (the version page).
#[server]
pub async fn version_report(
    project: String,
    tag: String,
    against: Option<String>,
) -> Result<
    (
        pairwise_core::dto::DatasetVersionView,
        pairwise_core::dto::QualityReport,
    ),
    AppError,
> {
    require(Role::Reviewer)?;
    let db = db()?;
    let p = projects::require(&db, &project).await?;
    let version = pairwise_store::datasets::get_view(&db, p.id, &tag).await?;
    let against = against.filter(|a| !a.trim().is_empty());
    let report = pairwise_pipeline::quality_report(&db, &project, &tag, against.as_deref()).await?;
    Ok((version, report))
}
