//! Freezing a dataset version (reviewer): by recipe, or as a rollback copy of an older version.

use crate::error::{PipelineError, Result};
use pairwise_core::{dto::DatasetVersionView, requests::FreezeRequest, Actor, Role};
use pairwise_store::{audit, datasets, DatabaseConnection};

/// Freezes `request.tag` in `project`; the version never changes afterwards.
pub async fn freeze_version(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    request: FreezeRequest,
) -> Result<DatasetVersionView> {
    let p = crate::access::project(
        db,
        actor,
        project,
        Role::Reviewer,
        "freeze a dataset version",
    )
    .await?;
    let tag = request.tag.trim();
    let recipe = &request.recipe;
    let version = match request.from.as_deref() {
        Some(from) => datasets::rollback(db, p.id, from, tag, actor.id).await?,
        None if recipe.curates() => {
            // Refuse a taken tag or a bad recipe before reading every selected pair.
            datasets::ensure_new_tag(db, p.id, tag).await?;
            recipe
                .validate()
                .map_err(|m| PipelineError::invalid("recipe", m))?;
            let (ids, report) = super::curate(db, p.id, recipe).await?;
            datasets::freeze_members(db, p.id, tag, recipe, actor.id, ids, &report).await?
        }
        None => datasets::freeze(db, p.id, tag, recipe, actor.id).await?,
    };
    let target = format!("project:{project}/{}", version.tag);
    let curation = version.curation.as_ref().map(|c| {
        serde_json::json!({
            "before": c.before.pairs,
            "near_duplicate_eval": c.near_duplicate_eval,
            "near_duplicate_earlier": c.near_duplicate_earlier,
            "length_gap": c.length_gap,
            "length_balance": c.length_balance,
        })
    });
    let detail = serde_json::json!({"pairs": version.pair_count, "from": request.from, "curation": curation});
    audit::record(db, actor, "dataset.freeze", &target, Some(project), detail).await?;
    Ok(version)
}
