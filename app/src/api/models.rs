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
    #[server(default)] dir: String,
    device: String,
    /// Base URL of an OpenAI-compatible server: registers a remote model instead of `dir`.
    #[server(default)]
    remote_url: String,
    #[server(default)] remote_model: String,
    /// The environment variable holding the API key on the workers (never the key).
    #[server(default)]
    api_key_env: String,
) -> Result<ModelView, AppError> {
    let remote =
        (!remote_url.trim().is_empty()).then(|| pairwise_core::requests::RemoteModelRequest {
            url: remote_url,
            model: remote_model,
            api_key_env: Some(api_key_env).filter(|v| !v.trim().is_empty()),
            concurrency: None,
            timeout_secs: None,
        });
    let request = pairwise_core::requests::RegisterModel {
        device: if remote.is_some() {
            "remote".into()
        } else {
            device
        },
        remote,
        name,
        kind,
        dir,
    };
    Ok(registry::register_model(&db()?, &actor()?, request).await?)
}
