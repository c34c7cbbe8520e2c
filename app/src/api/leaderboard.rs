//! Server function of /projects/NAME/leaderboard (reviewers of the project).

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::leaderboard::LeaderboardView;

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, parse_field};

/// The boards of `project` by `by` (generator, path or transform) with the default bootstrap.
#[server]
pub async fn leaderboard(project: String, by: String) -> Result<LeaderboardView, AppError> {
    let request = pairwise_core::leaderboard::LeaderboardRequest {
        by: parse_field("by", &by)?,
        ..Default::default()
    };
    let (db, actor) = (db()?, actor()?);
    Ok(pairwise_pipeline::leaderboard::show_leaderboard(&db, &actor, &project, &request).await?)
}
