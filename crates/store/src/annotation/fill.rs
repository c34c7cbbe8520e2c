//! Building items: queueing a project's pairs and its judge-inconsistent judgments as
//! comparisons, with the shared helpers that make and insert an item row.

use crate::{
    entities::{comparison, judgment, pair, prompt},
    error::Result,
};
use chrono::{DateTime, Utc};
use pairwise_core::{stable_hash, ChatMessage};
use rand::{rngs::StdRng, Rng, SeedableRng};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use std::collections::{BTreeSet, HashMap};

pub use pairwise_core::dto::FillReport;

fn comparison_hash(prompt: &str, x: &str, y: &str) -> String {
    // Order-free: the same two answers to the same prompt are one item whichever is X.
    let (a, b) = if x <= y { (x, y) } else { (y, x) };
    stable_hash(serde_json::json!([prompt, a, b]).to_string())
}

pub(super) async fn redteam_prompts(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<BTreeSet<String>> {
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
pub(super) fn new_item(
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

pub(super) async fn insert_items(
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
