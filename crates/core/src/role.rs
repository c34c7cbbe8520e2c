//! Roles of users and splits of prompts: the closed vocabularies that the database stores as text.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// What a user may do. Admins manage users, projects and models; reviewers own datasets and
/// quality; annotators only compare answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Annotator,
    Reviewer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Reviewer, Role::Annotator];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
            Role::Annotator => "annotator",
        }
    }

    /// Whether this role may do what `required` may do (admin ⊇ reviewer ⊇ annotator).
    pub fn at_least(self, required: Role) -> bool {
        self >= required
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "reviewer" => Ok(Role::Reviewer),
            "annotator" => Ok(Role::Annotator),
            other => Err(format!(
                "unknown role `{other}` (expected admin, reviewer or annotator)"
            )),
        }
    }
}

/// Which part of a project a prompt belongs to. `benign` and `redteam` feed the over-refusal and
/// harmlessness evaluations; `train` and `eval` are cross-deduplicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Eval,
    Benign,
    Redteam,
}

impl Split {
    pub const ALL: [Split; 4] = [Split::Train, Split::Eval, Split::Benign, Split::Redteam];

    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Eval => "eval",
            Split::Benign => "benign",
            Split::Redteam => "redteam",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" => Ok(Split::Train),
            "eval" => Ok(Split::Eval),
            "benign" => Ok(Split::Benign),
            "redteam" => Ok(Split::Redteam),
            other => Err(format!(
                "unknown split `{other}` (expected train, eval, benign or redteam)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(Role::Admin, Role::Reviewer, true)]
    #[case(Role::Admin, Role::Annotator, true)]
    #[case(Role::Reviewer, Role::Admin, false)]
    #[case(Role::Annotator, Role::Reviewer, false)]
    #[case(Role::Reviewer, Role::Reviewer, true)]
    fn roles_are_ordered_by_power(#[case] have: Role, #[case] need: Role, #[case] ok: bool) {
        assert_eq!(have.at_least(need), ok);
    }

    #[test]
    fn roles_and_splits_round_trip_through_text() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        for s in Split::ALL {
            assert_eq!(s.as_str().parse::<Split>(), Ok(s));
        }
        assert!("root".parse::<Role>().unwrap_err().contains("root"));
        assert!("test".parse::<Split>().is_err());
    }
}
