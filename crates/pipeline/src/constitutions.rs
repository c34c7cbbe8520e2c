//! Constitution actions: admins save the next version of a constitution; reviewers list, show
//! and diff versions. Versions are immutable; a version a critique loop used is locked.

use crate::{access::require, error::Result};
use pairwise_core::{
    constitution, dto::ConstitutionView, requests::SaveConstitution, rubric::RubricChange, Actor,
    Role,
};
use pairwise_store::{audit, constitutions, DatabaseConnection};

/// Saves `request.spec` as the next version of `request.name` (an unchanged spec is a conflict).
pub async fn save_constitution(
    db: &DatabaseConnection,
    actor: &Actor,
    request: SaveConstitution,
) -> Result<ConstitutionView> {
    require(actor, Role::Admin, "save a constitution")?;
    let name = request.name.trim();
    let view = constitutions::save(db, name, &request.spec, actor.id).await?;
    let target = format!("constitution:{}@{}", view.name, view.version);
    let detail = serde_json::json!({"principles": view.spec.principles.len()});
    audit::record(db, actor, "constitution.save", &target, None, detail).await?;
    Ok(view)
}

/// Every version of every constitution (reviewers read them to start loops).
pub async fn list_constitutions(
    db: &DatabaseConnection,
    actor: &Actor,
) -> Result<Vec<ConstitutionView>> {
    require(actor, Role::Reviewer, "list constitutions")?;
    Ok(constitutions::list(db).await?)
}

/// One version: `NAME` (the latest) or `NAME@VERSION`.
pub async fn show_constitution(
    db: &DatabaseConnection,
    actor: &Actor,
    reference: &str,
) -> Result<ConstitutionView> {
    require(actor, Role::Reviewer, "see a constitution")?;
    Ok(constitutions::show(db, reference).await?)
}

/// Principle-by-principle differences between two versions.
pub async fn diff_constitutions(
    db: &DatabaseConnection,
    actor: &Actor,
    a: &str,
    b: &str,
) -> Result<Vec<RubricChange>> {
    require(actor, Role::Reviewer, "compare constitutions")?;
    let (ca, cb) = (
        constitutions::show(db, a).await?,
        constitutions::show(db, b).await?,
    );
    Ok(constitution::diff(&ca.spec, &cb.spec))
}
