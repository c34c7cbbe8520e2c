//! Server functions of /annotate (annotators) and /calibration (reviewers).
//!
//! What an annotator's browser receives is exactly [`Showing`], [`AnnotateQueue`],
//! [`AnnotateProject`] and [`VoteReceipt`]: no model names, sources, scores, gold flags, kinds
//! of showing or other people's votes. The endpoints are fixed (`/api/annotate/…`) so scripts
//! and the load benchmark can call them with a bearer token.

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::annotation::{AnnotateProject, AnnotateQueue, CalibrationReport, VoteReceipt};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, require};
#[cfg(feature = "ssr")]
use pairwise_core::{annotation::Showing, ChatMessage, Role};
#[cfg(feature = "ssr")]
use pairwise_store::{annotation, entities, projects};

/// An annotator's view of a pending showing (the only place a showing is turned into what the
/// browser gets).
#[cfg(feature = "ssr")]
pub fn showing(a: &entities::assignment::Model, c: &entities::comparison::Model) -> Showing {
    let (left, right) = if a.left_side == "x" {
        (&c.answer_x, &c.answer_y)
    } else {
        (&c.answer_y, &c.answer_x)
    };
    let prompt = serde_json::from_str::<Vec<ChatMessage>>(&c.prompt).unwrap_or_else(|_| {
        vec![ChatMessage {
            role: "user".into(),
            content: c.prompt_text.clone(),
        }]
    });
    Showing {
        assignment: a.id,
        prompt,
        left: left.clone(),
        right: right.clone(),
        left_html: pairwise_core::markdown::render(left),
        right_html: pairwise_core::markdown::render(right),
        content_warning: c.redteam,
    }
}

#[server(endpoint = "annotate/projects")]
pub async fn annotate_projects() -> Result<Vec<AnnotateProject>, AppError> {
    let me = require(Role::Annotator)?;
    Ok(annotation::projects_for(&db()?, me.id).await?)
}

/// The caller's current item and up to `want - 1` prefetched ones.
#[server(endpoint = "annotate/queue")]
pub async fn fetch_queue(project: String, want: u32) -> Result<AnnotateQueue, AppError> {
    let me = require(Role::Annotator)?;
    let db = db()?;
    let p = projects::require(&db, &project).await?;
    let items = annotation::next(&db, p.id, me.id, want.clamp(1, 20) as usize).await?;
    let (done, remaining) = annotation::progress(&db, p.id, me.id).await?;
    Ok(AnnotateQueue {
        project: p.name,
        items: items.iter().map(|(a, c)| showing(a, c)).collect(),
        done,
        remaining,
        redteam_opt_out: annotation::redteam_opt_out(&db, me.id).await?,
    })
}

#[server(endpoint = "annotate/vote")]
pub async fn annotate_vote(
    assignment: i64,
    choice: String,
    helpful: Option<String>,
    honest: Option<String>,
    harmless: Option<String>,
    rationale: Option<String>,
    duration_ms: i64,
) -> Result<VoteReceipt, AppError> {
    let me = require(Role::Annotator)?;
    let dimensions = [
        ("helpful", helpful),
        ("honest", honest),
        ("harmless", harmless),
    ]
    .into_iter()
    .filter_map(|(d, c)| c.filter(|c| !c.is_empty()).map(|c| (d.to_owned(), c)))
    .collect();
    let v = annotation::vote(
        &db()?,
        me.id,
        assignment,
        &annotation::NewVote {
            choice,
            dimensions,
            rationale: rationale.unwrap_or_default(),
            duration_ms,
        },
    )
    .await?;
    let until = v.created_at + chrono::Duration::seconds(pairwise_core::annotation::UNDO_SECONDS);
    Ok(VoteReceipt {
        assignment,
        undo_until: until.to_rfc3339(),
    })
}

#[server(endpoint = "annotate/undo")]
pub async fn annotate_undo(assignment: i64) -> Result<(), AppError> {
    let me = require(Role::Annotator)?;
    Ok(annotation::undo(&db()?, me.id, assignment).await?)
}

/// Skip as distressing: recorded, never counted against the annotator.
#[server(endpoint = "annotate/skip")]
pub async fn annotate_skip(assignment: i64) -> Result<(), AppError> {
    let me = require(Role::Annotator)?;
    Ok(annotation::skip(&db()?, me.id, assignment).await?)
}

#[server(endpoint = "annotate/redteam-opt-out")]
pub async fn set_redteam_opt_out(opt_out: bool) -> Result<(), AppError> {
    let me = require(Role::Annotator)?;
    Ok(annotation::set_redteam_opt_out(&db()?, me.id, opt_out).await?)
}

#[server]
pub async fn calibration(project: String) -> Result<CalibrationReport, AppError> {
    require(Role::Reviewer)?;
    pairwise_pipeline::calibration::report(&db()?, &project)
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

/// Makes an item gold with an agreed answer (`x`, `y`, `tie`, `both_bad`).
#[server]
pub async fn promote_gold(project: String, item: i64, answer: String) -> Result<(), AppError> {
    let (db, actor) = (db()?, actor()?);
    pairwise_pipeline::annotation::promote_gold(&db, &actor, &project, item, &answer).await?;
    Ok(())
}

#[server]
pub async fn save_annotation_settings(
    project: String,
    overlap: i32,
    repeat_rate: f64,
    gold_rate: f64,
    max_pending: i32,
    lease_seconds: i32,
    kappa_threshold: f64,
) -> Result<(), AppError> {
    let settings = pairwise_core::annotation::AnnotationSettings {
        overlap,
        repeat_rate,
        gold_rate,
        max_pending,
        lease_seconds,
        kappa_threshold,
    };
    let (db, actor) = (db()?, actor()?);
    pairwise_pipeline::annotation::save_settings(&db, &actor, &project, settings).await?;
    Ok(())
}
