//! Dataset versions: a recipe frozen into an immutable, ordered list of pairs with a content
//! hash; listing, diffing and paging through a version for export. Nothing here updates or
//! deletes a version once written: the only writes are `freeze` and `rollback`, which add one.

mod diff;
mod freeze;
mod pages;
mod splits;

pub use diff::diff;
pub use freeze::{
    curation_page, ensure_new_tag, freeze, freeze_members, rollback, staged_ids, CurationRow,
};
pub use pages::{export_page, export_rows_by_prompt, pairs_page, ExportRow};
pub use splits::pair_split;

use crate::{
    entities::dataset_version,
    error::{Result, StoreError},
    rfc3339,
};
use pairwise_core::dto::DatasetVersionView;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

/// Rows read or written per query while freezing and exporting (bounds memory).
const PAGE: u64 = 2000;

/// Checks a version tag: 1–64 letters, digits, `.`, `_` or `-`.
pub fn validate_tag(tag: &str) -> Result<()> {
    crate::users::validate_identifier("tag", tag)
}

async fn view(db: &impl ConnectionTrait, m: &dataset_version::Model) -> Result<DatasetVersionView> {
    let parent = match m.parent_id {
        Some(id) => dataset_version::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|p| p.tag),
        None => None,
    };
    Ok(DatasetVersionView {
        id: m.id,
        tag: m.tag.clone(),
        parent,
        recipe: serde_json::from_str(&m.recipe).unwrap_or_default(),
        content_hash: m.content_hash.clone(),
        pair_count: u64::try_from(m.pair_count).unwrap_or(0),
        created_by: m.created_by,
        created_at: rfc3339(&m.created_at),
        curation: m
            .curation
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok()),
    })
}

pub async fn find(
    db: &impl ConnectionTrait,
    project_id: i64,
    tag: &str,
) -> Result<Option<dataset_version::Model>> {
    Ok(dataset_version::Entity::find()
        .filter(dataset_version::Column::ProjectId.eq(project_id))
        .filter(dataset_version::Column::Tag.eq(tag))
        .one(db)
        .await?)
}

pub async fn require(
    db: &impl ConnectionTrait,
    project_id: i64,
    tag: &str,
) -> Result<dataset_version::Model> {
    find(db, project_id, tag)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("dataset version `{tag}`")))
}

/// The newest version of a project, if any (the parent of the next freeze).
async fn latest(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<Option<dataset_version::Model>> {
    Ok(dataset_version::Entity::find()
        .filter(dataset_version::Column::ProjectId.eq(project_id))
        .order_by_desc(dataset_version::Column::Id)
        .one(db)
        .await?)
}

/// Every version of a project, oldest first.
pub async fn list(db: &impl ConnectionTrait, project_id: i64) -> Result<Vec<DatasetVersionView>> {
    let models = dataset_version::Entity::find()
        .filter(dataset_version::Column::ProjectId.eq(project_id))
        .order_by_asc(dataset_version::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(models.len());
    for m in &models {
        out.push(view(db, m).await?);
    }
    Ok(out)
}

pub async fn get_view(
    db: &impl ConnectionTrait,
    project_id: i64,
    tag: &str,
) -> Result<DatasetVersionView> {
    view(db, &require(db, project_id, tag).await?).await
}
