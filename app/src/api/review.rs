//! Server functions of /projects/NAME/review (reviewers of the project): the votes a filter
//! selects, and decisions on them.

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::annotation::review::{ReviewList, ReviewOutcome};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, parse_field};

/// The filter as the page's query string carries it: empty fields are "any".
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ReviewQuery {
    pub annotator: String,
    pub state: String,
    pub gold: String,
    pub max_agreement: String,
    pub max_duration_ms: String,
    pub fast_only: bool,
    pub include_repeats: bool,
}

#[cfg(feature = "ssr")]
fn number<T: std::str::FromStr>(field: &str, value: &str) -> Result<Option<T>, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value.parse().map(Some).map_err(|_| AppError::Invalid {
        field: field.into(),
        message: format!("`{value}` is not a number"),
    })
}

#[cfg(feature = "ssr")]
fn filter(q: &ReviewQuery) -> Result<pairwise_core::annotation::review::ReviewFilter, AppError> {
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(pairwise_core::annotation::review::ReviewFilter {
        annotator: some(&q.annotator),
        state: some(&q.state)
            .map(|s| parse_field("state", &s))
            .transpose()?,
        gold: some(&q.gold)
            .map(|s| parse_field("gold", &s))
            .transpose()?
            .unwrap_or_default(),
        max_agreement: number("max_agreement", &q.max_agreement)?,
        max_duration_ms: number("max_duration_ms", &q.max_duration_ms)?,
        fast_only: q.fast_only,
        include_repeats: q.include_repeats,
        limit: 200,
    })
}

/// The votes of `project` that the query selects (at most 200, oldest first).
#[server]
pub async fn list_review_votes(
    project: String,
    query: ReviewQuery,
) -> Result<ReviewList, AppError> {
    let (db, actor) = (db()?, actor()?);
    let filter = filter(&query)?;
    Ok(pairwise_pipeline::review::list(&db, &actor, &project, &filter).await?)
}

/// Accepts, rejects (with a reason) or requeues `votes` of `project`.
#[server]
pub async fn review_votes(
    project: String,
    votes: Vec<i64>,
    decision: String,
    #[server(default)] reason: String,
) -> Result<ReviewOutcome, AppError> {
    let (db, actor) = (db()?, actor()?);
    let request = pairwise_core::annotation::review::ReviewRequest {
        votes,
        decision: parse_field("decision", &decision)?,
        reason,
    };
    Ok(pairwise_pipeline::review::decide(&db, &actor, &project, &request).await?)
}
