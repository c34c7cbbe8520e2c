//! Review decisions on votes: recording accept / reject / requeue (a requeue gives the vote's
//! slot back to the queue in the same transaction), reading them, and the human-decided pairs
//! they leave out of datasets.

use super::MAIN;
use crate::{
    entities::{assignment, vote, vote_review},
    error::{Result, StoreError},
    rfc3339,
};
use chrono::Utc;
use pairwise_core::annotation::review::{
    ReviewDecision, ReviewMark, ReviewOutcome, ReviewState, VoteSelection,
};
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};
use std::collections::{BTreeMap, BTreeSet};

/// The current review decision on each reviewed vote of a project.
pub async fn marks(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<BTreeMap<i64, ReviewMark>> {
    Ok(vote_review::Entity::find()
        .filter(vote_review::Column::ProjectId.eq(project_id))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|r| {
            let state = ReviewState::parse(&r.decision)?;
            Some((
                r.vote_id,
                ReviewMark {
                    state,
                    reason: r.reason,
                    reviewer: r.reviewer,
                    at: rfc3339(&r.created_at),
                },
            ))
        })
        .collect())
}

/// The votes of a project that review leaves in or out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reviewed {
    /// Rejected or requeued.
    pub excluded: BTreeSet<i64>,
    pub accepted: BTreeSet<i64>,
}

impl Reviewed {
    /// Whether vote `id` counts under `selection`.
    pub fn counts(&self, id: i64, selection: VoteSelection) -> bool {
        let state = if self.excluded.contains(&id) {
            ReviewState::Rejected
        } else if self.accepted.contains(&id) {
            ReviewState::Accepted
        } else {
            ReviewState::Unreviewed
        };
        selection.counts(state)
    }
}

pub async fn reviewed(db: &impl ConnectionTrait, project_id: i64) -> Result<Reviewed> {
    let rows: Vec<(i64, String)> = vote_review::Entity::find()
        .select_only()
        .column(vote_review::Column::VoteId)
        .column(vote_review::Column::Decision)
        .filter(vote_review::Column::ProjectId.eq(project_id))
        .into_tuple()
        .all(db)
        .await?;
    let mut out = Reviewed::default();
    for (id, decision) in rows {
        match ReviewState::parse(&decision) {
            Some(ReviewState::Accepted) => out.accepted.insert(id),
            Some(s) if s.excluded() => out.excluded.insert(id),
            _ => false,
        };
    }
    Ok(out)
}

/// Records `decision` on votes `vote_ids` of a project, all or nothing. A vote of another
/// project (or none) is `NotFound`; a requeued vote is final (`Conflict`); only main votes can
/// be requeued (gold and repeat showings hold no slot). A requeue frees the vote's slot and
/// reopens its item; the annotator who cast it keeps the showing, so they never get the item
/// again and their own counts do not move.
pub async fn decide(
    db: &DatabaseConnection,
    project_id: i64,
    vote_ids: &[i64],
    decision: ReviewDecision,
    reason: &str,
    reviewer: &str,
) -> Result<ReviewOutcome> {
    let ids: BTreeSet<i64> = vote_ids.iter().copied().collect();
    let _writer = crate::db::write_lock(db).await;
    let txn = db.begin().await?;
    let votes: BTreeMap<i64, vote::Model> = vote::Entity::find()
        .filter(vote::Column::ProjectId.eq(project_id))
        .filter(vote::Column::Id.is_in(ids.iter().copied()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    if let Some(missing) = ids.iter().find(|id| !votes.contains_key(id)) {
        return Err(StoreError::NotFound(format!(
            "vote {missing} in this project"
        )));
    }
    let current: BTreeMap<i64, String> = vote_review::Entity::find()
        .select_only()
        .column(vote_review::Column::VoteId)
        .column(vote_review::Column::Decision)
        .filter(vote_review::Column::VoteId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    let state = decision.state();
    let mut outcome = ReviewOutcome::default();
    let mut rows = Vec::new();
    let mut reopen = Vec::new();
    for (id, v) in &votes {
        let now_state = current.get(id).and_then(|d| ReviewState::parse(d));
        if now_state == Some(ReviewState::Requeued) {
            if state == ReviewState::Requeued {
                outcome.unchanged += 1;
                continue;
            }
            return Err(StoreError::Conflict(format!(
                "vote {id} was requeued: its slot went back to the queue, so that decision is final"
            )));
        }
        if state == ReviewState::Requeued && v.kind != MAIN {
            return Err(StoreError::invalid(
                "decision",
                format!(
                    "vote {id} is on a {} showing, which holds no slot to give back: reject it instead",
                    v.kind
                ),
            ));
        }
        if now_state == Some(state) {
            outcome.unchanged += 1;
            continue;
        }
        outcome.changed += 1;
        if state == ReviewState::Requeued {
            reopen.push((v.assignment_id, v.comparison_id));
        }
        rows.push(vote_review::ActiveModel {
            project_id: Set(project_id),
            vote_id: Set(*id),
            decision: Set(state.as_str().to_owned()),
            reason: Set(reason.to_owned()),
            reviewer: Set(reviewer.to_owned()),
            created_at: Set(Utc::now()),
            ..Default::default()
        });
    }
    if !rows.is_empty() {
        vote_review::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(vote_review::Column::VoteId)
                    .update_columns([
                        vote_review::Column::Decision,
                        vote_review::Column::Reason,
                        vote_review::Column::Reviewer,
                        vote_review::Column::CreatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    for (assignment_id, comparison_id) in &reopen {
        let res = assignment::Entity::update_many()
            .col_expr(assignment::Column::Slot, Expr::value(Option::<i32>::None))
            .filter(assignment::Column::Id.eq(*assignment_id))
            .filter(assignment::Column::Slot.is_not_null())
            .exec(&txn)
            .await?;
        outcome.reopened += res.rows_affected;
        // Inside this transaction, which already holds the writer lock.
        super::queue::set_saturated_locked(&txn, *comparison_id, false).await?;
    }
    txn.commit().await?;
    Ok(outcome)
}

/// Human-decided pairs of a project that review leaves out: those whose recorded votes
/// (provenance `vote_ids`), less the votes that do not count under `selection` (rejected and
/// requeued ones; with [`VoteSelection::Accepted`] also unreviewed ones), no longer decide them —
/// fewer than the `min_votes` they were built with, or no strict majority for the side that was
/// chosen (overall, or on the pair's `dimension`). A rejected minority vote leaves the pair in;
/// a rejected vote the decision needed takes it out, of every version frozen from then on.
/// Pairs recorded before human pairs carried vote ids are left out only under `Accepted`
/// (nothing shows their votes were reviewed).
pub async fn reviewed_out_human_pairs(
    db: &impl ConnectionTrait,
    project_id: i64,
    selection: VoteSelection,
) -> Result<Vec<i64>> {
    let r = reviewed(db, project_id).await?;
    if r.excluded.is_empty() && selection == VoteSelection::AcceptedOrUnreviewed {
        return Ok(Vec::new());
    }
    let rows = super::quarantine::human_pair_provenances(db, project_id).await?;
    struct Decided {
        id: i64,
        votes: Vec<i64>,
        majority: String,
        dimension: Option<String>,
        min_votes: usize,
    }
    let mut out = Vec::new();
    let mut touched = Vec::new();
    for (id, provenance) in rows {
        let v: serde_json::Value = serde_json::from_str(&provenance).unwrap_or_default();
        let Some(ids) = v["vote_ids"].as_array() else {
            if selection == VoteSelection::Accepted {
                out.push(id);
            }
            continue;
        };
        let votes: Vec<i64> = ids.iter().filter_map(serde_json::Value::as_i64).collect();
        if votes.iter().all(|&vote| r.counts(vote, selection)) {
            continue;
        }
        touched.push(Decided {
            id,
            votes,
            majority: v["majority"].as_str().unwrap_or_default().to_owned(),
            dimension: v["dimension"].as_str().map(str::to_owned),
            min_votes: v["min_votes"].as_u64().unwrap_or(2).max(1) as usize,
        });
    }
    // The labels of the votes that still count, in item terms.
    let needed: BTreeSet<i64> = touched
        .iter()
        .flat_map(|d| d.votes.iter().copied())
        .filter(|&vote| r.counts(vote, selection))
        .collect();
    let mut labels: BTreeMap<i64, (String, BTreeMap<String, String>)> = BTreeMap::new();
    let needed: Vec<i64> = needed.into_iter().collect();
    for chunk in needed.chunks(500) {
        let found: Vec<(i64, String, String, String)> = vote::Entity::find()
            .select_only()
            .column(vote::Column::Id)
            .column(vote::Column::Label)
            .column(vote::Column::Dimensions)
            .column(vote::Column::LeftSide)
            .filter(vote::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (id, label, dimensions, left) in found {
            let dims = super::calibration::dimensions_in_item_terms(&dimensions, &left);
            labels.insert(id, (label, dims));
        }
    }
    for d in touched {
        let remaining: Vec<&str> = d
            .votes
            .iter()
            .filter_map(|vote| labels.get(vote))
            .filter_map(|(label, dims)| match &d.dimension {
                Some(dim) => dims.get(dim).map(String::as_str),
                None => Some(label.as_str()),
            })
            .collect();
        let still = remaining.len() >= d.min_votes
            && pairwise_core::annotation::majority(&remaining).as_deref()
                == Some(d.majority.as_str());
        if !still {
            out.push(d.id);
        }
    }
    Ok(out)
}
