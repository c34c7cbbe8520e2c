//! Server functions of the /rubrics page: rubric versions (admins save, reviewers list and diff).

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::{dto::RubricView, rubric::RubricChange};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, require};
#[cfg(feature = "ssr")]
use pairwise_core::Role;
#[cfg(feature = "ssr")]
use pairwise_pipeline::rubrics as rubric_actions;
#[cfg(feature = "ssr")]
use pairwise_store::rubrics;

#[server]
pub async fn list_rubrics() -> Result<Vec<RubricView>, AppError> {
    require(Role::Reviewer)?;
    Ok(rubrics::list(&db()?).await?)
}

/// Saves `spec` (JSON) as the next version of `name`.
#[server]
pub async fn save_rubric(
    name: String,
    spec: String,
    force: Option<String>,
) -> Result<RubricView, AppError> {
    // Who may save comes before what is saved: anonymous callers learn nothing from the parser.
    let actor = actor()?;
    pairwise_pipeline::access::require(&actor, Role::Admin, "save a rubric")?;
    let spec = serde_json::from_str(&spec).map_err(|e| AppError::Invalid {
        field: "spec".into(),
        message: format!("line {} column {}: {e}", e.line(), e.column()),
    })?;
    let request = pairwise_core::requests::SaveRubric {
        name,
        spec,
        force: force.is_some_and(|f| !f.is_empty()),
    };
    Ok(rubric_actions::save_rubric(&db()?, &actor, request).await?)
}

#[server]
pub async fn rubric_diff(a: String, b: String) -> Result<Vec<RubricChange>, AppError> {
    require(Role::Reviewer)?;
    let db = db()?;
    let (ra, rb) = (rubrics::show(&db, &a).await?, rubrics::show(&db, &b).await?);
    Ok(pairwise_core::rubric::diff(&ra.spec, &rb.spec))
}
