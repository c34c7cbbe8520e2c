//! Server functions of the /models page: the models registry (reviewers list, admins register).

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::dto::ModelView;

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, require};
#[cfg(feature = "ssr")]
use pairwise_core::Role;
#[cfg(feature = "ssr")]
use pairwise_pipeline::models as registry;
#[cfg(feature = "ssr")]
use pairwise_store::models;

#[server]
pub async fn list_models() -> Result<Vec<ModelView>, AppError> {
    require(Role::Reviewer)?;
    Ok(models::list(&db()?).await?)
}

#[server]
pub async fn register_model(
    name: String,
    kind: String,
    dir: String,
    device: String,
) -> Result<ModelView, AppError> {
    let request = pairwise_core::requests::RegisterModel {
        name,
        kind,
        dir,
        device,
    };
    Ok(registry::register_model(&db()?, &actor()?, request).await?)
}
