//! The one role check of every use case, and the actor of the command line (`--as NAME`).

use crate::error::{PipelineError, Result};
use pairwise_core::{Actor, Role, CLI_ACTOR};
use pairwise_store::{entities::project, members, projects, users, DatabaseConnection};

/// Fails with `Forbidden` unless `actor` may do what `required` may do.
pub fn require(actor: &Actor, required: Role, action: &'static str) -> Result<()> {
    if actor.may(required) {
        Ok(())
    } else {
        Err(PipelineError::Forbidden {
            actor: actor.name.clone(),
            role: actor.role,
            action,
            required,
        })
    }
}

/// The actor of a CLI command: the built-in `cli` actor, or the active user `name` (with that
/// user's role, so `--as ann` is checked like ann in the browser).
pub async fn local_actor(db: &DatabaseConnection, name: Option<&str>) -> Result<Actor> {
    match name.map(str::trim) {
        None | Some(CLI_ACTOR) => Ok(Actor::cli()),
        Some(name) => {
            let model = users::find_by_username(db, name)
                .await?
                .ok_or_else(|| PipelineError::NotFound(format!("user `{name}`")))?;
            let user = users::User::try_from(&model)?;
            if !user.active {
                return Err(PipelineError::invalid(
                    "as",
                    format!("user `{name}` is deactivated"),
                ));
            }
            Ok(user.actor())
        }
    }
}

/// The project `name` if `actor` may act in it with `required`: admins (and the CLI actor) in
/// every project; anyone else needs the role globally *and* a membership whose role reaches it.
/// A project the actor is not a member of is `NotFound`, the same answer as one that does not
/// exist, so its name and existence do not leak.
pub async fn project(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    required: Role,
    action: &'static str,
) -> Result<project::Model> {
    require(actor, required, action)?;
    let p = projects::find(db, name).await?;
    let Some(p) = p else {
        return Err(PipelineError::NotFound(format!("project `{name}`")));
    };
    check_member(db, actor, &p, required, action).await?;
    Ok(p)
}

/// [`project`] for an object found by id: `project_id` is the project it belongs to.
pub async fn project_by_id(
    db: &DatabaseConnection,
    actor: &Actor,
    project_id: i64,
    required: Role,
    action: &'static str,
) -> Result<project::Model> {
    require(actor, required, action)?;
    let p = projects::find_by_id(db, project_id)
        .await?
        .ok_or_else(|| PipelineError::NotFound(format!("project {project_id}")))?;
    check_member(db, actor, &p, required, action).await?;
    Ok(p)
}

async fn check_member(
    db: &DatabaseConnection,
    actor: &Actor,
    p: &project::Model,
    required: Role,
    action: &'static str,
) -> Result<()> {
    let member = match actor.id {
        Some(id) if actor.role != Role::Admin => members::role_in(db, p.id, id).await?,
        _ => None,
    };
    member_decides(actor, &p.name, member, required, action)
}

/// [`project`]'s answer for a project read together with the actor's membership `member` (their
/// role in it; `None`: not a member), so a hot path checks access without another query.
pub fn member_may(
    actor: &Actor,
    project: &str,
    member: Option<Role>,
    required: Role,
    action: &'static str,
) -> Result<()> {
    require(actor, required, action)?;
    member_decides(actor, project, member, required, action)
}

fn member_decides(
    actor: &Actor,
    project: &str,
    member: Option<Role>,
    required: Role,
    action: &'static str,
) -> Result<()> {
    if actor.role == Role::Admin {
        return Ok(());
    }
    let not_found = || PipelineError::NotFound(format!("project `{project}`"));
    if actor.id.is_none() {
        return Err(not_found());
    }
    match member {
        None => Err(not_found()),
        Some(role) if role.at_least(required) => Ok(()),
        Some(role) => Err(PipelineError::Forbidden {
            actor: actor.name.clone(),
            role,
            action,
            required,
        }),
    }
}

/// The ids of the projects `actor` may see (`None`: all of them — admins).
pub async fn visible_projects(
    db: &DatabaseConnection,
    actor: &Actor,
) -> Result<Option<std::collections::BTreeSet<i64>>> {
    if actor.role == Role::Admin {
        return Ok(None);
    }
    let Some(id) = actor.id else {
        return Ok(Some(Default::default()));
    };
    Ok(Some(
        members::projects_of(db, id).await?.into_keys().collect(),
    ))
}
