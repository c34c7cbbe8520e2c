//! A project's iteration rounds, numbered from 1.

use crate::{
    entities::round,
    error::{Result, StoreError},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

/// A round as the use case hands it over (validated).
#[derive(Debug, Clone)]
pub struct NewRound {
    pub project_id: i64,
    pub number: Option<i32>,
    pub name: String,
    pub generator: String,
    pub generator_version: String,
    pub generation_runs: Vec<i64>,
    pub judge_runs: Vec<i64>,
    pub dataset_version: Option<String>,
    pub eval_job_id: Option<i64>,
    pub note: String,
    pub created_by: Option<i64>,
}

/// Every round of a project, in number order.
pub async fn list(db: &impl ConnectionTrait, project_id: i64) -> Result<Vec<round::Model>> {
    Ok(round::Entity::find()
        .filter(round::Column::ProjectId.eq(project_id))
        .order_by_asc(round::Column::Number)
        .all(db)
        .await?)
}

/// Round `number` of a project.
pub async fn find(
    db: &impl ConnectionTrait,
    project_id: i64,
    number: i32,
) -> Result<Option<round::Model>> {
    Ok(round::Entity::find()
        .filter(round::Column::ProjectId.eq(project_id))
        .filter(round::Column::Number.eq(number))
        .one(db)
        .await?)
}

/// Stores a round: its number is the one asked for, or one after the project's last. A number
/// already taken is a conflict (a round is a record of what was done; it is never rewritten).
pub async fn insert(db: &impl ConnectionTrait, new: NewRound) -> Result<round::Model> {
    let last = round::Entity::find()
        .filter(round::Column::ProjectId.eq(new.project_id))
        .order_by_desc(round::Column::Number)
        .one(db)
        .await?
        .map_or(0, |r| r.number);
    let number = new.number.unwrap_or(last + 1);
    if number < 1 {
        return Err(StoreError::invalid("number", "rounds are numbered from 1"));
    }
    if find(db, new.project_id, number).await?.is_some() {
        return Err(StoreError::Conflict(format!(
            "round {number} already exists in this project"
        )));
    }
    let runs = |ids: &[i64]| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let row = round::ActiveModel {
        project_id: Set(new.project_id),
        number: Set(number),
        name: Set(new.name),
        generator: Set(new.generator),
        generator_version: Set(new.generator_version),
        generation_runs: Set(runs(&new.generation_runs)),
        judge_runs: Set(runs(&new.judge_runs)),
        dataset_version: Set(new.dataset_version),
        eval_job_id: Set(new.eval_job_id),
        note: Set(new.note),
        created_by: Set(new.created_by),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    // The unique (project, number) index turns a concurrent save of the same number into an
    // error rather than two rounds.
    row.insert(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            StoreError::Conflict(format!("round {number} already exists in this project"))
        }
        _ => StoreError::Db(e),
    })
}

/// The run ids a round stores as JSON.
pub fn run_ids(text: &str) -> Vec<i64> {
    serde_json::from_str(text).unwrap_or_default()
}
