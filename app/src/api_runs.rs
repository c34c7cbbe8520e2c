//! Server functions of the pipeline pages: models (admin), rubric versions (admin), runs
//! (reviewers start, cancel and retry them) and the candidate browser. Each parses its input,
//! calls the use case in `pairwise_pipeline` and maps the error.

use crate::error::AppError;
use leptos::{prelude::*, server_fn::codec::Json};
#[cfg(feature = "ssr")]
use pairwise_core::Role;
use pairwise_core::{
    dto::{ModelView, PromptCandidates, RubricView, RunView},
    rubric::RubricChange,
    run_requests::GenerateRequest,
};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, parse_field, require};
#[cfg(feature = "ssr")]
use pairwise_pipeline::{models as registry, rubrics as rubric_actions, runs};
#[cfg(feature = "ssr")]
use pairwise_store::{candidates, jobs, models, projects, rubrics};

/// Prompts per page of the candidate browser.
pub const CANDIDATE_PAGE: u64 = 5;

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
    let request = pairwise_core::requests::RegisterModel {
        name,
        kind,
        dir,
        device,
    };
    Ok(registry::register_model(&db()?, &actor()?, request).await?)
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
    let spec = serde_json::from_str(&spec).map_err(|e| AppError::Invalid {
        field: "spec".into(),
        message: format!("line {} column {}: {e}", e.line(), e.column()),
    })?;
    let request = pairwise_core::requests::SaveRubric {
        name,
        spec,
        force: force.is_some_and(|f| !f.is_empty()),
    };
    Ok(rubric_actions::save_rubric(&db()?, &actor()?, request).await?)
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

/// Starts a generation run; the runs page builds the request from its form in the browser.
#[server(input = Json)]
pub async fn start_generation(request: GenerateRequest) -> Result<RunView, AppError> {
    Ok(runs::start_generation(&db()?, &actor()?, request).await?)
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
    let mode = parse_field("mode", &mode)?;
    let request = pairwise_core::run_requests::JudgeRequest::new(project, model, rubric, mode);
    Ok(runs::start_judge(&db()?, &actor()?, request).await?)
}

#[server]
pub async fn cancel_run(id: i64) -> Result<(), AppError> {
    runs::cancel_run(&db()?, &actor()?, id).await?;
    Ok(())
}

#[server]
pub async fn retry_run(id: i64) -> Result<(), AppError> {
    runs::retry_run(&db()?, &actor()?, id).await?;
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
