//! Annotation actions (reviewers): queue settings, filling the queue, and gold items.

use crate::{access::require, error::Result};
use pairwise_core::{annotation::AnnotationSettings, Actor, Role};
use pairwise_store::{
    annotation::{self, FillReport},
    audit, projects, DatabaseConnection,
};
use serde_json::json;

/// Saves the queue settings of `project` (validated by store; errors name the field).
pub async fn save_settings(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    settings: AnnotationSettings,
) -> Result<AnnotationSettings> {
    require(actor, Role::Reviewer, "change annotation settings")?;
    let p = projects::require(db, project).await?;
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
) -> Result<(FillReport, FillReport)> {
    require(actor, Role::Reviewer, "fill the annotation queue")?;
    let p = projects::require(db, project).await?;
    let judged = annotation::fill_from_inconsistent(db, p.id).await?;
    let paired = annotation::fill_from_pairs(db, p.id, limit, redteam, seed).await?;
    let detail = json!({"judge_inconsistent": judged, "pairs": paired});
    record(db, actor, "annotation.fill", project, detail).await?;
    Ok((judged, paired))
}

/// Makes `n` queued pair items gold (the pair's chosen side is the answer).
pub async fn gold_from_pairs(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    n: u64,
) -> Result<u64> {
    require(actor, Role::Reviewer, "make gold items")?;
    let p = projects::require(db, project).await?;
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
    require(actor, Role::Reviewer, "make gold items")?;
    let p = projects::require(db, project).await?;
    annotation::set_gold(db, p.id, item, answer).await?;
    let detail = json!({"item": item, "answer": answer});
    record(db, actor, "calibration.gold", project, detail).await
}

/// Runs the κ gate; returns how many annotators and items were quarantined.
pub async fn run_kappa_gate(db: &DatabaseConnection, actor: &Actor, project: &str) -> Result<u64> {
    require(actor, Role::Reviewer, "run the κ gate")?;
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
    require(actor, Role::Reviewer, "release a quarantine")?;
    let p = projects::require(db, project).await?;
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
