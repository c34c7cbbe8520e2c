//! Judgments of a judge run, stored with an item key unique per run (resumable judging), and the
//! run's rates: parse failures and pairwise position inconsistency.

use crate::{entities::judgment, error::Result};
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use std::collections::BTreeSet;

pub async fn insert(db: &impl ConnectionTrait, rows: Vec<judgment::ActiveModel>) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    Ok(judgment::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([judgment::Column::JobId, judgment::Column::ItemKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?)
}

/// Item keys a run has stored already.
pub async fn stored_keys(db: &impl ConnectionTrait, job_id: i64) -> Result<BTreeSet<String>> {
    Ok(judgment::Entity::find()
        .select_only()
        .column(judgment::Column::ItemKey)
        .filter(judgment::Column::JobId.eq(job_id))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Counts of a judge run.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct JudgeStats {
    pub judgments: u64,
    pub parse_failures: u64,
    pub parse_failure_rate: f64,
    pub pairwise: u64,
    pub inconsistent: u64,
    pub inconsistency_rate: Option<f64>,
}

pub async fn stats(db: &impl ConnectionTrait, job_id: i64) -> Result<JudgeStats> {
    let of_job = || judgment::Entity::find().filter(judgment::Column::JobId.eq(job_id));
    let judgments = of_job().count(db).await?;
    let parse_failures = of_job()
        .filter(judgment::Column::ParseOk.eq(false))
        .count(db)
        .await?;
    let pairwise = of_job()
        .filter(judgment::Column::OtherCandidateId.is_not_null())
        .count(db)
        .await?;
    let inconsistent = of_job()
        .filter(judgment::Column::Consistent.eq(false))
        .count(db)
        .await?;
    Ok(JudgeStats {
        judgments,
        parse_failures,
        parse_failure_rate: if judgments == 0 {
            0.0
        } else {
            parse_failures as f64 / judgments as f64
        },
        pairwise,
        inconsistent,
        inconsistency_rate: (pairwise > 0).then(|| inconsistent as f64 / pairwise as f64),
    })
}

/// Every judgment of a run, in id order.
pub async fn for_job(db: &impl ConnectionTrait, job_id: i64) -> Result<Vec<judgment::Model>> {
    use sea_orm::QueryOrder;
    Ok(judgment::Entity::find()
        .filter(judgment::Column::JobId.eq(job_id))
        .order_by_asc(judgment::Column::Id)
        .all(db)
        .await?)
}
