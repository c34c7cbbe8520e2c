//! Project actions: create a project (admin).

use crate::{access::require, error::Result};
use pairwise_core::{dto::ProjectView, requests::CreateProject, Actor, Role};
use pairwise_store::{audit, projects, DatabaseConnection};

/// Creates a project; the name is validated by store (errors name `name`).
pub async fn create_project(
    db: &DatabaseConnection,
    actor: &Actor,
    request: CreateProject,
) -> Result<ProjectView> {
    require(actor, Role::Admin, "create a project")?;
    let name = request.name.trim();
    let project = projects::create(db, name, &request.description, actor.id).await?;
    let target = format!("project:{}", project.name);
    let detail = serde_json::json!({});
    audit::record(
        db,
        actor,
        "project.create",
        &target,
        Some(&project.name),
        detail,
    )
    .await?;
    Ok(project)
}
