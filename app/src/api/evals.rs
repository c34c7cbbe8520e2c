//! Server functions of the /eval page: evaluated models as points, and starting an evaluation.

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::dto::{EvalPointView, RefusalCheckView, RunView};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db};
#[cfg(feature = "ssr")]
use pairwise_pipeline::runs;

#[server]
pub async fn list_evaluations() -> Result<Vec<EvalPointView>, AppError> {
    Ok(runs::list_evaluations(&db()?, &actor()?).await?)
}

/// The refusal classifier's checks against human labels.
#[server]
pub async fn list_refusal_checks() -> Result<Vec<RefusalCheckView>, AppError> {
    Ok(runs::list_refusal_checks(&db()?, &actor()?).await?)
}

/// Starts an evaluation run from the /eval page's form.
#[server]
pub async fn start_eval(
    project: String,
    model: String,
    #[server(default)] judge: Option<String>,
    #[server(default)] limit: Option<String>,
    max_new_tokens: String,
    #[server(default)] dataset_version: Option<String>,
) -> Result<RunView, AppError> {
    fn number<T: std::str::FromStr>(field: &'static str, value: &str) -> Result<T, AppError> {
        value
            .trim()
            .parse()
            .map_err(|_| AppError::invalid(field, format!("`{value}` is not a whole number")))
    }
    let present = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let mut request = pairwise_core::run_requests::EvalRequest::new(project, model);
    request.judge = present(judge);
    request.limit = present(limit).map(|l| number("limit", &l)).transpose()?;
    request.max_new_tokens = number("max_new_tokens", &max_new_tokens)?;
    request.dataset_version = present(dataset_version);
    Ok(runs::start_eval(&db()?, &actor()?, request).await?)
}
