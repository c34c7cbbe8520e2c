//! Critique → revision loops: one row per (run, prompt), stored with the pair it made in one
//! transaction, so a resumed run skips the prompts already done and never makes a pair twice.

use crate::{
    constitutions,
    entities::{critique_loop, prompt},
    error::{Result, StoreError},
    pairs::{self, HashedPair, PairOrigin},
    rfc3339,
};
use pairwise_core::{
    constitution::{LoopEnd, LoopStep},
    dto::CritiqueLoopView,
};
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A finished loop as the worker hands it over.
#[derive(Debug, Clone)]
pub struct NewLoop {
    pub project_id: i64,
    pub job_id: i64,
    pub prompt_id: i64,
    pub constitution_id: i64,
    pub principle: String,
    pub original: String,
    pub final_text: String,
    pub revisions: u32,
    pub end: LoopEnd,
    pub steps: Vec<LoopStep>,
    pub provenance: serde_json::Value,
    pub tokens: i64,
}

/// Stores a loop and, where it made one, its pair, in one transaction. A loop already stored
/// for the same (run, prompt) is kept as it is (a resumed run redoing a prompt): returns false.
pub async fn store(
    db: &DatabaseConnection,
    new: NewLoop,
    pair: Option<(HashedPair, PairOrigin)>,
) -> Result<bool> {
    let steps = serde_json::to_string(&new.steps)
        .map_err(|e| StoreError::invalid("steps", e.to_string()))?;
    let row = critique_loop::ActiveModel {
        project_id: Set(new.project_id),
        job_id: Set(new.job_id),
        prompt_id: Set(new.prompt_id),
        constitution_id: Set(new.constitution_id),
        principle: Set(new.principle),
        original: Set(new.original),
        final_text: Set(new.final_text),
        revisions: Set(new.revisions as i32),
        ended_as: Set(new.end.as_str().to_owned()),
        steps: Set(steps),
        pair_hash: Set(pair.as_ref().map(|(p, _)| p.hash.clone())),
        provenance: Set(new.provenance.to_string()),
        tokens: Set(new.tokens),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    let txn = db.begin().await?;
    let inserted = critique_loop::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                critique_loop::Column::JobId,
                critique_loop::Column::PromptId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?
        == 1;
    if inserted {
        if let Some(pair) = pair {
            pairs::insert_each(&txn, new.project_id, &[pair]).await?;
        }
    }
    txn.commit().await?;
    Ok(inserted)
}

/// Prompt ids of `[lo, hi)` whose loop this run has stored.
pub async fn done_prompts(
    db: &impl ConnectionTrait,
    job_id: i64,
    (lo, hi): (i64, i64),
) -> Result<HashSet<i64>> {
    Ok(critique_loop::Entity::find()
        .select_only()
        .column(critique_loop::Column::PromptId)
        .filter(critique_loop::Column::JobId.eq(job_id))
        .filter(critique_loop::Column::PromptId.gte(lo))
        .filter(critique_loop::Column::PromptId.lt(hi))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// A run's loops in prompt order, with the prompt text and the constitution's `name@version`.
pub async fn for_job(
    db: &impl ConnectionTrait,
    job_id: i64,
    offset: u64,
    limit: u64,
) -> Result<Vec<CritiqueLoopView>> {
    let rows = critique_loop::Entity::find()
        .filter(critique_loop::Column::JobId.eq(job_id))
        .order_by_asc(critique_loop::Column::PromptId)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    let prompt_ids: Vec<i64> = rows.iter().map(|r| r.prompt_id).collect();
    let texts: HashMap<i64, String> = prompt::Entity::find()
        .filter(prompt::Column::Id.is_in(prompt_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.text))
        .collect();
    let mut labels: HashMap<i64, String> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if let std::collections::hash_map::Entry::Vacant(slot) = labels.entry(r.constitution_id) {
            let c = constitutions::get(db, r.constitution_id).await?;
            slot.insert(format!("{}@{}", c.name, c.version));
        }
        out.push(CritiqueLoopView {
            id: r.id,
            run: r.job_id,
            prompt_id: r.prompt_id,
            prompt: texts.get(&r.prompt_id).cloned().unwrap_or_default(),
            constitution: labels[&r.constitution_id].clone(),
            principle: r.principle,
            original: r.original,
            final_text: r.final_text,
            revisions: r.revisions.max(0) as u32,
            end: r.ended_as,
            steps: serde_json::from_str(&r.steps).map_err(|e| {
                StoreError::invalid("steps", format!("stored loop {} is unreadable: {e}", r.id))
            })?,
            pair_hash: r.pair_hash,
            provenance: serde_json::from_str(&r.provenance).unwrap_or_default(),
            created_at: rfc3339(&r.created_at),
        });
    }
    Ok(out)
}

/// A run's summary, read from its stored loops: prompts, pairs, loops by how they ended, by
/// principle, verdicts the loop could not read, mean revisions and tokens.
pub async fn summary(db: &impl ConnectionTrait, job_id: i64) -> Result<serde_json::Value> {
    let rows: Vec<(String, String, i32, String, i64, Option<String>)> =
        critique_loop::Entity::find()
            .select_only()
            .column(critique_loop::Column::EndedAs)
            .column(critique_loop::Column::Principle)
            .column(critique_loop::Column::Revisions)
            .column(critique_loop::Column::Steps)
            .column(critique_loop::Column::Tokens)
            .column(critique_loop::Column::PairHash)
            .filter(critique_loop::Column::JobId.eq(job_id))
            .into_tuple()
            .all(db)
            .await?;
    let mut by_end: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_principle: BTreeMap<String, u64> = BTreeMap::new();
    let (mut pairs, mut revisions, mut unread, mut tokens, mut critiques) =
        (0u64, 0i64, 0u64, 0i64, 0u64);
    for (end, principle, n, steps, t, hash) in &rows {
        *by_end.entry(end.clone()).or_default() += 1;
        *by_principle.entry(principle.clone()).or_default() += 1;
        pairs += u64::from(hash.is_some());
        revisions += i64::from(*n);
        tokens += t;
        let steps: Vec<LoopStep> = serde_json::from_str(steps).unwrap_or_default();
        critiques += steps.len() as u64;
        unread += steps
            .iter()
            .filter(|s| s.verdict == pairwise_core::constitution::Verdict::Unread)
            .count() as u64;
    }
    let prompts = rows.len() as u64;
    Ok(serde_json::json!({
        "prompts": prompts,
        "pairs": pairs,
        "by_end": by_end,
        "by_principle": by_principle,
        "critiques": critiques,
        "unread_verdicts": unread,
        "mean_revisions": if prompts > 0 { revisions as f64 / prompts as f64 } else { 0.0 },
        "tokens": tokens,
    }))
}
