//! Judge duel verdicts: one row per (run, item), so a resumed run skips the items already
//! judged; the run's tally is read back from them.

use crate::{entities::duel_verdict, error::Result};
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::{HashMap, HashSet};

/// One judged item as the worker hands it over.
#[derive(Debug, Clone)]
pub struct NewVerdict {
    pub project_id: i64,
    pub job_id: i64,
    pub item_id: i64,
    pub group: String,
    /// `first`, `second` or `tie`.
    pub winner_ab: String,
    pub winner_ba: String,
    pub raw: String,
}

/// Stores a verdict; one already stored for the same (run, item) is kept (a resumed run).
pub async fn store(db: &impl ConnectionTrait, new: NewVerdict) -> Result<()> {
    let row = duel_verdict::ActiveModel {
        project_id: Set(new.project_id),
        job_id: Set(new.job_id),
        item_id: Set(new.item_id),
        grp: Set(new.group),
        winner_ab: Set(new.winner_ab),
        winner_ba: Set(new.winner_ba),
        raw: Set(new.raw),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    duel_verdict::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([duel_verdict::Column::JobId, duel_verdict::Column::ItemId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Item ids of `[lo, hi)` this run has judged.
pub async fn done_items(
    db: &impl ConnectionTrait,
    job_id: i64,
    (lo, hi): (i64, i64),
) -> Result<HashSet<i64>> {
    Ok(duel_verdict::Entity::find()
        .select_only()
        .column(duel_verdict::Column::ItemId)
        .filter(duel_verdict::Column::JobId.eq(job_id))
        .filter(duel_verdict::Column::ItemId.gte(lo))
        .filter(duel_verdict::Column::ItemId.lt(hi))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// `(item, group, winner_ab, winner_ba)` of a run's verdicts, in item order.
pub async fn verdicts(
    db: &impl ConnectionTrait,
    job_id: i64,
) -> Result<Vec<(i64, String, String, String)>> {
    Ok(duel_verdict::Entity::find()
        .select_only()
        .column(duel_verdict::Column::ItemId)
        .column(duel_verdict::Column::Grp)
        .column(duel_verdict::Column::WinnerAb)
        .column(duel_verdict::Column::WinnerBa)
        .filter(duel_verdict::Column::JobId.eq(job_id))
        .order_by_asc(duel_verdict::Column::ItemId)
        .into_tuple()
        .all(db)
        .await?)
}

/// The newest verdict of runs `jobs` on each of `items` (guard pairs judged more than once keep
/// their last verdict): item → (group, winner_ab, winner_ba).
pub async fn latest_for_items(
    db: &impl ConnectionTrait,
    jobs: &[i64],
    items: &[i64],
) -> Result<HashMap<i64, (String, String, String)>> {
    let mut out = HashMap::new();
    if jobs.is_empty() {
        return Ok(out);
    }
    for chunk in items.chunks(500) {
        let rows: Vec<(i64, String, String, String)> = duel_verdict::Entity::find()
            .select_only()
            .column(duel_verdict::Column::ItemId)
            .column(duel_verdict::Column::Grp)
            .column(duel_verdict::Column::WinnerAb)
            .column(duel_verdict::Column::WinnerBa)
            .filter(duel_verdict::Column::JobId.is_in(jobs.iter().copied()))
            .filter(duel_verdict::Column::ItemId.is_in(chunk.iter().copied()))
            .order_by_asc(duel_verdict::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        for (item, group, ab, ba) in rows {
            out.insert(item, (group, ab, ba));
        }
    }
    Ok(out)
}

/// Ids of a project's reward-hacking guard pairs (strategy `guards`), those of one dataset
/// version where given, oldest first.
pub async fn guard_pairs(
    db: &impl ConnectionTrait,
    project_id: i64,
    version_id: Option<i64>,
    limit: u64,
) -> Result<Vec<i64>> {
    use crate::entities::{dataset_member, pair};
    use sea_orm::sea_query::Query;
    let mut query = pair::Entity::find()
        .select_only()
        .column(pair::Column::Id)
        .filter(pair::Column::ProjectId.eq(project_id))
        .filter(pair::Column::Strategy.eq("guards"));
    if let Some(version) = version_id {
        query = query.filter(
            pair::Column::Id.in_subquery(
                Query::select()
                    .column(dataset_member::Column::PairId)
                    .from(dataset_member::Entity)
                    .and_where(dataset_member::Column::VersionId.eq(version))
                    .to_owned(),
            ),
        );
    }
    Ok(query
        .order_by_asc(pair::Column::Id)
        .limit(limit)
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

/// One guard pair as a duel reads it.
#[derive(Debug, Clone)]
pub struct GuardItem {
    pub id: i64,
    /// The last user turn.
    pub request: String,
    pub original: String,
    pub degraded: String,
    /// The guard kind (`padding`, `false_premise`, …) from the pair's metadata.
    pub guard: String,
}

/// The guard pairs `ids`, as duels read them.
pub async fn guard_items(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<GuardItem>> {
    use crate::entities::pair;
    let rows = pair::Entity::find()
        .filter(pair::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(pair::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let metadata: serde_json::Value = serde_json::from_str(&p.metadata).unwrap_or_default();
            GuardItem {
                id: p.id,
                request: p.prompt_text,
                original: p.chosen,
                degraded: p.rejected,
                guard: metadata["guard"].as_str().unwrap_or("unknown").to_owned(),
            }
        })
        .collect())
}
