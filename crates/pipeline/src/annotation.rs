//! Annotation actions. Annotators: take items from the queue, vote, undo, skip, opt out of red-team
//! items — their votes are the record (annotator, item, time), so these write no audit entry on
//! the hot path. Reviewers: queue settings, filling the queue, gold items, the κ gate (audited).

use crate::{
    access::require,
    error::{PipelineError, Result},
};
use pairwise_core::{
    annotation::{AnnotationSettings, VoteReceipt, UNDO_SECONDS},
    Actor, Role,
};
use pairwise_store::{
    annotation::{self, NewVote, Showing},
    audit, DatabaseConnection,
};
use serde_json::json;

/// The annotator's user row: annotation needs one (the CLI's built-in actor has none).
fn annotator(actor: &Actor) -> Result<i64> {
    require(actor, Role::Annotator, "annotate")?;
    actor
        .id
        .ok_or_else(|| PipelineError::invalid("as", "annotating needs a user: pass --as NAME"))
}

/// The actor's user id, if `assignment` is a showing of theirs in a project they still annotate
/// (removed from a project, their pending showings there are closed to them). One statement
/// reads the showing's project and the actor's membership.
async fn showing(db: &DatabaseConnection, actor: &Actor, assignment: i64) -> Result<i64> {
    let me = annotator(actor)?;
    let not_found = || PipelineError::NotFound(format!("item {assignment} in your queue"));
    let project = annotation::showing_project(db, me, assignment)
        .await?
        .ok_or_else(not_found)?;
    crate::access::member_may(
        actor,
        &project.project_name,
        project.member_role,
        Role::Annotator,
        "annotate",
    )
    .map_err(|_| not_found())?;
    Ok(me)
}

/// The projects with items that the actor annotates, with their progress.
pub async fn projects(
    db: &DatabaseConnection,
    actor: &Actor,
) -> Result<Vec<pairwise_core::annotation::AnnotateProject>> {
    let me = annotator(actor)?;
    let visible = crate::access::visible_projects(db, actor).await?;
    Ok(annotation::projects_for(db, me, visible.as_ref()).await?)
}

/// What an annotator gets from the queue: the items to show now (the first is current, the rest
/// prefetched), their progress, and whether they opted out of red-team items.
pub struct Queue {
    pub project: String,
    pub items: Vec<Showing>,
    pub done: u64,
    pub remaining: u64,
    pub redteam_opt_out: bool,
}

/// Up to `want` items (1–20) for the actor in `project`.
pub async fn next_items(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    want: u32,
) -> Result<Queue> {
    let me = annotator(actor)?;
    // One statement reads the project, the actor's membership, the settings, the red-team
    // preference and their counts; access is decided before anything is served.
    let cx = annotation::queue_context(db, annotation::ProjectKey::Name(project), me)
        .await?
        .ok_or_else(|| PipelineError::NotFound(format!("project `{project}`")))?;
    crate::access::member_may(actor, project, cx.member_role, Role::Annotator, "annotate")?;
    let fetched = annotation::fetch(db, &cx, want.clamp(1, 20) as usize).await?;
    Ok(Queue {
        project: cx.project_name,
        // Nothing left to serve: the estimate's allowance for repeats to come is moot.
        remaining: if fetched.items.is_empty() {
            0
        } else {
            fetched.remaining
        },
        items: fetched.items,
        done: fetched.done,
        redteam_opt_out: fetched.redteam_opt_out,
    })
}

/// Records the actor's vote on their showing; it can be undone for [`UNDO_SECONDS`].
pub async fn vote(
    db: &DatabaseConnection,
    actor: &Actor,
    assignment: i64,
    vote: NewVote,
) -> Result<VoteReceipt> {
    let me = showing(db, actor, assignment).await?;
    let v = annotation::vote(db, me, assignment, &vote).await?;
    let until = v.created_at + chrono::Duration::seconds(UNDO_SECONDS);
    Ok(VoteReceipt {
        assignment,
        undo_until: until.to_rfc3339(),
    })
}

/// Takes back the actor's vote within the undo window.
pub async fn undo(db: &DatabaseConnection, actor: &Actor, assignment: i64) -> Result<()> {
    let me = showing(db, actor, assignment).await?;
    Ok(annotation::undo(db, me, assignment).await?)
}

/// Skips a showing as distressing: recorded, never counted against the annotator.
pub async fn skip(db: &DatabaseConnection, actor: &Actor, assignment: i64) -> Result<()> {
    let me = showing(db, actor, assignment).await?;
    Ok(annotation::skip(db, me, assignment).await?)
}

/// Opts the actor out of (or back into) red-team items.
pub async fn set_redteam_opt_out(db: &DatabaseConnection, actor: &Actor, on: bool) -> Result<()> {
    Ok(annotation::set_redteam_opt_out(db, annotator(actor)?, on).await?)
}

/// Saves the queue settings of `project` (validated by store; errors name the field).
pub async fn save_settings(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    settings: AnnotationSettings,
) -> Result<AnnotationSettings> {
    let p = crate::access::project(
        db,
        actor,
        project,
        Role::Reviewer,
        "change annotation settings",
    )
    .await?;
    if annotation::settings(db, p.id).await? == settings {
        return Ok(settings);
    }
    annotation::set_settings(db, p.id, &settings).await?;
    let detail = serde_json::to_value(&settings).unwrap_or_default();
    record(db, actor, "annotation.settings", project, detail).await?;
    Ok(settings)
}

/// Queues items: inconsistent pairwise verdicts first, then pipeline pairs by smallest margin,
/// then imported pairs. Returns what each source queued.
pub async fn fill_queue(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    limit: u64,
    redteam: bool,
    seed: Option<u64>,
) -> Result<pairwise_core::dto::QueueFill> {
    let p = crate::access::project(
        db,
        actor,
        project,
        Role::Reviewer,
        "fill the annotation queue",
    )
    .await?;
    let judged = annotation::fill_from_inconsistent(db, p.id).await?;
    let paired = annotation::fill_from_pairs(db, p.id, limit, redteam, seed).await?;
    let fill = pairwise_core::dto::QueueFill {
        judge_inconsistent: judged,
        pairs: paired,
    };
    record(db, actor, "annotation.fill", project, json!(fill)).await?;
    Ok(fill)
}

/// Makes `n` queued pair items gold (the pair's chosen side is the answer).
pub async fn gold_from_pairs(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    n: u64,
) -> Result<u64> {
    let p = crate::access::project(db, actor, project, Role::Reviewer, "make gold items").await?;
    let done = annotation::gold_from_pairs(db, p.id, n).await?;
    record(
        db,
        actor,
        "calibration.gold",
        project,
        json!({"from_pairs": done}),
    )
    .await?;
    Ok(done)
}

/// Makes an item gold with an agreed answer (`x`, `y`, `tie`, `both_bad`).
pub async fn promote_gold(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    item: i64,
    answer: &str,
) -> Result<()> {
    let p = crate::access::project(db, actor, project, Role::Reviewer, "make gold items").await?;
    annotation::set_gold(db, p.id, item, answer).await?;
    let detail = json!({"item": item, "answer": answer});
    record(db, actor, "calibration.gold", project, detail).await
}

/// Runs the κ gate; returns how many annotators and items were quarantined.
pub async fn run_kappa_gate(db: &DatabaseConnection, actor: &Actor, project: &str) -> Result<u64> {
    crate::access::project(db, actor, project, Role::Reviewer, "run the κ gate").await?;
    let n = crate::calibration::run_gate(db, project).await?;
    record(
        db,
        actor,
        "calibration.gate",
        project,
        json!({"quarantined": n}),
    )
    .await?;
    Ok(n)
}

/// Releases one quarantine of `project`.
pub async fn release_quarantine(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    id: i64,
) -> Result<()> {
    let p =
        crate::access::project(db, actor, project, Role::Reviewer, "release a quarantine").await?;
    // The quarantine records the releasing user; the built-in CLI actor has no user row.
    let Some(by) = actor.id else {
        return Err(crate::PipelineError::invalid(
            "as",
            "releasing a quarantine needs a user: pass --as NAME",
        ));
    };
    annotation::release(db, p.id, id, by).await?;
    record(
        db,
        actor,
        "calibration.release",
        project,
        json!({"quarantine": id}),
    )
    .await
}

/// Builds pairs from the human majority of each item (strategy `human`), overall or on one
/// dimension; quarantined votes are left out unless `include_quarantined`.
pub async fn build_human_pairs(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    request: pairwise_core::requests::HumanPairsRequest,
) -> Result<crate::calibration::HumanPairsReport> {
    crate::access::project(db, actor, project, Role::Reviewer, "build human pairs").await?;
    if let Some(d) = request.dimension.as_deref() {
        if !pairwise_core::annotation::DIMENSIONS.contains(&d) {
            return Err(crate::PipelineError::invalid(
                "dimension",
                format!("unknown dimension `{d}` (helpful, honest, harmless)"),
            ));
        }
    }
    let report = crate::calibration::human_pairs(db, project, &request).await?;
    let detail = serde_json::to_value(&report).unwrap_or_default();
    record(db, actor, "pairs.human", project, detail).await?;
    Ok(report)
}

async fn record(
    db: &DatabaseConnection,
    actor: &Actor,
    action: &str,
    project: &str,
    detail: serde_json::Value,
) -> Result<()> {
    let target = format!("project:{project}");
    audit::record(db, actor, action, &target, Some(project), detail).await?;
    Ok(())
}
