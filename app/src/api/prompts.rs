//! Server function of the prompt list: one page of a project's prompts under its filters.

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::dto::{Page, PromptView};

#[cfg(feature = "ssr")]
use super::PROMPT_PAGE;
#[cfg(feature = "ssr")]
use crate::ssr::{db, member_project};
#[cfg(feature = "ssr")]
use pairwise_core::Role;
#[cfg(feature = "ssr")]
use pairwise_store::prompts;

#[server]
pub async fn list_prompts(
    project: String,
    offset: u64,
    split: Option<String>,
    search: Option<String>,
) -> Result<Page<PromptView>, AppError> {
    let db = db()?;
    let project = member_project(&project, Role::Reviewer).await?;
    let split = split
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|message| AppError::Invalid {
                field: "split".into(),
                message,
            })
        })
        .transpose()?;
    let filter = prompts::PromptFilter { split, search };
    Ok(prompts::page(&db, project.id, &filter, PROMPT_PAGE, offset).await?)
}

/// One prompt, whole: what a list row's "Show all" fetches when its text was cut.
#[server]
pub async fn prompt_full(project: String, id: i64) -> Result<PromptView, AppError> {
    let db = db()?;
    let project = member_project(&project, Role::Reviewer).await?;
    Ok(prompts::get(&db, project.id, id).await?)
}
