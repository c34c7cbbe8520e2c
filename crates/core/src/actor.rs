//! Who performs a user action: a signed-in user, or a named local actor of the command line.
//! Every use case takes one and checks its role once; the audit log records its name.

use crate::Role;
use serde::{Deserialize, Serialize};

/// The name of the built-in local actor of the command line (`pairwise … --as NAME` picks a user).
pub const CLI_ACTOR: &str = "cli";

/// The acting party of a use case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The user row, when the actor is a user (`None` for the built-in `cli` actor).
    pub id: Option<i64>,
    /// The username, or `cli`.
    pub name: String,
    pub role: Role,
}

impl Actor {
    /// A signed-in user.
    pub fn user(id: i64, name: impl Into<String>, role: Role) -> Self {
        Self {
            id: Some(id),
            name: name.into(),
            role,
        }
    }

    /// The built-in local actor of the command line: whoever can run the binary against the
    /// database already has the database, so it acts as an admin.
    pub fn cli() -> Self {
        Self {
            id: None,
            name: CLI_ACTOR.to_owned(),
            role: Role::Admin,
        }
    }

    /// Whether this actor may do what `required` may do.
    pub fn may(&self, required: Role) -> bool {
        self.role.at_least(required)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_actor_is_a_named_admin_without_a_user_row() {
        let a = Actor::cli();
        assert_eq!((a.id, a.name.as_str()), (None, "cli"));
        assert!(a.may(Role::Admin));
        assert!(!Actor::user(3, "ann", Role::Annotator).may(Role::Reviewer));
    }
}
