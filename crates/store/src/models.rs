//! The models registry: named model directories of a kind, with the content-hash version seen
//! when they were last checked (changing a file changes the version).

use crate::{
    entities::ai_model,
    error::{Result, StoreError},
    rfc3339,
    users::validate_identifier,
};
use pairwise_core::dto::ModelView;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

pub const KINDS: [&str; 4] = ["generator", "judge", "reward", "reference"];
pub const DEVICES: [&str; 4] = ["cpu", "cuda", "auto", "remote"];

pub fn view(m: &ai_model::Model) -> ModelView {
    ModelView {
        id: m.id,
        name: m.name.clone(),
        kind: m.kind.clone(),
        path: m.path.clone(),
        version: m.version.clone(),
        device: m.device.clone(),
        created_at: rfc3339(&m.created_at),
        checked_at: rfc3339(&m.checked_at),
        remote: m.remote.is_some(),
    }
}

/// What to register; the caller has opened the directory and computed its version.
#[derive(Debug, Clone)]
pub struct NewModel {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub version: String,
    pub device: String,
    pub created_by: Option<i64>,
    /// The remote connection as JSON, for a served model.
    pub remote: Option<String>,
}

pub fn validate(new: &NewModel) -> Result<()> {
    validate_identifier("name", &new.name)?;
    if !KINDS.contains(&new.kind.as_str()) {
        return Err(StoreError::invalid(
            "kind",
            format!(
                "`{}` is not one of generator, judge, reward, reference",
                new.kind
            ),
        ));
    }
    if !DEVICES.contains(&new.device.as_str()) {
        return Err(StoreError::invalid(
            "device",
            format!("`{}` is not one of cpu, cuda, auto", new.device),
        ));
    }
    Ok(())
}

pub async fn register(db: &impl ConnectionTrait, new: NewModel) -> Result<ModelView> {
    validate(&new)?;
    if find(db, &new.name).await?.is_some() {
        return Err(StoreError::Conflict(format!(
            "model `{}` already exists",
            new.name
        )));
    }
    let now = chrono::Utc::now();
    let m = ai_model::ActiveModel {
        name: Set(new.name),
        kind: Set(new.kind),
        path: Set(new.path),
        version: Set(new.version),
        device: Set(new.device),
        created_by: Set(new.created_by),
        remote: Set(new.remote),
        created_at: Set(now),
        checked_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(view(&m))
}

/// Registered models of one kind, newest first.
pub async fn of_kind(db: &impl ConnectionTrait, kind: &str) -> Result<Vec<ai_model::Model>> {
    Ok(ai_model::Entity::find()
        .filter(ai_model::Column::Kind.eq(kind))
        .order_by_desc(ai_model::Column::Id)
        .all(db)
        .await?)
}

pub async fn find(db: &impl ConnectionTrait, name: &str) -> Result<Option<ai_model::Model>> {
    Ok(ai_model::Entity::find()
        .filter(ai_model::Column::Name.eq(name))
        .one(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, name: &str) -> Result<ai_model::Model> {
    find(db, name)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("model `{name}`")))
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ModelView>> {
    Ok(ai_model::Entity::find()
        .order_by_asc(ai_model::Column::Name)
        .all(db)
        .await?
        .iter()
        .map(view)
        .collect())
}

/// Records the version found now (files changed → a new version); returns whether it changed.
pub async fn record_version(db: &impl ConnectionTrait, id: i64, version: &str) -> Result<bool> {
    let m = ai_model::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("model {id}")))?;
    let changed = m.version != version;
    let mut active: ai_model::ActiveModel = m.into();
    active.version = Set(version.to_owned());
    active.checked_at = Set(chrono::Utc::now());
    active.update(db).await?;
    Ok(changed)
}
