//! The queue: which item an annotator is shown next (a swapped repeat, silent gold or a main
//! slot), taking over expired leases, and renewing the leases of pending showings.

use super::{
    context::{queue_context, ProjectKey, QueueContext},
    unique_violation, GOLD, MAIN, PENDING, REPEAT, REPEAT_GAP, VOTED,
};
use crate::{
    entities::{assignment, comparison},
    error::{Result, StoreError},
};
use chrono::{DateTime, Duration, Utc};
use pairwise_core::annotation::{AnnotationSettings, Side};
use rand::{rngs::StdRng, Rng, SeedableRng};
use sea_orm::{
    sea_query::{
        Alias, Expr, ExprTrait, OnConflict, Order, Query, SelectStatement, SimpleExpr,
        SubQueryStatement,
    },
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Set, TransactionTrait,
};

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
    /// Some main showing's lease has run out (read with the context).
    pub(super) expired_leases: bool,
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
        // `ON CONFLICT DO NOTHING` (no target: any unique index): a lost race returns no row
        // instead of raising an error, which on PostgreSQL costs an error round and a log line.
        let _writer = crate::db::write_lock(db).await;
        match assignment::Entity::insert(row)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_with_returning(db)
            .await
        {
            Ok(m) => Ok(Some(m)),
            Err(DbErr::RecordNotFound(_) | DbErr::RecordNotInserted) => Ok(None),
            Err(e) if unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

pub(super) async fn count(db: &impl ConnectionTrait, cond: Condition) -> Result<u64> {
    Ok(assignment::Entity::find().filter(cond).count(db).await?)
}

/// How many items at the head of the queue (in rank order) a main showing is drawn from: wide
/// enough that the slots there (k each) outnumber annotators asking at once.
const HEAD: u64 = 16;

/// A subquery as an expression.
fn sub(select: SelectStatement) -> SimpleExpr {
    SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(select)))
}

/// The next swapped repeat, read with its item in one statement: the annotator's oldest voted
/// main showing at least REPEAT_GAP showings back whose item has not been repeated yet.
async fn assign_repeat(db: &impl ConnectionTrait, ctx: &Ctx<'_>) -> Result<Option<Showing>> {
    // The id REPEAT_GAP showings back (none yet: no repeat can be due).
    let horizon = Query::select()
        .column(assignment::Column::Id)
        .from(assignment::Entity)
        .cond_where(mine(ctx.project_id, ctx.user_id))
        .order_by(assignment::Column::Id, Order::Desc)
        .offset(REPEAT_GAP)
        .limit(1)
        .to_owned();
    let repeated = Query::select()
        .column(assignment::Column::ComparisonId)
        .from(assignment::Entity)
        .cond_where(mine(ctx.project_id, ctx.user_id))
        .and_where(assignment::Column::Kind.eq(REPEAT))
        .to_owned();
    let Some((origin, Some(item))) = assignment::Entity::find()
        .find_also_related(comparison::Entity)
        .filter(mine(ctx.project_id, ctx.user_id))
        .filter(assignment::Column::Kind.eq(MAIN))
        .filter(assignment::Column::Status.eq(VOTED))
        .filter(Expr::col((assignment::Entity, assignment::Column::Id)).lte(sub(horizon)))
        .filter(assignment::Column::ComparisonId.not_in_subquery(repeated))
        .order_by_asc(assignment::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let left = Side::parse(&origin.left_side).unwrap_or(Side::X).other();
    let shown = ctx
        .insert(db, item.id, REPEAT, None, left, Some(origin.id))
        .await?;
    Ok(shown.map(|a| (a, item)))
}

/// Silent gold: one of the annotator's open gold items drawn at random by the database (the
/// draw reads only ids; the item's row comes with it in the same statement), so serving gold
/// costs the same two statements as serving a main item or a repeat.
async fn assign_gold(
    db: &impl ConnectionTrait,
    ctx: &Ctx<'_>,
    rng: &mut StdRng,
) -> Result<Option<Showing>> {
    let draw = Query::select()
        .column(comparison::Column::Id)
        .from(comparison::Entity)
        .cond_where(ctx.open_items())
        .and_where(comparison::Column::GoldAnswer.is_not_null())
        .order_by_expr(Expr::cust("RANDOM()"), Order::Asc)
        .limit(1)
        .to_owned();
    let Some(item) = comparison::Entity::find()
        .filter(Expr::col((comparison::Entity, comparison::Column::Id)).eq(sub(draw)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let shown = ctx.insert(db, item.id, GOLD, None, side(rng), None).await?;
    Ok(shown.map(|a| (a, item)))
}

/// Takes over a main showing whose lease ran out (its item goes back to the pool first).
async fn take_over_expired(
    db: &DatabaseConnection,
    ctx: &Ctx<'_>,
    rng: &mut StdRng,
) -> Result<Option<Showing>> {
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
        expired = expired.add(comparison::Column::Redteam.eq(false));
    }
    let stale = assignment::Entity::find()
        .find_also_related(comparison::Entity)
        .filter(expired)
        .order_by_asc(assignment::Column::Id)
        .limit(4)
        .all(db)
        .await?;
    for (a, item) in stale {
        let Some(item) = item else { continue };
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
                return Ok(Some((m, item)));
            }
            Err(e) if unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// How many slots of the outer item are held, as a subquery.
/// The held slots of the item (`comparisons.id`) as a bit mask: slot s is bit s (overlap is at
/// most 50, so it fits in a BIGINT on both backends).
fn held_mask() -> SimpleExpr {
    let h = Alias::new("h");
    sub(Query::select()
        .expr(Expr::cust(
            r#"CAST(COALESCE(SUM(CAST(1 AS BIGINT) << "h"."slot"), 0) AS BIGINT)"#,
        ))
        .from_as(assignment::Entity, h.clone())
        .and_where(
            Expr::col((h.clone(), assignment::Column::ComparisonId))
                .equals((comparison::Entity, comparison::Column::Id)),
        )
        .and_where(Expr::col((h, assignment::Column::Slot)).is_not_null())
        .to_owned())
}

async fn assign_main(
    db: &DatabaseConnection,
    ctx: &Ctx<'_>,
    rng: &mut StdRng,
) -> Result<Option<Showing>> {
    // Only when the context saw an expired lease (rarely) is there anything to take over.
    if ctx.expired_leases {
        if let Some(shown) = take_over_expired(db, ctx, rng).await? {
            return Ok(Some(shown));
        }
    }
    // One of the head items of the queue, drawn at random by the database and read with its
    // held slots in one statement: annotators asking at once spread over the head instead of
    // racing for one slot (a lost race costs a retry). Another draw if the slot was lost.
    for _draw in 0..8 {
        let head = comparison::Entity::find()
            .select_only()
            .column(comparison::Column::Id)
            .filter(ctx.open_items())
            .filter(comparison::Column::Saturated.eq(false))
            .filter(comparison::Column::GoldAnswer.is_null())
            .order_by_asc(comparison::Column::Rank)
            .order_by_asc(comparison::Column::Id)
            .limit(HEAD)
            .into_query();
        let head_alias = Alias::new("head");
        let draw = Query::select()
            .column((head_alias.clone(), comparison::Column::Id))
            .from_subquery(head, head_alias)
            .order_by_expr(Expr::cust("RANDOM()"), Order::Asc)
            .limit(1)
            .to_owned();
        let pick = comparison::Entity::find()
            .filter(Expr::col((comparison::Entity, comparison::Column::Id)).eq(sub(draw)))
            .into_query()
            .expr_as(held_mask(), "held")
            .to_owned();
        let Some(row) = db.query_one(&pick).await? else {
            return Ok(None);
        };
        let held: i64 = row.try_get("", "held")?;
        let item = comparison::Model::from_query_result(&row, "")?;
        // `held` is the mask of slots in use when the head was read.
        if let Some(a) = take_slot(db, ctx, rng, item.id, held).await? {
            return Ok(Some((a, item)));
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

/// Marks item `id` saturated if all `overlap` of its slots are held when the write runs (a
/// slot given back meanwhile leaves it open).
async fn mark_if_full(db: &DatabaseConnection, id: i64, overlap: i32) -> Result<()> {
    let held = Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from(assignment::Entity)
        .and_where(assignment::Column::ComparisonId.eq(id))
        .and_where(assignment::Column::Slot.is_not_null())
        .to_owned();
    let _writer = crate::db::write_lock(db).await;
    comparison::Entity::update_many()
        .col_expr(comparison::Column::Saturated, Expr::value(true))
        .filter(comparison::Column::Id.eq(id))
        .filter(sub(held).gte(overlap))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes a main slot of item `id`, whose slots in `held` (a bit mask) were in use when the head
/// was read: a free slot drawn at random, so that annotators who drew the same item at once
/// mostly take different slots (the unique slot index is the rule; a lost race rereads the
/// slots in use and draws again).
async fn take_slot(
    db: &DatabaseConnection,
    ctx: &Ctx<'_>,
    rng: &mut StdRng,
    id: i64,
    held: i64,
) -> Result<Option<assignment::Model>> {
    let overlap = ctx.settings.overlap;
    let mut known = Some(held);
    for _ in 0..3 {
        let used = match known.take() {
            Some(mask) => mask,
            None => assignment::Entity::find()
                .select_only()
                .column(assignment::Column::Slot)
                .filter(assignment::Column::ComparisonId.eq(id))
                .filter(assignment::Column::Slot.is_not_null())
                .into_tuple::<i32>()
                .all(db)
                .await?
                .into_iter()
                .fold(0i64, |mask, slot| mask | 1i64 << slot),
        };
        let free: Vec<i32> = (0..overlap).filter(|s| used & (1i64 << s) == 0).collect();
        if free.is_empty() {
            // Guarded: a slot given back meanwhile leaves the item open.
            mark_if_full(db, id, overlap).await?;
            return Ok(None);
        }
        let slot = free[rng.gen_range(0..free.len())];
        if let Some(a) = ctx
            .insert(db, id, MAIN, Some(slot), side(rng), None)
            .await?
        {
            if free.len() == 1 {
                // The hint is written after the answer, off the request path: a serve that
                // fills an item's last slot must not take longer than any other (what an
                // annotator can time must not depend on what they were served).
                let db = db.clone();
                tokio::spawn(async move {
                    if let Err(e) = mark_if_full(&db, id, overlap).await {
                        tracing::warn!("marking item {id} saturated: {e}");
                    }
                });
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
            return Ok(None);
        }
    }
    Ok(None)
}

async fn assign_one(
    db: &DatabaseConnection,
    ctx: &Ctx<'_>,
    tally: &Tally,
    rng: &mut StdRng,
) -> Result<Option<Showing>> {
    let s = ctx.settings;
    // The expected number of repeats/gold crosses a random threshold: the share converges to
    // the rate while the moment stays unpredictable.
    if s.repeat_rate > 0.0
        && (tally.repeat + 1) as f64 <= s.repeat_rate * tally.main_voted as f64 + rng.gen::<f64>()
    {
        if let Some(shown) = assign_repeat(db, ctx).await? {
            return Ok(Some(shown));
        }
    }
    if s.gold_rate > 0.0
        && (tally.gold + 1) as f64 <= s.gold_rate * (tally.total + 1) as f64 + rng.gen::<f64>()
    {
        if let Some(shown) = assign_gold(db, ctx, rng).await? {
            return Ok(Some(shown));
        }
    }
    if let Some(shown) = assign_main(db, ctx, rng).await? {
        return Ok(Some(shown));
    }
    // The open items are done: gold not yet seen still counts for this annotator's accuracy.
    if s.gold_rate > 0.0 {
        return assign_gold(db, ctx, rng).await;
    }
    Ok(None)
}

/// An annotator's showings in one project counted by kind and status, read with the request's
/// context and kept current as the fetch serves more.
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

/// One queue fetch in the context read for it ([`super::queue_context`]): the pending showings
/// topped up to `want`, and [`super::progress`], without reading anything twice.
pub async fn fetch(db: &DatabaseConnection, cx: &QueueContext, want: usize) -> Result<Fetched> {
    let now = cx.now;
    let ctx = Ctx {
        settings: &cx.settings,
        project_id: cx.project_id,
        user_id: cx.user_id,
        opt_out: cx.redteam_opt_out,
        now,
        until: now + Duration::seconds(i64::from(cx.settings.lease_seconds)),
        expired_leases: cx.expired_leases,
    };
    let mut tally = cx.tally;
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
    let Some(cx) = queue_context(db, ProjectKey::Id(project_id), user_id).await? else {
        return Err(StoreError::NotFound(format!("project {project_id}")));
    };
    Ok(fetch(db, &cx, want).await?.items)
}

async fn next_in(
    db: &DatabaseConnection,
    ctx: &Ctx<'_>,
    tally: &mut Tally,
    want: usize,
) -> Result<Vec<Showing>> {
    let (project_id, user_id, settings) = (ctx.project_id, ctx.user_id, ctx.settings);
    let want = want.clamp(1, Ord::max(settings.max_pending, 1) as usize);
    // The pending showings with their items, in one joined read.
    let mut pending: Vec<Showing> = assignment::Entity::find()
        .find_also_related(comparison::Entity)
        .filter(mine(project_id, user_id))
        .filter(assignment::Column::Status.eq(PENDING))
        .order_by_asc(assignment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(a, c)| c.map(|c| (a, c)))
        .collect();
    // Leases are renewed once half of them has passed; a queue that is full and fresh needs no
    // write at all (the common case: the page polls after every vote).
    let half = ctx.now + Duration::seconds(i64::from(settings.lease_seconds) / 2);
    if pending.iter().any(|(a, _)| a.lease_expires_at < half) {
        let _writer = crate::db::write_lock(db).await;
        assignment::Entity::update_many()
            .col_expr(assignment::Column::LeaseExpiresAt, Expr::value(ctx.until))
            .filter(mine(project_id, user_id))
            .filter(assignment::Column::Status.eq(PENDING))
            .exec(db)
            .await?;
        for (a, _) in &mut pending {
            a.lease_expires_at = ctx.until;
        }
    }
    if pending.len() < want {
        let mut rng = StdRng::from_entropy();
        while pending.len() < want {
            match assign_one(db, ctx, tally, &mut rng).await? {
                Some(shown) => {
                    tally.served(&shown.0.kind);
                    pending.push(shown);
                }
                None => break,
            }
        }
    }
    pending.truncate(Ord::max(settings.max_pending, 1) as usize);
    Ok(pending)
}
