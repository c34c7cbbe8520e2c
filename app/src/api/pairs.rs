//! Server functions of pair building on /runs (reviewers): pairs from a finished judge run by
//! strategy, previewed live as the form changes and then built.

use crate::error::AppError;
use leptos::{prelude::*, server_fn::codec::Json};
use pairwise_core::{dto::BuildReport, requests::BuildPairsRequest};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db};

/// Builds (or, with `request.preview`, counts) the pairs of a judge run of `project`.
#[server(input = Json)]
pub async fn build_pairs(
    project: String,
    request: BuildPairsRequest,
) -> Result<BuildReport, AppError> {
    Ok(pairwise_pipeline::build_pairs(&db()?, &actor()?, &project, &request).await?)
}
