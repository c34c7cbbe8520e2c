//! Server functions of /calibration (reviewers): the report, the κ gate, releasing quarantine
//! and promoting items to gold.

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::{
    annotation::CalibrationReport,
    dto::{HumanPairsReport, QueueFill},
};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, member_project};
#[cfg(feature = "ssr")]
use pairwise_core::Role;

#[server]
pub async fn calibration(project: String) -> Result<CalibrationReport, AppError> {
    // Everything from the request context first: it may be gone after an await.
    let db = db()?;
    member_project(&project, Role::Reviewer).await?;
    pairwise_pipeline::calibration::report(&db, &project)
        .await
        .map_err(AppError::from)
}

#[server]
pub async fn run_kappa_gate(project: String) -> Result<u64, AppError> {
    Ok(pairwise_pipeline::annotation::run_kappa_gate(&db()?, &actor()?, &project).await?)
}

#[server]
pub async fn release_quarantine(project: String, id: i64) -> Result<(), AppError> {
    let (db, actor) = (db()?, actor()?);
    Ok(pairwise_pipeline::annotation::release_quarantine(&db, &actor, &project, id).await?)
}

/// Builds pairs from the human majority of each item (reviewer), overall or on one dimension
/// (empty: overall); the checkbox counts quarantined votes too.
#[server]
pub async fn build_human_pairs(
    project: String,
    min_votes: u64,
    #[server(default)] dimension: Option<String>,
    #[server(default)] include_quarantined: Option<String>,
    #[server(default)] accepted_votes_only: Option<String>,
) -> Result<HumanPairsReport, AppError> {
    let (db, actor) = (db()?, actor()?);
    let request = pairwise_core::requests::HumanPairsRequest {
        min_votes,
        include_quarantined: include_quarantined.is_some(),
        dimension: dimension.filter(|d| !d.trim().is_empty()),
        votes: if accepted_votes_only.is_some() {
            pairwise_core::annotation::review::VoteSelection::Accepted
        } else {
            Default::default()
        },
    };
    Ok(pairwise_pipeline::annotation::build_human_pairs(&db, &actor, &project, request).await?)
}

/// Makes an item gold with an agreed answer (`x`, `y`, `tie`, `both_bad`).
#[server]
pub async fn promote_gold(project: String, item: i64, answer: String) -> Result<(), AppError> {
    let (db, actor) = (db()?, actor()?);
    pairwise_pipeline::annotation::promote_gold(&db, &actor, &project, item, &answer).await?;
    Ok(())
}

/// Fills the annotation queue (reviewer): inconsistent judge verdicts first, then at most
/// `limit` of the project's pairs (empty: all); the checkbox marks every new item red-team.
#[server]
pub async fn fill_queue(
    project: String,
    #[server(default)] limit: Option<u64>,
    #[server(default)] redteam: Option<String>,
) -> Result<QueueFill, AppError> {
    let (db, actor) = (db()?, actor()?);
    let limit = limit.unwrap_or(u64::MAX);
    Ok(pairwise_pipeline::annotation::fill_queue(
        &db,
        &actor,
        &project,
        limit,
        redteam.is_some(),
        None,
    )
    .await?)
}

/// Makes `n` queued pair items gold, the pair's chosen side being the agreed answer
/// (reviewer); returns how many became gold.
#[server]
pub async fn gold_from_pairs(project: String, n: u64) -> Result<u64, AppError> {
    let (db, actor) = (db()?, actor()?);
    Ok(pairwise_pipeline::annotation::gold_from_pairs(&db, &actor, &project, n).await?)
}
