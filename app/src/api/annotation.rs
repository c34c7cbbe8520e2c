//! Server functions of /annotate (annotators): the queue, votes, undo, skip and the red-team
//! opt-out; and a project's annotation settings (reviewers, on /calibration).
//!
//! What an annotator's browser receives is exactly [`Showing`], [`AnnotateQueue`],
//! [`AnnotateProject`] and [`VoteReceipt`]: no model names, sources, scores, gold flags, kinds
//! of showing or other people's votes. The endpoints are fixed (`/api/annotate/…`) so scripts
//! and the load benchmark can call them with a bearer token.

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::annotation::{AnnotateProject, AnnotateQueue, VoteReceipt};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db};
#[cfg(feature = "ssr")]
use pairwise_core::{annotation::Showing, ChatMessage};
#[cfg(feature = "ssr")]
use pairwise_pipeline::annotation as actions;
#[cfg(feature = "ssr")]
use pairwise_store::{annotation, entities};

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
    Ok(actions::projects(&db()?, &actor()?).await?)
}

/// The caller's current item and up to `want - 1` prefetched ones.
#[server(endpoint = "annotate/queue")]
pub async fn fetch_queue(project: String, want: u32) -> Result<AnnotateQueue, AppError> {
    let q = actions::next_items(&db()?, &actor()?, &project, want).await?;
    Ok(AnnotateQueue {
        project: q.project,
        items: q.items.iter().map(|(a, c)| showing(a, c)).collect(),
        done: q.done,
        remaining: q.remaining,
        redteam_opt_out: q.redteam_opt_out,
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
    let dimensions = [
        ("helpful", helpful),
        ("honest", honest),
        ("harmless", harmless),
    ]
    .into_iter()
    .filter_map(|(d, c)| c.filter(|c| !c.is_empty()).map(|c| (d.to_owned(), c)))
    .collect();
    let vote = annotation::NewVote {
        choice,
        dimensions,
        rationale: rationale.unwrap_or_default(),
        duration_ms,
    };
    Ok(actions::vote(&db()?, &actor()?, assignment, vote).await?)
}

#[server(endpoint = "annotate/undo")]
pub async fn annotate_undo(assignment: i64) -> Result<(), AppError> {
    Ok(actions::undo(&db()?, &actor()?, assignment).await?)
}

/// Skip as distressing: recorded, never counted against the annotator.
#[server(endpoint = "annotate/skip")]
pub async fn annotate_skip(assignment: i64) -> Result<(), AppError> {
    Ok(actions::skip(&db()?, &actor()?, assignment).await?)
}

#[server(endpoint = "annotate/redteam-opt-out")]
pub async fn set_redteam_opt_out(opt_out: bool) -> Result<(), AppError> {
    Ok(actions::set_redteam_opt_out(&db()?, &actor()?, opt_out).await?)
}

/// Saves a project's queue and calibration settings (the form names its fields
/// `settings[overlap]`, …; an unticked checkbox is `false`).
#[server]
pub async fn save_annotation_settings(
    project: String,
    settings: pairwise_core::annotation::AnnotationSettings,
) -> Result<(), AppError> {
    let (db, actor) = (db()?, actor()?);
    pairwise_pipeline::annotation::save_settings(&db, &actor, &project, settings).await?;
    Ok(())
}
