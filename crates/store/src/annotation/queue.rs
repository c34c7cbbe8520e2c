//! The queue: which item an annotator is shown next (a swapped repeat, silent gold or a main
//! slot), taking over expired leases, and renewing the leases of pending showings.

use super::{
    settings::{redteam_opt_out, settings},
    unique_violation, GOLD, MAIN, PENDING, REPEAT, REPEAT_GAP, VOTED,
};
use crate::{
    entities::{assignment, comparison},
    error::Result,
};
use chrono::{DateTime, Duration, Utc};
use pairwise_core::annotation::{AnnotationSettings, Side};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use sea_orm::{
    sea_query::{Expr, Func, Query},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use std::collections::{BTreeSet, HashMap};

/// A pending showing with its item.
pub type Showing = (assignment::Model, comparison::Model);

pub(super) fn mine(project_id: i64, user_id: i64) -> Condition {
    Condition::all()
        .add(assignment::Column::ProjectId.eq(project_id))
        .add(assignment::Column::AnnotatorId.eq(user_id))
}

fn seen_by(project_id: i64, user_id: i64) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(assignment::Column::ComparisonId)
        .from(assignment::Entity)
        .cond_where(mine(project_id, user_id))
        .to_owned()
}

fn side(rng: &mut StdRng) -> Side {
    if rng.gen() {
        Side::X
    } else {
        Side::Y
    }
}

pub(super) struct Ctx<'a> {
    pub(super) settings: &'a AnnotationSettings,
    pub(super) project_id: i64,
    pub(super) user_id: i64,
    pub(super) opt_out: bool,
    pub(super) now: DateTime<Utc>,
    pub(super) until: DateTime<Utc>,
}

impl Ctx<'_> {
    pub(super) fn open_items(&self) -> Condition {
        let mut c = Condition::all()
            .add(comparison::Column::ProjectId.eq(self.project_id))
            .add(comparison::Column::Id.not_in_subquery(seen_by(self.project_id, self.user_id)));
        if self.opt_out {
            c = c.add(comparison::Column::Redteam.eq(false));
        }
        c
    }

    async fn insert(
        &self,
        db: &impl ConnectionTrait,
        comparison_id: i64,
        kind: &str,
        slot: Option<i32>,
        left: Side,
        repeat_of: Option<i64>,
    ) -> Result<Option<assignment::Model>> {
        let row = assignment::ActiveModel {
            project_id: Set(self.project_id),
            comparison_id: Set(comparison_id),
            annotator_id: Set(self.user_id),
            kind: Set(kind.to_owned()),
            slot: Set(slot),
            left_side: Set(left.as_str().to_owned()),
            repeat_of: Set(repeat_of),
            status: Set(PENDING.to_owned()),
            skip_reason: Set(None),
            lease_expires_at: Set(self.until),
            created_at: Set(self.now),
            ..Default::default()
        };
        // Only the write itself holds the SQLite writer lock; the reads that chose the item may
        // be stale, which the unique indexes catch (a lost race is a `None`, and the caller
        // tries the next item).
        let _writer = crate::db::write_lock(db).await;
        match row.insert(db).await {
            Ok(m) => Ok(Some(m)),
            Err(e) if unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

pub(super) async fn count(db: &impl ConnectionTrait, cond: Condition) -> Result<u64> {
    Ok(assignment::Entity::find().filter(cond).count(db).await?)
}

async fn assign_repeat(
    db: &impl ConnectionTrait,
    ctx: &Ctx<'_>,
) -> Result<Option<assignment::Model>> {
    // Only items at least REPEAT_GAP showings back.
    let Some(horizon) = assignment::Entity::find()
        .select_only()
        .column(assignment::Column::Id)
        .filter(mine(ctx.project_id, ctx.user_id))
        .order_by_desc(assignment::Column::Id)
        .offset(REPEAT_GAP)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let repeated = Query::select()
        .column(assignment::Column::ComparisonId)
        .from(assignment::Entity)
        .cond_where(mine(ctx.project_id, ctx.user_id))
        .and_where(assignment::Column::Kind.eq(REPEAT))
        .to_owned();
    let Some(origin) = assignment::Entity::find()
        .filter(mine(ctx.project_id, ctx.user_id))
        .filter(assignment::Column::Kind.eq(MAIN))
        .filter(assignment::Column::Status.eq(VOTED))
        .filter(assignment::Column::Id.lte(horizon))
        .filter(assignment::Column::ComparisonId.not_in_subquery(repeated))
        .order_by_asc(assignment::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let left = Side::parse(&origin.left_side).unwrap_or(Side::X).other();
    ctx.insert(
        db,
        origin.comparison_id,
        REPEAT,
        None,
        left,
        Some(origin.id),
    )
    .await
}

async fn assign_gold(
    db: &impl ConnectionTrait,
    ctx: &Ctx<'_>,
    rng: &mut StdRng,
) -> Result<Option<assignment::Model>> {
    let ids: Vec<i64> = comparison::Entity::find()
        .select_only()
        .column(comparison::Column::Id)
        .filter(ctx.open_items())
        .filter(comparison::Column::GoldAnswer.is_not_null())
        .limit(500)
        .into_tuple::<i64>()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(None);
    }
    let id = ids[rng.gen_range(0..ids.len())];
    ctx.insert(db, id, GOLD, None, side(rng), None).await
}

async fn assign_main(
    db: &DatabaseConnection,
    ctx: &Ctx<'_>,
    rng: &mut StdRng,
) -> Result<Option<assignment::Model>> {
    // Items whose lease ran out go back to the pool first: take one over.
    let mut expired = Condition::all()
        .add(assignment::Column::ProjectId.eq(ctx.project_id))
        .add(assignment::Column::Kind.eq(MAIN))
        .add(assignment::Column::Status.eq(PENDING))
        .add(assignment::Column::LeaseExpiresAt.lt(ctx.now))
        .add(assignment::Column::AnnotatorId.ne(ctx.user_id))
        .add(
            assignment::Column::ComparisonId.not_in_subquery(seen_by(ctx.project_id, ctx.user_id)),
        );
    if ctx.opt_out {
        expired = expired.add(
            assignment::Column::ComparisonId.in_subquery(
                Query::select()
                    .column(comparison::Column::Id)
                    .from(comparison::Entity)
                    .and_where(comparison::Column::ProjectId.eq(ctx.project_id))
                    .and_where(comparison::Column::Redteam.eq(false))
                    .to_owned(),
            ),
        );
    }
    let stale = assignment::Entity::find()
        .filter(expired)
        .order_by_asc(assignment::Column::Id)
        .limit(4)
        .all(db)
        .await?;
    for a in stale {
        // The expired showing is replaced by a new one (a new id) rather than handed over in
        // place: an id older than the annotator's others would tell them it was taken over, which
        // happens to main items only, never to gold or repeats. Delete and insert are one
        // transaction; the delete is the compare-and-set (still pending, same holder, expired).
        let _writer = crate::db::write_lock(db).await;
        let txn = db.begin().await?;
        let res = assignment::Entity::delete_many()
            .filter(assignment::Column::Id.eq(a.id))
            .filter(assignment::Column::Status.eq(PENDING))
            .filter(assignment::Column::AnnotatorId.eq(a.annotator_id))
            .filter(assignment::Column::LeaseExpiresAt.lt(ctx.now))
            .exec(&txn)
            .await?;
        if res.rows_affected != 1 {
            continue;
        }
        let row = assignment::ActiveModel {
            project_id: Set(ctx.project_id),
            comparison_id: Set(a.comparison_id),
            annotator_id: Set(ctx.user_id),
            kind: Set(MAIN.to_owned()),
            slot: Set(a.slot),
            left_side: Set(side(rng).as_str().to_owned()),
            repeat_of: Set(None),
            status: Set(PENDING.to_owned()),
            skip_reason: Set(None),
            lease_expires_at: Set(ctx.until),
            created_at: Set(ctx.now),
            ..Default::default()
        };
        match row.insert(&txn).await {
            Ok(m) => {
                txn.commit().await?;
                return Ok(Some(m));
            }
            Err(e) if unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // The head of the queue, in a random order among its first few, so that annotators asking
    // at once spread over items instead of racing for one slot; another round if all were lost.
    for _round in 0..4 {
        let mut open = comparison::Entity::find()
            .select_only()
            .column(comparison::Column::Id)
            .filter(ctx.open_items())
            .filter(comparison::Column::Saturated.eq(false))
            .filter(comparison::Column::GoldAnswer.is_null())
            .order_by_asc(comparison::Column::Rank)
            .order_by_asc(comparison::Column::Id)
            .limit(12)
            .into_tuple::<i64>()
            .all(db)
            .await?;
        if open.is_empty() {
            return Ok(None);
        }
        let head = open.len().min(4);
        open[..head].shuffle(rng);
        if let Some(a) = take_slot(db, ctx, rng, &open).await? {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

/// Marks an item as having all (or not all) of its slots held.
pub(super) async fn set_saturated(
    db: &impl ConnectionTrait,
    comparison_id: i64,
    on: bool,
) -> Result<()> {
    let _writer = crate::db::write_lock(db).await;
    set_saturated_locked(db, comparison_id, on).await
}

/// [`set_saturated`] for a caller that holds the writer lock already (inside its transaction).
pub(super) async fn set_saturated_locked(
    db: &impl ConnectionTrait,
    comparison_id: i64,
    on: bool,
) -> Result<()> {
    comparison::Entity::update_many()
        .col_expr(comparison::Column::Saturated, Expr::value(on))
        .filter(comparison::Column::Id.eq(comparison_id))
        .exec(db)
        .await?;
    Ok(())
}

async fn take_slot(
    db: &impl ConnectionTrait,
    ctx: &Ctx<'_>,
    rng: &mut StdRng,
    open: &[i64],
) -> Result<Option<assignment::Model>> {
    for &id in open {
        for _ in 0..3 {
            let used: BTreeSet<i32> = assignment::Entity::find()
                .select_only()
                .column(assignment::Column::Slot)
                .filter(assignment::Column::ComparisonId.eq(id))
                .filter(assignment::Column::Slot.is_not_null())
                .into_tuple::<i32>()
                .all(db)
                .await?
                .into_iter()
                .collect();
            let Some(slot) = (0..ctx.settings.overlap).find(|s| !used.contains(s)) else {
                set_saturated(db, id, true).await?;
                break;
            };
            if let Some(a) = ctx
                .insert(db, id, MAIN, Some(slot), side(rng), None)
                .await?
            {
                if used.len() + 1 >= ctx.settings.overlap as usize {
                    set_saturated(db, id, true).await?;
                }
                return Ok(Some(a));
            }
            // Lost the slot to someone else (or this annotator already holds the item): retry.
            let taken = count(
                db,
                mine(ctx.project_id, ctx.user_id)
                    .add(assignment::Column::ComparisonId.eq(id))
                    .add(assignment::Column::Kind.eq(MAIN)),
            )
            .await?;
            if taken > 0 {
                break;
            }
        }
    }
    Ok(None)
}

async fn assign_one(
    db: &DatabaseConnection,
    ctx: &Ctx<'_>,
    tally: &Tally,
    rng: &mut StdRng,
) -> Result<Option<assignment::Model>> {
    let s = ctx.settings;
    // The expected number of repeats/gold crosses a random threshold: the share converges to
    // the rate while the moment stays unpredictable.
    if s.repeat_rate > 0.0
        && (tally.repeat + 1) as f64 <= s.repeat_rate * tally.main_voted as f64 + rng.gen::<f64>()
    {
        if let Some(a) = assign_repeat(db, ctx).await? {
            return Ok(Some(a));
        }
    }
    if s.gold_rate > 0.0
        && (tally.gold + 1) as f64 <= s.gold_rate * (tally.total + 1) as f64 + rng.gen::<f64>()
    {
        if let Some(a) = assign_gold(db, ctx, rng).await? {
            return Ok(Some(a));
        }
    }
    if let Some(a) = assign_main(db, ctx, rng).await? {
        return Ok(Some(a));
    }
    // The open items are done: gold not yet seen still counts for this annotator's accuracy.
    if s.gold_rate > 0.0 {
        return assign_gold(db, ctx, rng).await;
    }
    Ok(None)
}

/// An annotator's showings in one project counted by kind and status, read in one grouped
/// query and kept current as the fetch serves more.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tally {
    pub(super) total: u64,
    pub(super) pending: u64,
    pub(super) voted: u64,
    /// Main showings of any status, and those voted.
    pub(super) main: u64,
    pub(super) main_voted: u64,
    pub(super) repeat: u64,
    pub(super) gold: u64,
}

impl Tally {
    pub(super) async fn load(
        db: &impl ConnectionTrait,
        project_id: i64,
        user_id: i64,
    ) -> Result<Self> {
        let rows: Vec<(String, String, i64)> = assignment::Entity::find()
            .select_only()
            .column(assignment::Column::Kind)
            .column(assignment::Column::Status)
            .column_as(
                Expr::from(Func::count(Expr::col(assignment::Column::Id))),
                "n",
            )
            .filter(mine(project_id, user_id))
            .group_by(assignment::Column::Kind)
            .group_by(assignment::Column::Status)
            .into_tuple()
            .all(db)
            .await?;
        let mut t = Self::default();
        for (kind, status, n) in rows {
            let n = n.max(0) as u64;
            t.total += n;
            match status.as_str() {
                PENDING => t.pending += n,
                VOTED => t.voted += n,
                _ => {}
            }
            match kind.as_str() {
                MAIN => {
                    t.main += n;
                    if status == VOTED {
                        t.main_voted += n;
                    }
                }
                REPEAT => t.repeat += n,
                GOLD => t.gold += n,
                _ => {}
            }
        }
        Ok(t)
    }

    /// Counts a showing just served.
    fn served(&mut self, kind: &str) {
        self.total += 1;
        self.pending += 1;
        match kind {
            MAIN => self.main += 1,
            REPEAT => self.repeat += 1,
            GOLD => self.gold += 1,
            _ => {}
        }
    }
}

/// What one queue fetch gives an annotator: their pending showings, votes cast, showings still
/// to come, and whether they opted out of red-team items.
#[derive(Debug)]
pub struct Fetched {
    pub items: Vec<Showing>,
    pub done: u64,
    pub remaining: u64,
    pub redteam_opt_out: bool,
}

/// One queue fetch: [`next`] and [`super::progress`] together, reading the settings, the
/// red-team preference and the annotator's counts once (the page fetches after every vote).
pub async fn fetch(
    db: &DatabaseConnection,
    project_id: i64,
    user_id: i64,
    want: usize,
) -> Result<Fetched> {
    let settings = settings(db, project_id).await?;
    let now = Utc::now();
    let ctx = Ctx {
        settings: &settings,
        project_id,
        user_id,
        opt_out: redteam_opt_out(db, user_id).await?,
        now,
        until: now + Duration::seconds(i64::from(settings.lease_seconds)),
    };
    let mut tally = Tally::load(db, project_id, user_id).await?;
    let items = next_in(db, &ctx, &mut tally, want).await?;
    let (done, remaining) = super::progress::progress_in(db, &ctx, &tally).await?;
    Ok(Fetched {
        items,
        done,
        remaining,
        redteam_opt_out: ctx.opt_out,
    })
}

/// The annotator's pending showings in this project, topped up to `want` (bounded by the
/// project's `max_pending`); leases of the returned showings are renewed.
pub async fn next(
    db: &DatabaseConnection,
    project_id: i64,
    user_id: i64,
    want: usize,
) -> Result<Vec<Showing>> {
    Ok(fetch(db, project_id, user_id, want).await?.items)
}

async fn next_in(
    db: &DatabaseConnection,
    ctx: &Ctx<'_>,
    tally: &mut Tally,
    want: usize,
) -> Result<Vec<Showing>> {
    let (project_id, user_id, settings) = (ctx.project_id, ctx.user_id, ctx.settings);
    let want = want.clamp(1, settings.max_pending.max(1) as usize);
    let mut pending = assignment::Entity::find()
        .filter(mine(project_id, user_id))
        .filter(assignment::Column::Status.eq(PENDING))
        .order_by_asc(assignment::Column::Id)
        .all(db)
        .await?;
    // Leases are renewed once half of them has passed; a queue that is full and fresh needs no
    // write at all (the common case: the page polls after every vote).
    let half = ctx.now + Duration::seconds(i64::from(settings.lease_seconds) / 2);
    if pending.iter().any(|a| a.lease_expires_at < half) {
        let _writer = crate::db::write_lock(db).await;
        assignment::Entity::update_many()
            .col_expr(assignment::Column::LeaseExpiresAt, Expr::value(ctx.until))
            .filter(mine(project_id, user_id))
            .filter(assignment::Column::Status.eq(PENDING))
            .exec(db)
            .await?;
        for a in &mut pending {
            a.lease_expires_at = ctx.until;
        }
    }
    if pending.len() < want {
        let mut rng = StdRng::from_entropy();
        while pending.len() < want {
            match assign_one(db, ctx, tally, &mut rng).await? {
                Some(a) => {
                    tally.served(&a.kind);
                    pending.push(a);
                }
                None => break,
            }
        }
    }
    pending.truncate(settings.max_pending.max(1) as usize);
    let items: HashMap<i64, comparison::Model> = comparison::Entity::find()
        .filter(comparison::Column::Id.is_in(pending.iter().map(|a| a.comparison_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok(pending
        .into_iter()
        .filter_map(|a| items.get(&a.comparison_id).cloned().map(|c| (a, c)))
        .collect())
}
