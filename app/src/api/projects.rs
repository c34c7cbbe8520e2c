//! Server functions of the /projects page: list, create and show projects.

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::dto::{MemberView, ProjectView};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, require};
#[cfg(feature = "ssr")]
use pairwise_core::Role;

#[server]
pub async fn list_projects() -> Result<Vec<ProjectView>, AppError> {
    require(Role::Reviewer)?;
    Ok(pairwise_pipeline::projects::list_projects(&db()?, &actor()?).await?)
}

#[server]
pub async fn create_project(name: String, description: String) -> Result<ProjectView, AppError> {
    let request = pairwise_core::requests::CreateProject { name, description };
    Ok(pairwise_pipeline::projects::create_project(&db()?, &actor()?, request).await?)
}

#[server]
pub async fn get_project(name: String) -> Result<ProjectView, AppError> {
    Ok(pairwise_pipeline::projects::get_project(&db()?, &actor()?, &name).await?)
}

/// The members of a project (admin).
#[server]
pub async fn list_members(project: String) -> Result<Vec<MemberView>, AppError> {
    Ok(pairwise_pipeline::projects::list_members(&db()?, &actor()?, &project).await?)
}

/// Makes a user a member with a role (or changes it) (admin).
#[server]
pub async fn set_member(
    project: String,
    username: String,
    role: String,
) -> Result<MemberView, AppError> {
    let request = pairwise_core::requests::SetMember { username, role };
    Ok(pairwise_pipeline::projects::set_member(&db()?, &actor()?, &project, request).await?)
}

/// Removes a member (admin).
#[server]
pub async fn remove_member(project: String, username: String) -> Result<(), AppError> {
    pairwise_pipeline::projects::remove_member(&db()?, &actor()?, &project, &username).await?;
    Ok(())
}
