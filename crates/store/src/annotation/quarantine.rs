//! The κ gate's quarantines: applying the gate's verdicts, releasing one, listing the active
//! ones, and the human-decided pairs they leave out of datasets.

use crate::{
    entities::{pair, quarantine},
    error::{Result, StoreError},
};
use chrono::Utc;
use pairwise_core::annotation as core;
use sea_orm::{
    sea_query::Expr, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set, TransactionTrait,
};
use std::collections::{BTreeMap, BTreeSet};

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

/// The subjects of a project's active quarantines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quarantined {
    /// User ids.
    pub annotators: BTreeSet<i64>,
    /// Item (comparison) ids.
    pub items: BTreeSet<i64>,
    /// Vote ids (votes cast too fast, where the gate excludes them).
    pub votes: BTreeSet<i64>,
}

impl Quarantined {
    pub fn is_empty(&self) -> bool {
        self.annotators.is_empty() && self.items.is_empty() && self.votes.is_empty()
    }
}

/// Active quarantines.
pub async fn quarantined(db: &impl ConnectionTrait, project_id: i64) -> Result<Quarantined> {
    let mut out = Quarantined::default();
    for q in quarantine::Entity::find()
        .filter(quarantine::Column::ProjectId.eq(project_id))
        .filter(quarantine::Column::ReleasedAt.is_null())
        .all(db)
        .await?
    {
        match q.subject_kind.as_str() {
            "annotator" => out.annotators.insert(q.subject_id),
            "vote" => out.votes.insert(q.subject_id),
            _ => out.items.insert(q.subject_id),
        };
    }
    Ok(out)
}

/// Human-decided pairs of a project that the κ gate leaves out: their item is quarantined, or
/// one of the annotators or votes that decided them is.
pub async fn gated_human_pairs(db: &impl ConnectionTrait, project_id: i64) -> Result<Vec<i64>> {
    let q = quarantined(db, project_id).await?;
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let Quarantined {
        annotators,
        items,
        votes,
    } = q;
    Ok(human_pair_provenances(db, project_id)
        .await?
        .into_iter()
        .filter(|(_, provenance)| {
            let v: serde_json::Value = serde_json::from_str(provenance).unwrap_or_default();
            let item_out = v["comparison"].as_i64().is_some_and(|c| items.contains(&c));
            let any_in = |key: &str, set: &BTreeSet<i64>| {
                v[key].as_array().is_some_and(|a| {
                    a.iter()
                        .filter_map(|x| x.as_i64())
                        .any(|id| set.contains(&id))
                })
            };
            item_out || any_in("annotators", &annotators) || any_in("vote_ids", &votes)
        })
        .map(|(id, _)| id)
        .collect())
}

/// The id and provenance of every human-decided pair (strategy `human`) of a project.
pub(super) async fn human_pair_provenances(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<Vec<(i64, String)>> {
    Ok(pair::Entity::find()
        .select_only()
        .column(pair::Column::Id)
        .column(pair::Column::Provenance)
        .filter(pair::Column::ProjectId.eq(project_id))
        .filter(pair::Column::Strategy.eq("human"))
        .into_tuple()
        .all(db)
        .await?)
}
