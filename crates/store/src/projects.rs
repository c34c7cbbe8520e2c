//! Projects: creation (admins) and listing with prompt counts.

use crate::{
    entities::{project, prompt},
    error::{Result, StoreError},
    rfc3339,
};
use pairwise_core::dto::ProjectView;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

/// Checks a project name: 1–64 characters, lowercase letters, digits, `-` or `_`, starting with a
/// letter or digit (names appear in URLs and CLI flags).
pub fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = name.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "name",
            "use 1–64 lowercase letters, digits, `-` or `_`, starting with a letter or digit",
        ))
    }
}

fn view(m: &project::Model, prompt_count: u64) -> ProjectView {
    ProjectView {
        id: m.id,
        name: m.name.clone(),
        description: m.description.clone(),
        prompt_count,
        created_at: rfc3339(&m.created_at),
    }
}

pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    description: &str,
    created_by: Option<i64>,
) -> Result<ProjectView> {
    validate_name(name)?;
    if description.len() > 2000 {
        return Err(StoreError::invalid(
            "description",
            "at most 2000 characters",
        ));
    }
    if find(db, name).await?.is_some() {
        return Err(StoreError::Conflict(format!(
            "project `{name}` already exists"
        )));
    }
    let model = project::ActiveModel {
        name: Set(name.to_owned()),
        description: Set(description.trim().to_owned()),
        created_by: Set(created_by),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(view(&model, 0))
}

pub async fn find(db: &impl ConnectionTrait, name: &str) -> Result<Option<project::Model>> {
    Ok(project::Entity::find()
        .filter(project::Column::Name.eq(name))
        .one(db)
        .await?)
}

/// The project with id `id`, if any.
pub async fn find_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<project::Model>> {
    Ok(project::Entity::find_by_id(id).one(db).await?)
}

/// The project named `name`, or `NotFound`.
pub async fn require(db: &impl ConnectionTrait, name: &str) -> Result<project::Model> {
    find(db, name)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("project `{name}`")))
}

/// One project with its prompt count.
pub async fn get_view(db: &impl ConnectionTrait, name: &str) -> Result<ProjectView> {
    let model = require(db, name).await?;
    let count = prompt::Entity::find()
        .filter(prompt::Column::ProjectId.eq(model.id))
        .count(db)
        .await?;
    Ok(view(&model, count))
}

#[derive(FromQueryResult)]
struct CountRow {
    project_id: i64,
    n: i64,
}

/// Every project, by name, with prompt counts from one grouped query.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ProjectView>> {
    list_among(db, None).await
}

/// The projects among `ids` (`None`: all), by name, with prompt counts.
pub async fn list_among(
    db: &impl ConnectionTrait,
    ids: Option<&std::collections::BTreeSet<i64>>,
) -> Result<Vec<ProjectView>> {
    let mut query = project::Entity::find().order_by_asc(project::Column::Name);
    if let Some(ids) = ids {
        query = query.filter(project::Column::Id.is_in(ids.iter().copied()));
    }
    let projects = query.all(db).await?;
    let counts: HashMap<i64, u64> = prompt::Entity::find()
        .select_only()
        .column(prompt::Column::ProjectId)
        .column_as(prompt::Column::Id.count(), "n")
        .group_by(prompt::Column::ProjectId)
        .into_model::<CountRow>()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.project_id, u64::try_from(r.n).unwrap_or(0)))
        .collect();
    Ok(projects
        .iter()
        .map(|p| view(p, counts.get(&p.id).copied().unwrap_or(0)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_are_url_safe() {
        assert!(validate_name("xstest-2026_a").is_ok());
        for bad in ["", "Upper", "-lead", "a b", "a/b", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
