//! Server functions of the pages, one file per domain (`api/<domain>.rs`). Each checks the
//! caller's role first, then calls the store or the use case in `pairwise_pipeline`.

pub mod annotation;
pub mod audit;
pub mod calibration;
pub mod candidates;
pub mod constitutions;
pub mod datasets;
pub mod evals;
pub mod leaderboard;
pub mod models;
pub mod pairs;
pub mod projects;
pub mod prompts;
pub mod review;
pub mod rounds;
pub mod rubrics;
pub mod runs;
pub mod users;

use pairwise_core::{dto::TokenView, Role};
use serde::{Deserialize, Serialize};

/// The signed-in user as pages need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub username: String,
    pub role: Role,
}

/// What the users page shows after issuing a token: the secret, this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub username: String,
    pub token: TokenView,
    pub secret: String,
}

/// Rows per page of the prompt list.
pub const PROMPT_PAGE: u64 = 50;

/// Rows per page of the pair browser.
pub const PAIR_PAGE: u64 = 25;

/// Prompts per page of the candidate browser.
pub const CANDIDATE_PAGE: u64 = 5;

/// Entries per page of the /audit page.
pub const AUDIT_PAGE: u64 = 50;
