//! Constitution versions. Like rubrics, rows are never updated: saving an edit inserts the next
//! version, so a loop's principle always points at the exact text it used; a version a loop used
//! is locked. Reading `name@version` (or the latest `name`).

use crate::{
    entities::{constitution, critique_loop},
    error::{Result, StoreError},
    rfc3339,
    rubrics::parse_versioned,
    users::validate_identifier,
};
use pairwise_core::{constitution::ConstitutionSpec, dto::ConstitutionView};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

pub fn spec_of(m: &constitution::Model) -> Result<ConstitutionSpec> {
    serde_json::from_str(&m.spec).map_err(|e| {
        StoreError::invalid(
            "spec",
            format!("stored constitution {} is unreadable: {e}", m.id),
        )
    })
}

fn view(m: &constitution::Model, loops: u64) -> Result<ConstitutionView> {
    Ok(ConstitutionView {
        id: m.id,
        name: m.name.clone(),
        version: m.version,
        spec: spec_of(m)?,
        locked: loops > 0,
        loops,
        created_at: rfc3339(&m.created_at),
    })
}

/// Loops per constitution version.
async fn loop_counts(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, u64>> {
    #[derive(FromQueryResult)]
    struct Row {
        constitution_id: i64,
        n: i64,
    }
    Ok(critique_loop::Entity::find()
        .select_only()
        .column(critique_loop::Column::ConstitutionId)
        .column_as(critique_loop::Column::Id.count(), "n")
        .filter(critique_loop::Column::ConstitutionId.is_in(ids.iter().copied()))
        .group_by(critique_loop::Column::ConstitutionId)
        .into_model::<Row>()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.constitution_id, r.n.max(0) as u64))
        .collect())
}

async fn views(
    db: &impl ConnectionTrait,
    rows: Vec<constitution::Model>,
) -> Result<Vec<ConstitutionView>> {
    let counts = loop_counts(db, &rows.iter().map(|r| r.id).collect::<Vec<_>>()).await?;
    rows.iter()
        .map(|r| view(r, counts.get(&r.id).copied().unwrap_or(0)))
        .collect()
}

/// Every version of every constitution: by name, newest version first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ConstitutionView>> {
    let rows = constitution::Entity::find()
        .order_by_asc(constitution::Column::Name)
        .order_by_desc(constitution::Column::Version)
        .all(db)
        .await?;
    views(db, rows).await
}

/// `name@version`, or the latest version of `name`.
pub async fn resolve(db: &impl ConnectionTrait, reference: &str) -> Result<constitution::Model> {
    let (name, version) = parse_versioned("constitution", reference)?;
    let mut query =
        constitution::Entity::find().filter(constitution::Column::Name.eq(name.as_str()));
    query = match version {
        Some(v) => query.filter(constitution::Column::Version.eq(v)),
        None => query.order_by_desc(constitution::Column::Version),
    };
    query.one(db).await?.ok_or_else(|| {
        StoreError::NotFound(format!(
            "constitution `{name}`{}",
            version.map(|v| format!(" version {v}")).unwrap_or_default()
        ))
    })
}

pub async fn show(db: &impl ConnectionTrait, reference: &str) -> Result<ConstitutionView> {
    let m = resolve(db, reference).await?;
    let mut list = views(db, vec![m]).await?;
    Ok(list.remove(0))
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<constitution::Model> {
    constitution::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("constitution {id}")))
}

/// Saves `spec` as the next version of `name` (version 1 for a new name). Saving a spec equal
/// to the latest version is refused.
pub async fn save(
    db: &impl ConnectionTrait,
    name: &str,
    spec: &ConstitutionSpec,
    created_by: Option<i64>,
) -> Result<ConstitutionView> {
    validate_identifier("name", name)?;
    spec.validate()
        .map_err(|message| StoreError::invalid("spec", message))?;
    let latest = constitution::Entity::find()
        .filter(constitution::Column::Name.eq(name))
        .order_by_desc(constitution::Column::Version)
        .one(db)
        .await?;
    if let Some(latest) = &latest {
        if spec_of(latest)? == *spec {
            return Err(StoreError::Conflict(format!(
                "nothing changed: this is `{name}` version {} already",
                latest.version
            )));
        }
    }
    let version = latest.map_or(1, |l| l.version + 1);
    let m = constitution::ActiveModel {
        name: Set(name.to_owned()),
        version: Set(version),
        spec: Set(
            serde_json::to_string(spec).map_err(|e| StoreError::invalid("spec", e.to_string()))?
        ),
        created_by: Set(created_by),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    view(&m, 0)
}
