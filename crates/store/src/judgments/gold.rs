//! A judge run's verdicts on the project's gold items: which items a run judges (its gold
//! chunk's range of item ids), resumable inserts, and the finished runs' verdicts calibration
//! compares with gold.

use crate::{
    entities::{ai_model, comparison, gold_judgment, job},
    error::Result,
    rfc3339, runs,
};
use pairwise_core::annotation::GoldVerdict;
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::{BTreeSet, HashMap};

/// One verdict as the worker hands it over.
#[derive(Debug, Clone, Default)]
pub struct NewGoldJudgment {
    pub project_id: i64,
    pub job_id: i64,
    pub comparison_id: i64,
    pub rubric_id: i64,
    pub mode: String,
    pub judge_version: String,
    pub label: Option<String>,
    pub score_x: Option<f64>,
    pub score_y: Option<f64>,
    pub raw_output: String,
}

/// The range of item ids `[lo, hi)` holding the project's `limit` oldest gold items, and how
/// many it holds now (`None` when there are none, or `limit` is 0). The oldest, so that every
/// run judges the same items while gold grows and runs stay comparable over time.
pub async fn range(
    db: &impl ConnectionTrait,
    project_id: i64,
    limit: u64,
) -> Result<Option<((i64, i64), i64)>> {
    if limit == 0 {
        return Ok(None);
    }
    let ids: Vec<i64> = comparison::Entity::find()
        .select_only()
        .column(comparison::Column::Id)
        .filter(comparison::Column::ProjectId.eq(project_id))
        .filter(comparison::Column::GoldAnswer.is_not_null())
        .order_by_asc(comparison::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let (Some(lo), Some(hi)) = (ids.first(), ids.last()) else {
        return Ok(None);
    };
    Ok(Some(((*lo, hi + 1), ids.len() as i64)))
}

/// The gold items of a project whose id lies in `[lo, hi)`, in id order.
pub async fn items(
    db: &impl ConnectionTrait,
    project_id: i64,
    (lo, hi): (i64, i64),
) -> Result<Vec<comparison::Model>> {
    Ok(comparison::Entity::find()
        .filter(comparison::Column::ProjectId.eq(project_id))
        .filter(comparison::Column::GoldAnswer.is_not_null())
        .filter(comparison::Column::Id.gte(lo))
        .filter(comparison::Column::Id.lt(hi))
        .order_by_asc(comparison::Column::Id)
        .all(db)
        .await?)
}

/// The gold items a run has judged already (resume skips them).
pub async fn judged(db: &impl ConnectionTrait, job_id: i64) -> Result<BTreeSet<i64>> {
    Ok(gold_judgment::Entity::find()
        .select_only()
        .column(gold_judgment::Column::ComparisonId)
        .filter(gold_judgment::Column::JobId.eq(job_id))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Stores a verdict; one already stored for the same run and item is kept.
pub async fn insert(db: &impl ConnectionTrait, new: NewGoldJudgment) -> Result<()> {
    gold_judgment::Entity::insert(gold_judgment::ActiveModel {
        project_id: Set(new.project_id),
        job_id: Set(new.job_id),
        comparison_id: Set(new.comparison_id),
        rubric_id: Set(new.rubric_id),
        mode: Set(new.mode),
        judge_version: Set(new.judge_version),
        label: Set(new.label),
        score_x: Set(new.score_x),
        score_y: Set(new.score_y),
        raw_output: Set(new.raw_output),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            gold_judgment::Column::JobId,
            gold_judgment::Column::ComparisonId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A run's verdicts: `(label, gold answer now)` for items still gold.
pub async fn of_run(
    db: &impl ConnectionTrait,
    job_id: i64,
) -> Result<Vec<(Option<String>, String)>> {
    let rows = gold_judgment::Entity::find()
        .filter(gold_judgment::Column::JobId.eq(job_id))
        .all(db)
        .await?;
    let gold = gold_answers(db, rows.iter().map(|r| r.comparison_id)).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.label, gold.get(&r.comparison_id)?.clone())))
        .collect())
}

async fn gold_answers(
    db: &impl ConnectionTrait,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, String>> {
    let ids: Vec<i64> = ids.collect::<BTreeSet<i64>>().into_iter().collect();
    let mut out = HashMap::new();
    // Bounded IN lists (PostgreSQL and SQLite both cap bound parameters); ids and answers only.
    for part in ids.chunks(5000) {
        let rows: Vec<(i64, String)> = comparison::Entity::find()
            .select_only()
            .column(comparison::Column::Id)
            .column(comparison::Column::GoldAnswer)
            .filter(comparison::Column::Id.is_in(part.iter().copied()))
            .filter(comparison::Column::GoldAnswer.is_not_null())
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The verdicts of a project's finished judge runs on gold items, with each run's finish time
/// and its rubric as `name@version` (`rubrics`: id → that name).
pub async fn verdicts(
    db: &impl ConnectionTrait,
    project_id: i64,
    rubrics: &HashMap<i64, String>,
) -> Result<Vec<GoldVerdict>> {
    let finished: HashMap<i64, String> = job::Entity::find()
        .filter(job::Column::ProjectId.eq(project_id))
        .filter(job::Column::Status.eq(runs::DONE))
        .all(db)
        .await?
        .into_iter()
        .map(|j| {
            let at = j.finished_at.unwrap_or(j.created_at);
            (j.id, rfc3339(&at))
        })
        .collect();
    // A judge is shown by its registered name where one model has its version.
    let mut names: HashMap<String, Vec<String>> = HashMap::new();
    for m in ai_model::Entity::find().all(db).await? {
        names.entry(m.version).or_default().push(m.name);
    }
    let judge = |version: String| match names.get(&version).map(Vec::as_slice) {
        Some([name]) => format!("{name} ({})", &version[..12.min(version.len())]),
        _ => version,
    };
    Ok(gold_judgment::Entity::find()
        .filter(gold_judgment::Column::ProjectId.eq(project_id))
        .order_by_asc(gold_judgment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|g| {
            Some(GoldVerdict {
                run: g.job_id,
                at: finished.get(&g.job_id)?.clone(),
                judge: judge(g.judge_version),
                rubric: rubrics.get(&g.rubric_id).cloned().unwrap_or_default(),
                mode: g.mode,
                comparison: g.comparison_id,
                label: g.label,
            })
        })
        .collect())
}
