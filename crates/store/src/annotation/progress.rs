//! Progress and counts: an annotator's done and remaining items per project, the projects with
//! work, and the vote counts behind load checks.

use super::{
    context::{queue_context, ProjectKey},
    queue::{Ctx, Tally},
    MAIN,
};
use crate::{
    entities::{comparison, project, vote},
    error::Result,
};
use sea_orm::{
    sea_query::{Expr, ExprTrait, Func, Query},
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::collections::{BTreeSet, HashMap};

/// (votes cast, showings still to come for this annotator) in a project.
///
/// The estimate must not tell an annotator what kind of item they were served: every showing —
/// main, silent gold or swapped repeat — leaves it unchanged when served and lowers it by one
/// when voted. So it counts, for this annotator: the items they have not been shown (gold
/// included) that still lack votes, their pending showings of every kind, and the swapped
/// repeats still to come (the expected number of repeats, which serving does not move, less
/// those already served).
pub async fn progress(
    db: &impl ConnectionTrait,
    project_id: i64,
    user_id: i64,
) -> Result<(u64, u64)> {
    let Some(cx) = queue_context(db, ProjectKey::Id(project_id), user_id).await? else {
        return Ok((0, 0));
    };
    let ctx = Ctx {
        settings: &cx.settings,
        project_id,
        user_id,
        opt_out: cx.redteam_opt_out,
        now: cx.now,
        until: cx.now,
        expired_leases: cx.expired_leases,
    };
    progress_in(db, &ctx, &cx.tally).await
}

/// [`progress`] from settings, preference and counts already read: the unseen items, main and
/// gold, counted in one statement.
pub(super) async fn progress_in(
    db: &impl ConnectionTrait,
    ctx: &Ctx<'_>,
    tally: &Tally,
) -> Result<(u64, u64)> {
    let settings = ctx.settings;
    // Unseen items that still lack votes: gold, and main items without all k main votes (kept
    // per item by triggers). Whether an item is merely held (by anyone) must not count: serving
    // takes a slot, so "unsaturated" would move for main items only. A vote a reviewer requeued
    // gave its slot back and no longer fills the item.
    let gold = || Expr::col(comparison::Column::GoldAnswer).is_not_null();
    let counts = Query::select()
        .expr_as(Func::sum(Expr::case(gold(), 0).finally(1)), "unseen_main")
        .expr_as(Func::sum(Expr::case(gold(), 1).finally(0)), "unseen_gold")
        .from(comparison::Entity)
        .cond_where(ctx.open_items())
        .cond_where(
            Condition::any()
                .add(gold())
                .add(comparison::Column::MainVotes.lt(settings.overlap)),
        )
        .to_owned();
    let row = db.query_one(&counts).await?;
    let count = |alias: &str| -> Result<u64> {
        let n = match &row {
            Some(row) => row.try_get::<Option<i64>>("", alias)?.unwrap_or(0),
            None => 0,
        };
        Ok(Ord::max(n, 0) as u64)
    };
    let (unseen_main, unseen_gold) = (count("unseen_main")?, count("unseen_gold")?);
    let mut repeats_to_come = 0;
    if settings.repeat_rate > 0.0 {
        // Main showings this annotator will have had: serving a main item moves one from
        // `unseen_main` to `tally.main`, so the sum (and the expectation) stays put. The
        // schedule never serves more than ⌊rate·main⌋ + 1 repeats.
        let expected =
            (settings.repeat_rate * (tally.main + unseen_main) as f64).floor() as u64 + 1;
        repeats_to_come = expected.saturating_sub(tally.repeat);
    }
    // Votes cast (voted showings, the annotator index) and showings still to come.
    Ok((
        tally.voted,
        unseen_main + unseen_gold + tally.pending + repeats_to_come,
    ))
}

/// Projects that have items (among `visible`; `None`: all), with this annotator's progress.
pub async fn projects_for(
    db: &impl ConnectionTrait,
    user_id: i64,
    visible: Option<&BTreeSet<i64>>,
) -> Result<Vec<pairwise_core::annotation::AnnotateProject>> {
    let with_items: BTreeSet<i64> = comparison::Entity::find()
        .select_only()
        .column(comparison::Column::ProjectId)
        .distinct()
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .filter(|id| visible.is_none_or(|v| v.contains(id)))
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
