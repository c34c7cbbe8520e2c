//! The review step (reviewers of a project): list annotators' votes by annotator, item
//! agreement, gold result, time on task and review state, and accept, reject or requeue them.
//! Every decision is audited with its votes and reason; the vote's current state is stored
//! beside it. What a decision does to the data is described in
//! [`pairwise_core::annotation::review`].

use crate::{access, error::Result, PipelineError};
use pairwise_core::{
    annotation::review::{
        select, ReviewFilter, ReviewInput, ReviewList, ReviewOutcome, ReviewRequest,
    },
    Actor, Role,
};
use pairwise_store::{annotation as store, audit, DatabaseConnection};
use serde_json::json;
use std::collections::BTreeMap;

/// Characters of the prompt and of each answer a review row carries.
const PROMPT_PREVIEW: usize = 400;
const ANSWER_PREVIEW: usize = 1500;

fn preview(text: &str, limit: usize) -> String {
    let mut out: String = text.chars().take(limit).collect();
    if text.chars().nth(limit).is_some() {
        out.push('…');
    }
    out
}

/// The votes of `project` that `filter` selects, oldest first, with their items' texts.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    filter: &ReviewFilter,
) -> Result<ReviewList> {
    let p = access::project(db, actor, project, Role::Reviewer, "review votes").await?;
    filter
        .validate()
        .map_err(|(field, message)| PipelineError::invalid(field, message))?;
    let settings = store::settings(db, p.id).await?;
    let data = store::calibration_data(db, p.id).await?;
    let marks = store::marks(db, p.id).await?;
    let mut selected = select(
        &ReviewInput {
            votes: &data.votes,
            items: &data.items,
            marks: &marks,
            chars_per_s: settings.fast_vote_chars_per_s,
        },
        filter,
    );
    let texts: BTreeMap<i64, _> =
        store::comparisons(db, p.id, selected.rows.iter().map(|r| r.item))
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    for row in &mut selected.rows {
        if let Some(c) = texts.get(&row.item) {
            row.prompt = preview(&c.prompt_text, PROMPT_PREVIEW);
            row.answer_x = preview(&c.answer_x, ANSWER_PREVIEW);
            row.answer_y = preview(&c.answer_y, ANSWER_PREVIEW);
        }
    }
    Ok(ReviewList {
        project: p.name,
        matched: selected.matched,
        rows: selected.rows,
        counts: selected.counts,
        annotators: selected.annotators,
    })
}

/// Accepts, rejects (a reason is required) or requeues votes of `project`, all or none.
pub async fn decide(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    request: &ReviewRequest,
) -> Result<ReviewOutcome> {
    let p = access::project(db, actor, project, Role::Reviewer, "review votes").await?;
    let reason = request
        .validate()
        .map_err(|(field, message)| PipelineError::invalid(field, message))?;
    let outcome = store::decide(
        db,
        p.id,
        &request.votes,
        request.decision,
        &reason,
        &actor.name,
    )
    .await?;
    audit::record(
        db,
        actor,
        "annotation.review",
        &format!("project:{project}"),
        Some(project),
        json!({
            "votes": request.votes,
            "decision": request.decision,
            "reason": reason,
            "outcome": outcome,
        }),
    )
    .await?;
    Ok(outcome)
}
