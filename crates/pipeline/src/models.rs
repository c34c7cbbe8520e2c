//! The models registry (admin): register a local ONNX model directory under a name. Its version is
//! the content hash of its files, checked when it is registered and on every use.

use crate::{
    access::require,
    error::{PipelineError, Result},
    runs::open_version,
};
use pairwise_core::{
    dto::ModelView,
    requests::{RegisterModel, RemoteModelRequest},
    Actor, Role,
};
use pairwise_inference::{RemoteConfig, RemoteModel};
use pairwise_store::{audit, models, DatabaseConnection};
use std::path::PathBuf;

/// Registers a model directory (its files are opened and hashed first).
pub async fn register_model(
    db: &DatabaseConnection,
    actor: &Actor,
    request: RegisterModel,
) -> Result<ModelView> {
    require(actor, Role::Admin, "register a model")?;
    if let Some(remote) = request.remote.clone() {
        return register_remote(db, actor, request, remote).await;
    }
    let path = PathBuf::from(request.dir.trim());
    let path = path
        .canonicalize()
        .map_err(|e| PipelineError::invalid("dir", format!("{}: {e}", path.display())))?;
    let version = open_version(path.clone()).await?;
    let view = models::register(
        db,
        models::NewModel {
            name: request.name.trim().to_owned(),
            kind: request.kind,
            path: path.display().to_string(),
            version,
            device: request.device,
            created_by: actor.id,
            remote: None,
        },
    )
    .await?;
    let target = format!("model:{}", view.name);
    let detail = serde_json::json!({"version": view.version, "kind": view.kind});
    audit::record(db, actor, "model.register", &target, None, detail).await?;
    Ok(view)
}

/// Registers a model served by an OpenAI-compatible server, after checking that the server
/// answers `GET /models` and serves it (unreachable, 401 and "not served" are errors naming the
/// field). Only the *name* of the API key's environment variable is stored.
async fn register_remote(
    db: &DatabaseConnection,
    actor: &Actor,
    request: RegisterModel,
    remote: RemoteModelRequest,
) -> Result<ModelView> {
    if let Some(var) = &remote.api_key_env {
        let ok = !var.is_empty()
            && var.len() <= 128
            && var
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(PipelineError::invalid(
                "api_key_env",
                "the name of an environment variable (A–Z, 0–9, _), never the key itself",
            ));
        }
    }
    let config = RemoteConfig {
        base_url: remote.url.trim().trim_end_matches('/').to_owned(),
        model: remote.model.trim().to_owned(),
        api_key_env: remote.api_key_env.clone(),
        concurrency: remote.concurrency.unwrap_or(8).clamp(1, 256),
        timeout_secs: remote.timeout_secs.unwrap_or(120).clamp(1, 3600),
    };
    if config.model.is_empty() {
        return Err(PipelineError::invalid(
            "remote_model",
            "the model name the server serves",
        ));
    }
    let client = RemoteModel::new(config.clone())
        .map_err(|e| PipelineError::invalid("remote", e.to_string()))?
        .with_max_attempts(2);
    client
        .check()
        .await
        .map_err(|e| PipelineError::invalid("remote", e.to_string()))?;
    let view = models::register(
        db,
        models::NewModel {
            name: request.name.trim().to_owned(),
            kind: request.kind,
            path: config.base_url.clone(),
            version: client.version(),
            device: "remote".into(),
            created_by: actor.id,
            remote: Some(serde_json::to_string(&config).unwrap_or_default()),
        },
    )
    .await?;
    let target = format!("model:{}", view.name);
    let detail =
        serde_json::json!({"remote": config.base_url, "model": config.model, "kind": view.kind});
    audit::record(db, actor, "model.register", &target, None, detail).await?;
    Ok(view)
}
