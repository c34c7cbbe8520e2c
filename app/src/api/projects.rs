//! Server functions of the /projects page: list, create and show projects.

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::dto::ProjectView;

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, require};
#[cfg(feature = "ssr")]
use pairwise_core::Role;
#[cfg(feature = "ssr")]
use pairwise_store::projects;

#[server]
pub async fn list_projects() -> Result<Vec<ProjectView>, AppError> {
    require(Role::Reviewer)?;
    Ok(projects::list(&db()?).await?)
}

#[server]
pub async fn create_project(name: String, description: String) -> Result<ProjectView, AppError> {
    let request = pairwise_core::requests::CreateProject { name, description };
    Ok(pairwise_pipeline::projects::create_project(&db()?, &actor()?, request).await?)
}

#[server]
pub async fn get_project(name: String) -> Result<ProjectView, AppError> {
    require(Role::Reviewer)?;
    Ok(projects::get_view(&db()?, &name).await?)
}
