//! Server functions of the /runs page: generation and judge runs (reviewers start, cancel and
//! retry them).

use crate::error::AppError;
use leptos::{prelude::*, server_fn::codec::Json};
use pairwise_core::{dto::RunView, run_requests::GenerateRequest};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, parse_field};
#[cfg(feature = "ssr")]
use pairwise_pipeline::runs;

#[server]
pub async fn list_runs() -> Result<Vec<RunView>, AppError> {
    Ok(runs::list_runs(&db()?, &actor()?, None, 50).await?)
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
    /// The checkbox: present, every judge prompt asks the judge to leave length out.
    #[server(default)]
    length_controlled: Option<String>,
    /// Gold items to judge beside the candidates (empty: the default).
    #[server(default)]
    gold_items: Option<String>,
) -> Result<RunView, AppError> {
    let mode = parse_field("mode", &mode)?;
    let mut request = pairwise_core::run_requests::JudgeRequest::new(project, model, rubric, mode);
    request.length_controlled = length_controlled.is_some();
    if let Some(n) = gold_items
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        request.gold_items = n.parse().map_err(|_| {
            AppError::invalid(
                "gold_items",
                format!("`{n}` is not a whole number of items"),
            )
        })?;
    }
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
