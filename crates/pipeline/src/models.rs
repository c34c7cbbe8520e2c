//! The models registry (admin): register a local ONNX model directory under a name. Its version is
//! the content hash of its files, checked when it is registered and on every use.

use crate::{
    access::require,
    error::{PipelineError, Result},
    runs::open_version,
};
use pairwise_core::{dto::ModelView, requests::RegisterModel, Actor, Role};
use pairwise_store::{audit, models, DatabaseConnection};
use std::path::PathBuf;

/// Registers a model directory (its files are opened and hashed first).
pub async fn register_model(
    db: &DatabaseConnection,
    actor: &Actor,
    request: RegisterModel,
) -> Result<ModelView> {
    require(actor, Role::Admin, "register a model")?;
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
        },
    )
    .await?;
    let target = format!("model:{}", view.name);
    let detail = serde_json::json!({"version": view.version, "kind": view.kind});
    audit::record(db, actor, "model.register", &target, None, detail).await?;
    Ok(view)
}
