//! Server functions of the /runs page: generation and judge runs (reviewers start, cancel and
//! retry them).

// A form's server function takes one argument per field.
#![allow(clippy::too_many_arguments)]

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

/// Starts a critique → revision loop from the runs page's form.
#[server]
pub async fn start_critique(
    project: String,
    generator: String,
    critic: String,
    #[server(default)] reviser: Option<String>,
    constitution: String,
    rounds: String,
    split: String,
    #[server(default)] limit: Option<String>,
    max_new_tokens: String,
    #[server(default)] seed: Option<String>,
) -> Result<RunView, AppError> {
    fn number<T: std::str::FromStr>(field: &'static str, value: &str) -> Result<T, AppError> {
        value
            .trim()
            .parse()
            .map_err(|_| AppError::invalid(field, format!("`{value}` is not a whole number")))
    }
    let present = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let mut request = pairwise_core::run_requests::CritiqueRequest::new(project, generator, critic);
    request.reviser = present(reviser);
    request.constitution = constitution;
    request.rounds = number("rounds", &rounds)?;
    request.split = split;
    request.limit = present(limit).map(|l| number("limit", &l)).transpose()?;
    request.max_new_tokens = number("max_new_tokens", &max_new_tokens)?;
    request.seed = present(seed).map(|s| number("seed", &s)).transpose()?;
    Ok(runs::start_critique(&db()?, &actor()?, request).await?)
}

/// Loops shown per page of a critique run.
pub const LOOP_PAGE: u64 = 50;

/// A critique run and one page of its loops.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CritiqueLoopsPage {
    pub run: RunView,
    pub loops: Vec<pairwise_core::dto::CritiqueLoopView>,
}

/// The loops of a critique run (its /runs/:id/critiques page).
#[server]
pub async fn critique_loops(run: i64, offset: u64) -> Result<CritiqueLoopsPage, AppError> {
    let (db, actor) = (db()?, actor()?);
    let loops = runs::critique_loops(&db, &actor, run, offset, LOOP_PAGE).await?;
    let run = runs::show_run(&db, &actor, run).await?;
    Ok(CritiqueLoopsPage { run, loops })
}
