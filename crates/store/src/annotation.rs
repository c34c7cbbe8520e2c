//! The annotation queue and votes.
//!
//! An annotator asks for work; the queue hands out items in rank order with three guarantees
//! that hold under concurrency on SQLite and PostgreSQL alike, because each is a database rule
//! rather than a check in this process:
//! - at most `k` annotators per item: a main assignment takes one of the item's `k` slots and
//!   `(comparison_id, slot)` is unique;
//! - nobody sees an item twice except as a planned swapped repeat: `(comparison_id,
//!   annotator_id, kind)` is unique;
//! - a lease that runs out returns the item: another annotator takes the expired assignment over
//!   with a compare-and-set update.
//!
//! Which answer is shown left is drawn here, per showing, and stored with the assignment and the
//! vote. Votes, undo and skips are single guarded updates, so a retry can never double-count.

use crate::{
    entities::{
        annotation_settings, annotator_pref, assignment, comparison, judgment, pair, project,
        prompt, quarantine, rubric, user, vote,
    },
    error::{Result, StoreError},
    rfc3339,
};
use chrono::{DateTime, Duration, Utc};
use pairwise_core::{
    annotation::{
        self as core, AnnotationSettings, Choice, ItemInfo, JudgeFlips, QuarantineView, Side,
        VoteRow,
    },
    stable_hash, ChatMessage,
};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use sea_orm::{
    sea_query::{Expr, Query},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
    TransactionTrait,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const MAIN: &str = "main";
pub const REPEAT: &str = "repeat";
pub const GOLD: &str = "gold";
pub const PENDING: &str = "pending";
pub const VOTED: &str = "voted";
pub const SKIPPED: &str = "skipped";
/// The only skip reason: never counted against the annotator.
pub const DISTRESSING: &str = "distressing";
/// A swapped repeat comes back only after this many other items of the annotator.
const REPEAT_GAP: u64 = 3;

fn unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

// ---- settings and preferences ----

pub async fn settings(db: &impl ConnectionTrait, project_id: i64) -> Result<AnnotationSettings> {
    Ok(annotation_settings::Entity::find_by_id(project_id)
        .one(db)
        .await?
        .map(|s| AnnotationSettings {
            overlap: s.overlap,
            repeat_rate: s.repeat_rate,
            gold_rate: s.gold_rate,
            max_pending: s.max_pending,
            lease_seconds: s.lease_seconds,
            kappa_threshold: s.kappa_threshold,
        })
        .unwrap_or_default())
}

pub async fn set_settings(
    db: &impl ConnectionTrait,
    project_id: i64,
    s: &AnnotationSettings,
) -> Result<()> {
    s.validate()
        .map_err(|(field, message)| StoreError::invalid(field, message))?;
    let row = annotation_settings::ActiveModel {
        project_id: Set(project_id),
        overlap: Set(s.overlap),
        repeat_rate: Set(s.repeat_rate),
        gold_rate: Set(s.gold_rate),
        max_pending: Set(s.max_pending),
        lease_seconds: Set(s.lease_seconds),
        kappa_threshold: Set(s.kappa_threshold),
        updated_at: Set(Utc::now()),
    };
    annotation_settings::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(annotation_settings::Column::ProjectId)
                .update_columns([
                    annotation_settings::Column::Overlap,
                    annotation_settings::Column::RepeatRate,
                    annotation_settings::Column::GoldRate,
                    annotation_settings::Column::MaxPending,
                    annotation_settings::Column::LeaseSeconds,
                    annotation_settings::Column::KappaThreshold,
                    annotation_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    // k may have grown: every item is a candidate again; the queue re-marks the full ones.
    comparison::Entity::update_many()
        .col_expr(comparison::Column::Saturated, Expr::value(false))
        .filter(comparison::Column::ProjectId.eq(project_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn redteam_opt_out(db: &impl ConnectionTrait, user_id: i64) -> Result<bool> {
    Ok(annotator_pref::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .is_some_and(|p| p.redteam_opt_out))
}

pub async fn set_redteam_opt_out(db: &impl ConnectionTrait, user_id: i64, on: bool) -> Result<()> {
    annotator_pref::Entity::insert(annotator_pref::ActiveModel {
        user_id: Set(user_id),
        redteam_opt_out: Set(on),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(annotator_pref::Column::UserId)
            .update_columns([
                annotator_pref::Column::RedteamOptOut,
                annotator_pref::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

// ---- building items ----

/// What a fill added.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FillReport {
    pub added: u64,
    pub duplicates: u64,
    pub redteam: u64,
}

fn comparison_hash(prompt: &str, x: &str, y: &str) -> String {
    // Order-free: the same two answers to the same prompt are one item whichever is X.
    let (a, b) = if x <= y { (x, y) } else { (y, x) };
    stable_hash(serde_json::json!([prompt, a, b]).to_string())
}

async fn redteam_prompts(db: &impl ConnectionTrait, project_id: i64) -> Result<BTreeSet<String>> {
    Ok(prompt::Entity::find()
        .select_only()
        .column(prompt::Column::Text)
        .filter(prompt::Column::ProjectId.eq(project_id))
        .filter(prompt::Column::Split.eq("redteam"))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .map(|t| pairwise_core::normalize_text(&t))
        .collect())
}

#[allow(clippy::too_many_arguments)]
fn new_item(
    project_id: i64,
    prompt: &str,
    prompt_text: &str,
    (x, y): (&str, &str),
    source: &str,
    rank: f64,
    reference: Option<(&str, String)>,
    redteam: bool,
    now: DateTime<Utc>,
) -> comparison::ActiveModel {
    comparison::ActiveModel {
        project_id: Set(project_id),
        hash: Set(comparison_hash(prompt, x, y)),
        prompt: Set(prompt.to_owned()),
        prompt_text: Set(prompt_text.to_owned()),
        answer_x: Set(x.to_owned()),
        answer_y: Set(y.to_owned()),
        source: Set(source.to_owned()),
        rank: Set(rank),
        reference_label: Set(reference.as_ref().map(|r| r.0.to_owned())),
        reference: Set(reference.map(|r| r.1)),
        redteam: Set(redteam),
        saturated: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
}

async fn insert_items(
    db: &impl ConnectionTrait,
    rows: Vec<comparison::ActiveModel>,
) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    Ok(comparison::Entity::insert_many(rows)
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                comparison::Column::ProjectId,
                comparison::Column::Hash,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?)
}

/// Queues the project's pairs as items: pipeline pairs first, smallest margin first, then
/// imported pairs. The chosen answer is X or Y at random (so the reference label varies and
/// κ against it means something); `all_redteam` marks every item for a content warning, else
/// items whose prompt is a red-team prompt of the project are marked. At most `limit` pairs.
pub async fn fill_from_pairs(
    db: &DatabaseConnection,
    project_id: i64,
    limit: u64,
    all_redteam: bool,
    seed: Option<u64>,
) -> Result<FillReport> {
    let mut rng = seed.map_or_else(StdRng::from_entropy, StdRng::seed_from_u64);
    let redteam = redteam_prompts(db, project_id).await?;
    let queued: BTreeSet<i64> = comparison::Entity::find()
        .select_only()
        .column(comparison::Column::PairId)
        .filter(comparison::Column::ProjectId.eq(project_id))
        .filter(comparison::Column::PairId.is_not_null())
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut report = FillReport::default();
    let now = Utc::now();
    let txn = db.begin().await?;
    let mut pages = pair::Entity::find()
        .filter(pair::Column::ProjectId.eq(project_id))
        .order_by_asc(pair::Column::Id)
        .paginate(&txn, 500);
    let mut taken = 0u64;
    while let Some(page) = pages.fetch_and_next().await? {
        let mut rows = Vec::new();
        for p in page {
            if taken >= limit {
                break;
            }
            if queued.contains(&p.id) {
                continue;
            }
            taken += 1;
            let imported = p.strategy == "imported";
            let reference = if imported {
                format!("import {}", p.source)
            } else {
                let prov: serde_json::Value =
                    serde_json::from_str(&p.provenance).unwrap_or_default();
                format!(
                    "judge {} rubric {}",
                    prov["judge_version"].as_str().unwrap_or("?"),
                    prov["rubric"].as_str().unwrap_or("?")
                )
            };
            let rank = if imported {
                3.0
            } else {
                1.0 + p.margin.unwrap_or(1.0).abs().min(0.999)
            };
            let chosen_is_x: bool = rng.gen();
            let (x, y, label) = if chosen_is_x {
                (p.chosen.as_str(), p.rejected.as_str(), "x")
            } else {
                (p.rejected.as_str(), p.chosen.as_str(), "y")
            };
            let red =
                all_redteam || redteam.contains(&pairwise_core::normalize_text(&p.prompt_text));
            report.redteam += u64::from(red);
            let mut row = new_item(
                project_id,
                &p.prompt,
                &p.prompt_text,
                (x, y),
                if imported { "imported" } else { "pair" },
                rank,
                Some((label, reference)),
                red,
                now,
            );
            row.pair_id = Set(Some(p.id));
            rows.push(row);
        }
        let n = rows.len() as u64;
        let added = insert_items(&txn, rows).await?;
        report.added += added;
        report.duplicates += n - added;
        if taken >= limit {
            break;
        }
    }
    txn.commit().await?;
    Ok(report)
}

/// Queues the pairwise judgments whose A/B and B/A verdicts disagreed (the judge cannot be
/// trusted there), ahead of everything else.
pub async fn fill_from_inconsistent(
    db: &DatabaseConnection,
    project_id: i64,
) -> Result<FillReport> {
    let judged = judgment::Entity::find()
        .filter(judgment::Column::ProjectId.eq(project_id))
        .filter(judgment::Column::NeedsReview.eq(true))
        .filter(judgment::Column::OtherCandidateId.is_not_null())
        .all(db)
        .await?;
    let ids: Vec<i64> = judged
        .iter()
        .flat_map(|j| [Some(j.candidate_id), j.other_candidate_id])
        .flatten()
        .collect();
    let cands: HashMap<i64, crate::entities::candidate::Model> =
        crate::entities::candidate::Entity::find()
            .filter(crate::entities::candidate::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    let prompt_ids: Vec<i64> = cands.values().map(|c| c.prompt_id).collect();
    let prompts: HashMap<i64, prompt::Model> = prompt::Entity::find()
        .filter(prompt::Column::Id.is_in(prompt_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let now = Utc::now();
    let mut rows = Vec::new();
    for j in &judged {
        let (Some(a), Some(b)) = (
            cands.get(&j.candidate_id),
            j.other_candidate_id.and_then(|id| cands.get(&id)),
        ) else {
            continue;
        };
        let Some(p) = prompts.get(&a.prompt_id) else {
            continue;
        };
        let messages = match &p.messages {
            Some(m) => m.clone(),
            None => serde_json::to_string(&[ChatMessage {
                role: "user".into(),
                content: p.text.clone(),
            }])
            .unwrap_or_default(),
        };
        let mut row = new_item(
            project_id,
            &messages,
            &p.text,
            (&a.text, &b.text),
            "judge-inconsistent",
            0.0,
            None,
            p.split == "redteam",
            now,
        );
        row.judgment_id = Set(Some(j.id));
        rows.push(row);
    }
    let n = rows.len() as u64;
    let redteam = rows
        .iter()
        .filter(|r| matches!(r.redteam, sea_orm::ActiveValue::Set(true)))
        .count() as u64;
    let added = insert_items(db, rows).await?;
    Ok(FillReport {
        added,
        duplicates: n - added,
        redteam,
    })
}

/// New gold items from parsed pairs: the chosen answer is the agreed one, X or Y at random.
/// Returns how many were new (an item already queued is left as it is).
pub async fn insert_gold(
    db: &impl ConnectionTrait,
    project_id: i64,
    pairs: &[crate::pairs::HashedPair],
    source: &str,
    rng: &mut StdRng,
) -> Result<u64> {
    let now = Utc::now();
    let redteam = redteam_prompts(db, project_id).await?;
    let rows = pairs
        .iter()
        .map(|p| {
            let r = &p.record;
            let prompt = serde_json::to_string(&r.prompt).unwrap_or_default();
            let text = crate::pairs::last_user(&r.prompt);
            let chosen_is_x: bool = rng.gen();
            let (x, y, answer) = if chosen_is_x {
                (r.chosen.as_str(), r.rejected.as_str(), "x")
            } else {
                (r.rejected.as_str(), r.chosen.as_str(), "y")
            };
            let red = redteam.contains(&pairwise_core::normalize_text(&text));
            let mut row = new_item(
                project_id,
                &prompt,
                &text,
                (x, y),
                &format!("gold {source}"),
                2.0,
                None,
                red,
                now,
            );
            row.gold_answer = Set(Some(answer.to_owned()));
            row
        })
        .collect();
    insert_items(db, rows).await
}

/// Makes an item gold with an agreed answer (`x`, `y`, `tie`, `both_bad`). From then on it is
/// served only as silent gold.
pub async fn set_gold(
    db: &impl ConnectionTrait,
    project_id: i64,
    comparison_id: i64,
    answer: &str,
) -> Result<()> {
    let answer = core::parse_label(answer).map_err(|m| StoreError::invalid("answer", m))?;
    let res = comparison::Entity::update_many()
        .col_expr(comparison::Column::GoldAnswer, Expr::value(answer))
        .filter(comparison::Column::Id.eq(comparison_id))
        .filter(comparison::Column::ProjectId.eq(project_id))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound(format!("item {comparison_id}")));
    }
    Ok(())
}

/// Promotes `n` items made from pairs, not yet shown to anyone, to gold with the pair's
/// preference as the agreed answer (a reviewer vouches for that source). Returns how many.
pub async fn gold_from_pairs(db: &DatabaseConnection, project_id: i64, n: u64) -> Result<u64> {
    let shown = Query::select()
        .column(assignment::Column::ComparisonId)
        .from(assignment::Entity)
        .and_where(assignment::Column::ProjectId.eq(project_id))
        .to_owned();
    let picked = comparison::Entity::find()
        .filter(comparison::Column::ProjectId.eq(project_id))
        .filter(comparison::Column::GoldAnswer.is_null())
        .filter(comparison::Column::ReferenceLabel.is_not_null())
        .filter(comparison::Column::Id.not_in_subquery(shown))
        .order_by_desc(comparison::Column::Rank)
        .order_by_desc(comparison::Column::Id)
        .limit(n)
        .all(db)
        .await?;
    let txn = db.begin().await?;
    for c in &picked {
        let answer = c.reference_label.clone().unwrap_or_default();
        set_gold(&txn, project_id, c.id, &answer).await?;
    }
    txn.commit().await?;
    Ok(picked.len() as u64)
}

// ---- the queue ----

/// A pending showing with its item.
pub type Showing = (assignment::Model, comparison::Model);

fn mine(project_id: i64, user_id: i64) -> Condition {
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

struct Ctx<'a> {
    settings: &'a AnnotationSettings,
    project_id: i64,
    user_id: i64,
    opt_out: bool,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
}

impl Ctx<'_> {
    fn open_items(&self) -> Condition {
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

async fn count(db: &impl ConnectionTrait, cond: Condition) -> Result<u64> {
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
    db: &impl ConnectionTrait,
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
        let _writer = crate::db::write_lock(db).await;
        let res = assignment::Entity::update_many()
            .col_expr(assignment::Column::AnnotatorId, Expr::value(ctx.user_id))
            .col_expr(
                assignment::Column::LeftSide,
                Expr::value(side(rng).as_str()),
            )
            .col_expr(assignment::Column::LeaseExpiresAt, Expr::value(ctx.until))
            .col_expr(assignment::Column::CreatedAt, Expr::value(ctx.now))
            .filter(assignment::Column::Id.eq(a.id))
            .filter(assignment::Column::Status.eq(PENDING))
            .filter(assignment::Column::AnnotatorId.eq(a.annotator_id))
            .filter(assignment::Column::LeaseExpiresAt.lt(ctx.now))
            .exec(db)
            .await;
        match res {
            Ok(r) if r.rows_affected == 1 => {
                return Ok(assignment::Entity::find_by_id(a.id).one(db).await?);
            }
            Ok(_) => {}
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
async fn set_saturated(db: &impl ConnectionTrait, comparison_id: i64, on: bool) -> Result<()> {
    let _writer = crate::db::write_lock(db).await;
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
    db: &impl ConnectionTrait,
    ctx: &Ctx<'_>,
    rng: &mut StdRng,
) -> Result<Option<assignment::Model>> {
    let s = ctx.settings;
    let main_voted = count(
        db,
        mine(ctx.project_id, ctx.user_id)
            .add(assignment::Column::Kind.eq(MAIN))
            .add(assignment::Column::Status.eq(VOTED)),
    )
    .await?;
    let repeats = count(
        db,
        mine(ctx.project_id, ctx.user_id).add(assignment::Column::Kind.eq(REPEAT)),
    )
    .await?;
    // The expected number of repeats/gold crosses a random threshold: the share converges to
    // the rate while the moment stays unpredictable.
    if s.repeat_rate > 0.0
        && (repeats + 1) as f64 <= s.repeat_rate * main_voted as f64 + rng.gen::<f64>()
    {
        if let Some(a) = assign_repeat(db, ctx).await? {
            return Ok(Some(a));
        }
    }
    let gold = count(
        db,
        mine(ctx.project_id, ctx.user_id).add(assignment::Column::Kind.eq(GOLD)),
    )
    .await?;
    let total = count(db, mine(ctx.project_id, ctx.user_id)).await?;
    if s.gold_rate > 0.0 && (gold + 1) as f64 <= s.gold_rate * (total + 1) as f64 + rng.gen::<f64>()
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

/// The annotator's pending showings in this project, topped up to `want` (bounded by the
/// project's `max_pending`); leases of the returned showings are renewed.
pub async fn next(
    db: &DatabaseConnection,
    project_id: i64,
    user_id: i64,
    want: usize,
) -> Result<Vec<Showing>> {
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
    let want = want.clamp(1, settings.max_pending.max(1) as usize);
    let mine_pending = || {
        assignment::Entity::find()
            .filter(mine(project_id, user_id))
            .filter(assignment::Column::Status.eq(PENDING))
            .order_by_asc(assignment::Column::Id)
    };
    let mut pending = mine_pending().all(db).await?;
    // Leases are renewed once half of them has passed; a queue that is full and fresh needs no
    // write at all (the common case: the page polls after every vote).
    let half = now + Duration::seconds(i64::from(settings.lease_seconds) / 2);
    let stale = pending.iter().any(|a| a.lease_expires_at < half);
    if pending.len() < want || stale {
        if stale {
            let _writer = crate::db::write_lock(db).await;
            assignment::Entity::update_many()
                .col_expr(assignment::Column::LeaseExpiresAt, Expr::value(ctx.until))
                .filter(mine(project_id, user_id))
                .filter(assignment::Column::Status.eq(PENDING))
                .exec(db)
                .await?;
        }
        pending = mine_pending().all(db).await?;
        let mut rng = StdRng::from_entropy();
        while pending.len() < want {
            match assign_one(db, &ctx, &mut rng).await? {
                Some(a) => pending.push(a),
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

/// A vote as submitted.
#[derive(Debug, Clone, Default)]
pub struct NewVote {
    pub choice: String,
    /// Dimension → `a`, `b`, `tie` or `both_bad`.
    pub dimensions: BTreeMap<String, String>,
    pub rationale: String,
    pub duration_ms: i64,
}

async fn owned(
    db: &impl ConnectionTrait,
    user_id: i64,
    assignment_id: i64,
) -> Result<assignment::Model> {
    assignment::Entity::find_by_id(assignment_id)
        .one(db)
        .await?
        .filter(|a| a.annotator_id == user_id)
        .ok_or_else(|| StoreError::NotFound(format!("item {assignment_id} in your queue")))
}

/// Records a vote on a pending showing of this annotator (once: a second vote is a conflict).
pub async fn vote(
    db: &DatabaseConnection,
    user_id: i64,
    assignment_id: i64,
    v: &NewVote,
) -> Result<vote::Model> {
    let choice = Choice::parse(&v.choice).map_err(|m| StoreError::invalid("choice", m))?;
    for (dim, c) in &v.dimensions {
        if !core::DIMENSIONS.contains(&dim.as_str()) {
            return Err(StoreError::invalid(
                "dimensions",
                format!("unknown dimension `{dim}` (helpful, honest, harmless)"),
            ));
        }
        Choice::parse(c).map_err(|m| StoreError::invalid("dimensions", format!("{dim}: {m}")))?;
    }
    let rationale = v.rationale.trim();
    if rationale.chars().count() > core::MAX_RATIONALE {
        return Err(StoreError::invalid(
            "rationale",
            format!("longer than {} characters", core::MAX_RATIONALE),
        ));
    }
    let _writer = crate::db::write_lock(db).await;
    let now = Utc::now();
    let txn = db.begin().await?;
    // The guarded update comes first, so the write lock is taken before anything is read.
    let res = assignment::Entity::update_many()
        .col_expr(assignment::Column::Status, Expr::value(VOTED))
        .filter(assignment::Column::Id.eq(assignment_id))
        .filter(assignment::Column::AnnotatorId.eq(user_id))
        .filter(assignment::Column::Status.eq(PENDING))
        .exec(&txn)
        .await?;
    let a = owned(&txn, user_id, assignment_id).await?;
    if res.rows_affected == 0 {
        return Err(StoreError::Conflict(match a.status.as_str() {
            VOTED => "this item already has your vote".into(),
            _ => "this item was skipped".into(),
        }));
    }
    let left = Side::parse(&a.left_side).unwrap_or(Side::X);
    let saved = vote::ActiveModel {
        assignment_id: Set(a.id),
        project_id: Set(a.project_id),
        comparison_id: Set(a.comparison_id),
        annotator_id: Set(user_id),
        kind: Set(a.kind.clone()),
        left_side: Set(a.left_side.clone()),
        choice: Set(choice.as_str().into()),
        label: Set(choice.label(left).into()),
        dimensions: Set(serde_json::to_string(&v.dimensions).unwrap_or_else(|_| "{}".into())),
        rationale: Set(rationale.to_owned()),
        duration_ms: Set(v.duration_ms.clamp(0, 86_400_000)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Takes back this annotator's vote on a showing within [`core::UNDO_SECONDS`]; the showing is
/// pending again (same sides).
pub async fn undo(db: &DatabaseConnection, user_id: i64, assignment_id: i64) -> Result<()> {
    let now = Utc::now();
    let settings_lease = {
        let a = owned(db, user_id, assignment_id).await?;
        settings(db, a.project_id).await?.lease_seconds
    };
    let _writer = crate::db::write_lock(db).await;
    let txn = db.begin().await?;
    let res = vote::Entity::delete_many()
        .filter(vote::Column::AssignmentId.eq(assignment_id))
        .filter(vote::Column::AnnotatorId.eq(user_id))
        .filter(vote::Column::CreatedAt.gte(now - Duration::seconds(core::UNDO_SECONDS)))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(StoreError::Conflict(format!(
            "there is no vote of yours on this item from the last {} seconds to undo",
            core::UNDO_SECONDS
        )));
    }
    assignment::Entity::update_many()
        .col_expr(assignment::Column::Status, Expr::value(PENDING))
        .col_expr(
            assignment::Column::LeaseExpiresAt,
            Expr::value(now + Duration::seconds(i64::from(settings_lease))),
        )
        .filter(assignment::Column::Id.eq(assignment_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Skips a pending showing as distressing: recorded, never counted against the annotator, and
/// the item's slot goes back to the pool.
pub async fn skip(db: &DatabaseConnection, user_id: i64, assignment_id: i64) -> Result<()> {
    let _writer = crate::db::write_lock(db).await;
    let res = assignment::Entity::update_many()
        .col_expr(assignment::Column::Status, Expr::value(SKIPPED))
        .col_expr(assignment::Column::SkipReason, Expr::value(DISTRESSING))
        .col_expr(assignment::Column::Slot, Expr::value(Option::<i32>::None))
        .filter(assignment::Column::Id.eq(assignment_id))
        .filter(assignment::Column::AnnotatorId.eq(user_id))
        .filter(assignment::Column::Status.eq(PENDING))
        .exec(db)
        .await?;
    drop(_writer);
    let a = owned(db, user_id, assignment_id).await?;
    if res.rows_affected == 0 {
        return Err(StoreError::Conflict(
            "this item is no longer pending".into(),
        ));
    }
    if a.kind == MAIN {
        set_saturated(db, a.comparison_id, false).await?;
    }
    Ok(())
}

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

// ---- calibration ----

/// What calibration needs from the store.
pub struct CalibrationData {
    pub votes: Vec<VoteRow>,
    pub items: BTreeMap<i64, ItemInfo>,
    pub prompts: BTreeMap<i64, String>,
    pub skipped: BTreeMap<String, u64>,
    pub judge_flips: Vec<JudgeFlips>,
    pub quarantines: Vec<QuarantineView>,
    /// Annotator names → user ids (for the gate).
    pub users: BTreeMap<String, i64>,
}

pub async fn calibration_data(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<CalibrationData> {
    let names: HashMap<i64, String> = user::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let name = |id: i64| {
        names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("user {id}"))
    };
    let votes = vote::Entity::find()
        .filter(vote::Column::ProjectId.eq(project_id))
        .order_by_asc(vote::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|v| VoteRow {
            comparison: v.comparison_id,
            annotator: name(v.annotator_id),
            kind: v.kind,
            label: v.label,
            choice: v.choice,
            duration_ms: v.duration_ms,
        })
        .collect();
    let mut items = BTreeMap::new();
    let mut prompts = BTreeMap::new();
    for c in comparison::Entity::find()
        .filter(comparison::Column::ProjectId.eq(project_id))
        .all(db)
        .await?
    {
        items.insert(
            c.id,
            ItemInfo {
                gold: c.gold_answer,
                reference_label: c.reference_label,
                reference: c.reference,
            },
        );
        prompts.insert(c.id, c.prompt_text.chars().take(140).collect());
    }
    let mut skipped = BTreeMap::new();
    for a in assignment::Entity::find()
        .filter(assignment::Column::ProjectId.eq(project_id))
        .filter(assignment::Column::Status.eq(SKIPPED))
        .all(db)
        .await?
    {
        *skipped.entry(name(a.annotator_id)).or_insert(0u64) += 1;
    }
    let rubrics: HashMap<i64, String> = rubric::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, format!("{}@{}", r.name, r.version)))
        .collect();
    let mut flips: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for j in judgment::Entity::find()
        .filter(judgment::Column::ProjectId.eq(project_id))
        .filter(judgment::Column::Mode.eq("pairwise"))
        .filter(judgment::Column::ParseOk.eq(true))
        .all(db)
        .await?
    {
        let key = (
            j.judge_version.clone(),
            rubrics.get(&j.rubric_id).cloned().unwrap_or_default(),
        );
        let e = flips.entry(key).or_default();
        e.0 += 1;
        e.1 += u64::from(j.consistent == Some(false));
    }
    let judge_flips = flips
        .into_iter()
        .map(|((judge, rubric), (n, flips))| JudgeFlips {
            judge,
            rubric,
            n,
            flips,
        })
        .collect();
    let quarantines = quarantine::Entity::find()
        .filter(quarantine::Column::ProjectId.eq(project_id))
        .order_by_asc(quarantine::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|q| QuarantineView {
            id: q.id,
            subject: if q.subject_kind == "annotator" {
                name(q.subject_id)
            } else {
                format!("item {}", q.subject_id)
            },
            kind: q.subject_kind,
            metric: q.metric,
            reason: q.reason,
            created_at: rfc3339(&q.created_at),
            released: q.released_at.is_some(),
        })
        .collect();
    let users = names.into_iter().map(|(id, n)| (n, id)).collect();
    Ok(CalibrationData {
        votes,
        items,
        prompts,
        skipped,
        judge_flips,
        quarantines,
        users,
    })
}

/// Replaces the project's active (unreleased) quarantines with the gate's verdicts; subjects a
/// reviewer released stay released. Returns how many are quarantined now.
pub async fn apply_gate(
    db: &DatabaseConnection,
    project_id: i64,
    verdicts: &[core::GateVerdict],
    users: &BTreeMap<String, i64>,
) -> Result<u64> {
    let now = Utc::now();
    let txn = db.begin().await?;
    quarantine::Entity::delete_many()
        .filter(quarantine::Column::ProjectId.eq(project_id))
        .filter(quarantine::Column::ReleasedAt.is_null())
        .exec(&txn)
        .await?;
    let mut rows = Vec::new();
    for v in verdicts {
        let subject_id = match v.kind {
            "annotator" => users.get(&v.subject).copied(),
            _ => v.subject.parse().ok(),
        };
        let Some(subject_id) = subject_id else {
            continue;
        };
        rows.push(quarantine::ActiveModel {
            project_id: Set(project_id),
            subject_kind: Set(v.kind.to_owned()),
            subject_id: Set(subject_id),
            metric: Set(v.metric),
            reason: Set(v.reason.clone()),
            created_at: Set(now),
            released_by: Set(None),
            released_at: Set(None),
            ..Default::default()
        });
    }
    let n = rows.len() as u64;
    let inserted = if rows.is_empty() {
        0
    } else {
        quarantine::Entity::insert_many(rows)
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([
                    quarantine::Column::ProjectId,
                    quarantine::Column::SubjectKind,
                    quarantine::Column::SubjectId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?
    };
    txn.commit().await?;
    debug_assert!(inserted <= n);
    Ok(inserted)
}

/// A reviewer releases a quarantine (it stays on record as released).
pub async fn release(
    db: &impl ConnectionTrait,
    project_id: i64,
    quarantine_id: i64,
    by: i64,
) -> Result<()> {
    let res = quarantine::Entity::update_many()
        .col_expr(quarantine::Column::ReleasedBy, Expr::value(by))
        .col_expr(quarantine::Column::ReleasedAt, Expr::value(Utc::now()))
        .filter(quarantine::Column::Id.eq(quarantine_id))
        .filter(quarantine::Column::ProjectId.eq(project_id))
        .filter(quarantine::Column::ReleasedAt.is_null())
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound(format!(
            "active quarantine {quarantine_id}"
        )));
    }
    Ok(())
}

/// Active quarantines: (annotator ids, item ids).
pub async fn quarantined(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<(BTreeSet<i64>, BTreeSet<i64>)> {
    let mut annotators = BTreeSet::new();
    let mut items = BTreeSet::new();
    for q in quarantine::Entity::find()
        .filter(quarantine::Column::ProjectId.eq(project_id))
        .filter(quarantine::Column::ReleasedAt.is_null())
        .all(db)
        .await?
    {
        if q.subject_kind == "annotator" {
            annotators.insert(q.subject_id);
        } else {
            items.insert(q.subject_id);
        }
    }
    Ok((annotators, items))
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

/// Human-decided pairs of a project that the κ gate leaves out: their item is quarantined, or
/// one of the annotators whose votes decided them is.
pub async fn gated_human_pairs(db: &impl ConnectionTrait, project_id: i64) -> Result<Vec<i64>> {
    let (annotators, items) = quarantined(db, project_id).await?;
    if annotators.is_empty() && items.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, String)> = pair::Entity::find()
        .select_only()
        .column(pair::Column::Id)
        .column(pair::Column::Provenance)
        .filter(pair::Column::ProjectId.eq(project_id))
        .filter(pair::Column::Strategy.eq("human"))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, provenance)| {
            let v: serde_json::Value = serde_json::from_str(provenance).unwrap_or_default();
            let item_out = v["comparison"].as_i64().is_some_and(|c| items.contains(&c));
            let voter_out = v["annotators"].as_array().is_some_and(|a| {
                a.iter()
                    .filter_map(|x| x.as_i64())
                    .any(|id| annotators.contains(&id))
            });
            item_out || voter_out
        })
        .map(|(id, _)| id)
        .collect())
}
