//! Rubric actions (admin): save the next version of a rubric. Versions are immutable; a version
//! used by a judgment is locked.

use crate::{access::require, error::Result};
use pairwise_core::{dto::RubricView, requests::SaveRubric, Actor, Role};
use pairwise_store::{audit, rubrics, DatabaseConnection};

/// Saves `request.spec` as the next version of `request.name` (an unchanged spec is a conflict).
pub async fn save_rubric(
    db: &DatabaseConnection,
    actor: &Actor,
    request: SaveRubric,
) -> Result<RubricView> {
    require(actor, Role::Admin, "save a rubric")?;
    let name = request.name.trim();
    let view = rubrics::save(db, name, &request.spec, request.force, actor.id).await?;
    let target = format!("rubric:{}@{}", view.name, view.version);
    audit::record(
        db,
        actor,
        "rubric.save",
        &target,
        None,
        serde_json::json!({}),
    )
    .await?;
    Ok(view)
}
