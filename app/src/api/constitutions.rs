//! Server functions of the /constitutions page: constitution versions (admins save, reviewers
//! list and diff).

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::{dto::ConstitutionView, rubric::RubricChange};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db};
#[cfg(feature = "ssr")]
use pairwise_pipeline::constitutions;

#[server]
pub async fn list_constitutions() -> Result<Vec<ConstitutionView>, AppError> {
    Ok(constitutions::list_constitutions(&db()?, &actor()?).await?)
}

/// Saves `spec` (JSON) as the next version of `name`.
#[server]
pub async fn save_constitution(name: String, spec: String) -> Result<ConstitutionView, AppError> {
    // Who may save comes before what is saved: callers who may not learn nothing from the parser.
    let actor = actor()?;
    pairwise_pipeline::access::require(&actor, pairwise_core::Role::Admin, "save a constitution")?;
    let spec = serde_json::from_str(&spec).map_err(|e| AppError::Invalid {
        field: "spec".into(),
        message: format!("line {} column {}: {e}", e.line(), e.column()),
    })?;
    let request = pairwise_core::requests::SaveConstitution { name, spec };
    Ok(constitutions::save_constitution(&db()?, &actor, request).await?)
}

#[server]
pub async fn constitution_diff(a: String, b: String) -> Result<Vec<RubricChange>, AppError> {
    Ok(constitutions::diff_constitutions(&db()?, &actor()?, &a, &b).await?)
}
