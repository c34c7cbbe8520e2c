//! Judgments of a judge run, stored with an item key unique per run (resumable judging), and the
//! run's rates: parse failures and pairwise position inconsistency.

pub mod gold;

use crate::{
    entities::{candidate, judgment},
    error::Result,
};
use sea_orm::{
    sea_query::{OnConflict, Query},
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set,
};
use std::collections::{BTreeMap, BTreeSet};

/// One judgment as the worker hands it over; store builds the row. A pairwise judgment whose two
/// orders disagree (`consistent == Some(false)`) is marked for human review.
#[derive(Debug, Clone, Default)]
pub struct NewJudgment {
    pub project_id: i64,
    pub job_id: i64,
    pub rubric_id: i64,
    /// json, prob, pairwise or reward.
    pub mode: String,
    /// Unique per run: what makes judging resumable.
    pub item_key: String,
    pub candidate_id: i64,
    pub other_candidate_id: Option<i64>,
    /// Score per rubric dimension.
    pub scores: Option<BTreeMap<String, f64>>,
    pub overall: Option<f64>,
    pub winner_ab: Option<String>,
    pub winner_ba: Option<String>,
    pub consistent: Option<bool>,
    pub parse_ok: bool,
    pub attempts: i32,
    pub raw_output: String,
    pub judge_version: String,
}

/// Inserts judgments, skipping item keys the run has stored already; returns how many were new.
pub async fn insert(db: &impl ConnectionTrait, new: Vec<NewJudgment>) -> Result<u64> {
    if new.is_empty() {
        return Ok(0);
    }
    let now = chrono::Utc::now();
    let rows = new.into_iter().map(|j| judgment::ActiveModel {
        project_id: Set(j.project_id),
        job_id: Set(j.job_id),
        rubric_id: Set(j.rubric_id),
        mode: Set(j.mode),
        item_key: Set(j.item_key),
        candidate_id: Set(j.candidate_id),
        other_candidate_id: Set(j.other_candidate_id),
        scores: Set(j
            .scores
            .map(|s| serde_json::to_string(&s).unwrap_or_default())),
        overall: Set(j.overall),
        winner_ab: Set(j.winner_ab),
        winner_ba: Set(j.winner_ba),
        consistent: Set(j.consistent),
        needs_review: Set(j.consistent == Some(false)),
        parse_ok: Set(j.parse_ok),
        attempts: Set(j.attempts),
        raw_output: Set(j.raw_output),
        judge_version: Set(j.judge_version),
        created_at: Set(now),
        ..Default::default()
    });
    Ok(judgment::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([judgment::Column::JobId, judgment::Column::ItemKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?)
}

/// Item keys a judge run has stored for the candidates whose prompt id lies in `[lo, hi)` (one
/// chunk of the run; resume skips them).
pub async fn stored_keys(
    db: &impl ConnectionTrait,
    job_id: i64,
    (lo, hi): (i64, i64),
) -> Result<BTreeSet<String>> {
    let in_chunk = Query::select()
        .column(candidate::Column::Id)
        .from(candidate::Entity)
        .and_where(candidate::Column::PromptId.gte(lo))
        .and_where(candidate::Column::PromptId.lt(hi))
        .to_owned();
    Ok(judgment::Entity::find()
        .select_only()
        .column(judgment::Column::ItemKey)
        .filter(judgment::Column::JobId.eq(job_id))
        .filter(judgment::Column::CandidateId.in_subquery(in_chunk))
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

/// The overall score of every pointwise judgment of a judge run with its candidate's length in
/// characters (pairwise judgments have no overall score and are left out).
pub async fn scores_with_lengths(
    db: &impl ConnectionTrait,
    job_id: i64,
) -> Result<Vec<(f64, usize)>> {
    let scored: Vec<(i64, Option<f64>)> = judgment::Entity::find()
        .select_only()
        .column(judgment::Column::CandidateId)
        .column(judgment::Column::Overall)
        .filter(judgment::Column::JobId.eq(job_id))
        .filter(judgment::Column::Overall.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(scored.len());
    for chunk in scored.chunks(500) {
        let texts: std::collections::HashMap<i64, String> = candidate::Entity::find()
            .select_only()
            .column(candidate::Column::Id)
            .column(candidate::Column::Text)
            .filter(candidate::Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .into_tuple()
            .all(db)
            .await?
            .into_iter()
            .collect();
        out.extend(chunk.iter().filter_map(|(id, overall)| {
            Some((
                overall.filter(|o| o.is_finite())?,
                texts.get(id)?.chars().count(),
            ))
        }));
    }
    Ok(out)
}
