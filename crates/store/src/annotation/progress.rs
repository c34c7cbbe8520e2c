//! Progress and counts: an annotator's done and remaining items per project, the projects with
//! work, and the vote counts behind load checks.

use super::{
    queue::{count, mine, Ctx},
    settings::{redteam_opt_out, settings},
    MAIN, PENDING, VOTED,
};
use crate::{
    entities::{assignment, comparison, project, vote},
    error::Result,
};
use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::{BTreeSet, HashMap};

/// (votes cast, items still open to this annotator) in a project.
pub async fn progress(
    db: &impl ConnectionTrait,
    project_id: i64,
    user_id: i64,
) -> Result<(u64, u64)> {
    let settings = settings(db, project_id).await?;
    // Voted showings (the annotator index), the same number as this annotator's votes.
    let done = count(
        db,
        mine(project_id, user_id).add(assignment::Column::Status.eq(VOTED)),
    )
    .await?;
    let now = Utc::now();
    let ctx = Ctx {
        settings: &settings,
        project_id,
        user_id,
        opt_out: redteam_opt_out(db, user_id).await?,
        now,
        until: now,
    };
    let open = comparison::Entity::find()
        .filter(ctx.open_items())
        .filter(comparison::Column::Saturated.eq(false))
        .filter(comparison::Column::GoldAnswer.is_null())
        .count(db)
        .await?;
    let pending = count(
        db,
        mine(project_id, user_id).add(assignment::Column::Status.eq(PENDING)),
    )
    .await?;
    Ok((done, open + pending))
}

/// Projects that have items, with this annotator's progress.
pub async fn projects_for(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<pairwise_core::annotation::AnnotateProject>> {
    let with_items: BTreeSet<i64> = comparison::Entity::find()
        .select_only()
        .column(comparison::Column::ProjectId)
        .distinct()
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for p in project::Entity::find()
        .filter(project::Column::Id.is_in(with_items))
        .order_by_asc(project::Column::Name)
        .all(db)
        .await?
    {
        let (done, remaining) = progress(db, p.id, user_id).await?;
        out.push(pairwise_core::annotation::AnnotateProject {
            name: p.name,
            description: p.description,
            done,
            remaining,
        });
    }
    Ok(out)
}

/// Counts for load checks: (items, votes, the most main votes any one item has).
pub async fn vote_counts(db: &impl ConnectionTrait, project_id: i64) -> Result<(u64, u64, u64)> {
    let items = comparison::Entity::find()
        .filter(comparison::Column::ProjectId.eq(project_id))
        .count(db)
        .await?;
    let votes = vote::Entity::find()
        .filter(vote::Column::ProjectId.eq(project_id))
        .all(db)
        .await?;
    let mut per_item: HashMap<i64, u64> = HashMap::new();
    for v in votes.iter().filter(|v| v.kind == MAIN) {
        *per_item.entry(v.comparison_id).or_default() += 1;
    }
    Ok((
        items,
        votes.len() as u64,
        per_item.values().copied().max().unwrap_or(0),
    ))
}
