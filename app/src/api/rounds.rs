//! Server functions of the /rounds page (iteration rounds side by side) and of judge duels
//! (a round against the previous one; a version's guard pairs against their originals).

#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::dto::{RoundView, RunView};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db};

#[server]
pub async fn list_rounds(project: String) -> Result<Vec<RoundView>, AppError> {
    Ok(pairwise_pipeline::rounds::list_rounds(&db()?, &actor()?, &project).await?)
}

/// Run ids from a comma-separated field.
#[cfg(feature = "ssr")]
fn run_ids(field: &'static str, text: &str) -> Result<Vec<i64>, AppError> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.trim_start_matches('#')
                .parse()
                .map_err(|_| AppError::invalid(field, format!("`{t}` is not a run id")))
        })
        .collect()
}

/// Records the project's next round from the /rounds form.
#[server]
pub async fn save_round(
    project: String,
    generator: String,
    #[server(default)] name: String,
    #[server(default)] generation_runs: String,
    #[server(default)] judge_runs: String,
    #[server(default)] dataset_version: Option<String>,
    #[server(default)] eval_run: Option<String>,
    #[server(default)] note: String,
) -> Result<RoundView, AppError> {
    let present = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let request = pairwise_core::run_requests::SaveRound {
        project,
        number: None,
        name,
        generator,
        generation_runs: run_ids("generation_runs", &generation_runs)?,
        judge_runs: run_ids("judge_runs", &judge_runs)?,
        dataset_version: present(dataset_version),
        eval_run: present(eval_run)
            .map(|e| {
                run_ids("eval_run", &e)?
                    .first()
                    .copied()
                    .ok_or_else(|| AppError::invalid("eval_run", "not a run id"))
            })
            .transpose()?,
        note,
    };
    Ok(pairwise_pipeline::rounds::save_round(&db()?, &actor()?, request).await?)
}

/// Starts a judge duel: `round` set compares that round with the previous one, else the
/// project's guard pairs (of `dataset_version`, where given) are checked.
#[server]
pub async fn start_duel(
    project: String,
    judge: String,
    #[server(default)] round: Option<i32>,
    #[server(default)] dataset_version: Option<String>,
    #[server(default)] limit: Option<String>,
) -> Result<RunView, AppError> {
    use pairwise_core::duel::DuelSource;
    let limit = limit
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim()
                .parse::<u64>()
                .map_err(|_| AppError::invalid("limit", format!("`{l}` is not a whole number")))
        })
        .transpose()?;
    let source = match round {
        Some(round) => DuelSource::Round { round },
        None => DuelSource::Guards {
            dataset_version: dataset_version.filter(|v| !v.trim().is_empty()),
        },
    };
    let mut request = pairwise_core::run_requests::DuelRequest::new(project, judge, source);
    request.limit = limit;
    Ok(pairwise_pipeline::runs::start_duel(&db()?, &actor()?, request).await?)
}
