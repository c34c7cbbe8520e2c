//! Votes on pending showings, and taking them back: recording a vote, undoing it within the
//! undo window, and skipping a showing as distressing.

use super::{queue::set_saturated, settings::settings, DISTRESSING, MAIN, PENDING, SKIPPED, VOTED};
use crate::{
    entities::{assignment, vote},
    error::{Result, StoreError},
};
use chrono::{Duration, Utc};
use pairwise_core::annotation::{self as core, Choice, Side};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, Set, TransactionTrait,
};
use std::collections::BTreeMap;

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

/// Records a vote on a pending showing of this annotator, once. Retrying the same vote (same
/// showing, same choice) is idempotent and returns the stored vote, so a client may resend a
/// vote whose acknowledgement it never received; a different choice is a conflict.
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
    // The guarded update comes first, so the write lock is taken before anything is read; it
    // returns the showing it changed.
    let updated = assignment::Entity::update_many()
        .col_expr(assignment::Column::Status, Expr::value(VOTED))
        .filter(assignment::Column::Id.eq(assignment_id))
        .filter(assignment::Column::AnnotatorId.eq(user_id))
        .filter(assignment::Column::Status.eq(PENDING))
        .exec_with_returning(&txn)
        .await?
        .pop();
    let Some(a) = updated else {
        let a = owned(&txn, user_id, assignment_id).await?;
        if a.status == VOTED {
            // A retried vote (its acknowledgement was lost): the showing is the idempotency
            // key, so the same choice returns the stored vote; a different one is a conflict.
            let stored = vote::Entity::find()
                .filter(vote::Column::AssignmentId.eq(assignment_id))
                .filter(vote::Column::AnnotatorId.eq(user_id))
                .one(&txn)
                .await?;
            if let Some(stored) = stored.filter(|s| s.choice == choice.as_str()) {
                return Ok(stored);
            }
            return Err(StoreError::Conflict(
                "this item already has your vote".into(),
            ));
        }
        return Err(StoreError::Conflict("this item was skipped".into()));
    };
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
