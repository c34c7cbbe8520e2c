//! Project actions: create a project and manage its members (admin); list and show the projects
//! an actor may see.

use crate::{
    access::{self, require},
    error::{PipelineError, Result},
};
use pairwise_core::{
    dto::{MemberView, ProjectView},
    requests::{CreateProject, SetMember},
    Actor, Role,
};
use pairwise_store::{audit, members, projects, users, DatabaseConnection};

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

/// The projects `actor` may see: every project for admins, their memberships for anyone else.
pub async fn list_projects(db: &DatabaseConnection, actor: &Actor) -> Result<Vec<ProjectView>> {
    require(actor, Role::Annotator, "list projects")?;
    let visible = access::visible_projects(db, actor).await?;
    Ok(projects::list_among(db, visible.as_ref()).await?)
}

/// One project as `actor` may see it (a reviewer member, or an admin).
pub async fn get_project(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
) -> Result<ProjectView> {
    access::project(db, actor, name, Role::Reviewer, "see a project").await?;
    Ok(projects::get_view(db, name).await?)
}

/// The members of a project (admin).
pub async fn list_members(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
) -> Result<Vec<MemberView>> {
    let p = access::project(db, actor, project, Role::Admin, "list members").await?;
    Ok(members::list(db, p.id).await?)
}

/// Gives `request.username` the role `request.role` (`annotator` or `reviewer`) in `project`
/// (admin). A member's role in a project never exceeds their account's role.
pub async fn set_member(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    request: SetMember,
) -> Result<MemberView> {
    let p = access::project(db, actor, project, Role::Admin, "manage members").await?;
    let username = request.username.trim();
    let user = users::find_by_username(db, username)
        .await?
        .ok_or_else(|| PipelineError::NotFound(format!("user `{username}`")))?;
    let account = users::User::try_from(&user)?;
    let role: Role = request
        .role
        .parse()
        .map_err(|e: String| PipelineError::invalid("role", e))?;
    if account.role == Role::Admin {
        return Err(PipelineError::invalid(
            "username",
            format!("`{username}` is an admin: admins work in every project"),
        ));
    }
    if !account.role.at_least(role) {
        return Err(PipelineError::invalid(
            "role",
            format!(
                "`{username}` is an {} account: their role in a project cannot be higher",
                account.role.as_str()
            ),
        ));
    }
    members::set(db, p.id, user.id, role.as_str()).await?;
    let target = format!("project:{}", p.name);
    let detail = serde_json::json!({"user": username, "role": role.as_str()});
    audit::record(db, actor, "project.member", &target, Some(&p.name), detail).await?;
    Ok(MemberView {
        username: username.to_owned(),
        role: role.as_str().to_owned(),
        active: user.active,
    })
}

/// Removes `username` from `project` (admin); their votes and work stay.
pub async fn remove_member(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    username: &str,
) -> Result<()> {
    let p = access::project(db, actor, project, Role::Admin, "manage members").await?;
    let user = users::find_by_username(db, username.trim())
        .await?
        .ok_or_else(|| PipelineError::NotFound(format!("user `{username}`")))?;
    if !members::remove(db, p.id, user.id).await? {
        return Err(PipelineError::NotFound(format!(
            "member `{username}` of project `{}`",
            p.name
        )));
    }
    let target = format!("project:{}", p.name);
    let detail = serde_json::json!({"user": user.username});
    audit::record(
        db,
        actor,
        "project.member.remove",
        &target,
        Some(&p.name),
        detail,
    )
    .await?;
    Ok(())
}
