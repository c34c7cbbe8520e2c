//! Freezing a dataset version (reviewer): by recipe, or as a rollback copy of an older version.

use crate::error::Result;
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
    let version = match request.from.as_deref() {
        Some(from) => datasets::rollback(db, p.id, from, tag, actor.id).await?,
        None => datasets::freeze(db, p.id, tag, &request.recipe, actor.id).await?,
    };
    let target = format!("project:{project}/{}", version.tag);
    let detail = serde_json::json!({"pairs": version.pair_count, "from": request.from});
    audit::record(db, actor, "dataset.freeze", &target, Some(project), detail).await?;
    Ok(version)
}
