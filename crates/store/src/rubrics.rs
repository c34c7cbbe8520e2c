//! Rubric versions. Rows are never updated: saving an edit inserts the next version, so a version
//! a judgment used can never change under it. Reading `name@version` (or the latest `name`).

use crate::{
    entities::{judgment, rubric},
    error::{Result, StoreError},
    rfc3339,
    users::validate_identifier,
};
use pairwise_core::{dto::RubricView, rubric::RubricSpec};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

/// `name` or `name@version`.
pub fn parse_ref(reference: &str) -> Result<(String, Option<i32>)> {
    parse_versioned("rubric", reference)
}

/// `name` or `name@version` of a versioned spec (`what` names the field in errors).
pub(crate) fn parse_versioned(
    what: &'static str,
    reference: &str,
) -> Result<(String, Option<i32>)> {
    match reference.split_once('@') {
        None => Ok((reference.trim().to_owned(), None)),
        Some((name, version)) => {
            let v = version
                .trim()
                .parse::<i32>()
                .ok()
                .filter(|v| *v >= 1)
                .ok_or_else(|| {
                    StoreError::invalid(what, format!("`{version}` is not a version number"))
                })?;
            Ok((name.trim().to_owned(), Some(v)))
        }
    }
}

pub fn spec_of(m: &rubric::Model) -> Result<RubricSpec> {
    serde_json::from_str(&m.spec).map_err(|e| {
        StoreError::invalid("spec", format!("stored rubric {} is unreadable: {e}", m.id))
    })
}

fn view(m: &rubric::Model, judgments: u64) -> Result<RubricView> {
    Ok(RubricView {
        id: m.id,
        name: m.name.clone(),
        version: m.version,
        spec: spec_of(m)?,
        locked: judgments > 0,
        judgments,
        created_at: rfc3339(&m.created_at),
    })
}

async fn judgment_counts(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, u64>> {
    #[derive(FromQueryResult)]
    struct Row {
        rubric_id: i64,
        n: i64,
    }
    Ok(judgment::Entity::find()
        .select_only()
        .column(judgment::Column::RubricId)
        .column_as(judgment::Column::Id.count(), "n")
        .filter(judgment::Column::RubricId.is_in(ids.iter().copied()))
        .group_by(judgment::Column::RubricId)
        .into_model::<Row>()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.rubric_id, r.n.max(0) as u64))
        .collect())
}

/// Every version of every rubric: by name, newest version first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<RubricView>> {
    let rows = rubric::Entity::find()
        .order_by_asc(rubric::Column::Name)
        .order_by_desc(rubric::Column::Version)
        .all(db)
        .await?;
    let counts = judgment_counts(db, &rows.iter().map(|r| r.id).collect::<Vec<_>>()).await?;
    rows.iter()
        .map(|r| view(r, counts.get(&r.id).copied().unwrap_or(0)))
        .collect()
}

/// `name@version`, or the latest version of `name`.
pub async fn resolve(db: &impl ConnectionTrait, reference: &str) -> Result<rubric::Model> {
    let (name, version) = parse_ref(reference)?;
    let mut query = rubric::Entity::find().filter(rubric::Column::Name.eq(name.as_str()));
    query = match version {
        Some(v) => query.filter(rubric::Column::Version.eq(v)),
        None => query.order_by_desc(rubric::Column::Version),
    };
    query.one(db).await?.ok_or_else(|| {
        StoreError::NotFound(format!(
            "rubric `{name}`{}",
            version.map(|v| format!(" version {v}")).unwrap_or_default()
        ))
    })
}

pub async fn show(db: &impl ConnectionTrait, reference: &str) -> Result<RubricView> {
    let m = resolve(db, reference).await?;
    let n = judgment::Entity::find()
        .filter(judgment::Column::RubricId.eq(m.id))
        .count(db)
        .await?;
    view(&m, n)
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<rubric::Model> {
    rubric::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("rubric {id}")))
}

/// Saves `spec` as the next version of `name` (version 1 for a new name). `force_temperature`
/// allows a judge temperature above 0.3. Saving a spec equal to the latest version is refused.
pub async fn save(
    db: &impl ConnectionTrait,
    name: &str,
    spec: &RubricSpec,
    force_temperature: bool,
    created_by: Option<i64>,
) -> Result<RubricView> {
    validate_identifier("name", name)?;
    spec.validate(force_temperature)
        .map_err(|message| StoreError::invalid("spec", message))?;
    let latest = rubric::Entity::find()
        .filter(rubric::Column::Name.eq(name))
        .order_by_desc(rubric::Column::Version)
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
    let m = rubric::ActiveModel {
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
