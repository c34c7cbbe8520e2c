//! The one role check of every use case, and the actor of the command line (`--as NAME`).

use crate::error::{PipelineError, Result};
use pairwise_core::{Actor, Role, CLI_ACTOR};
use pairwise_store::{users, DatabaseConnection};

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
