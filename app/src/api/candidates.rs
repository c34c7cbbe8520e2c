//! Server function of the candidate browser: a project's prompts, each with all its candidates.

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::dto::PromptCandidates;

#[cfg(feature = "ssr")]
use super::CANDIDATE_PAGE;
#[cfg(feature = "ssr")]
use crate::ssr::{db, member_project};
#[cfg(feature = "ssr")]
use pairwise_core::Role;
#[cfg(feature = "ssr")]
use pairwise_store::candidates;

/// One page of a project's prompts that have candidates, each with all its candidates.
#[server]
pub async fn candidate_page(
    project: String,
    offset: u64,
) -> Result<pairwise_core::dto::Page<PromptCandidates>, AppError> {
    let db = db()?;
    let p = member_project(&project, Role::Reviewer).await?;
    let (total, ids) =
        candidates::prompts_with_candidates(&db, p.id, offset, CANDIDATE_PAGE).await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        items.push(candidates::for_prompt(&db, p.id, id).await?);
    }
    Ok(pairwise_core::dto::Page {
        total,
        limit: CANDIDATE_PAGE,
        offset,
        items,
    })
}
