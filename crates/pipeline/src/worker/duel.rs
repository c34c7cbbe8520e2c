//! Duel runs: per item, the pairwise judge reads the two answers in both orders (guard original
//! against its degraded version, or round k's answer against round k − 1's). Each verdict is
//! stored as it is made, so a resumed run continues after the items already judged; the tally
//! is read back from the stored ones.

use super::{
    payload,
    prompts::request_text,
    verdicts::{judge_pairwise, TokenIds},
    Progress, Worker,
};
use crate::{
    error::{PipelineError, Result},
    runs::{tally_rows, DuelPayload, ROUND_GROUP},
};
use pairwise_core::judge::JudgeMode;
use pairwise_store::{
    duels::{self, NewVerdict},
    entities::job,
    evals, prompts, rubrics,
};
use std::collections::HashMap;

/// One item: what identifies it, its group, the request and the two answers.
struct Item {
    id: i64,
    group: String,
    request: String,
    first: String,
    second: String,
}

impl Worker {
    /// Judges the chunk's items not judged yet; returns the judge's version.
    pub(super) async fn duel(&mut self, job: &job::Model, progress: &Progress) -> Result<String> {
        let payload: DuelPayload = payload(job)?;
        let done = duels::done_items(&self.db, job.id, progress.range()).await?;
        let todo = progress.pending(&payload.item_ids, &done);
        if todo.is_empty() {
            return Ok(payload.judge.version.clone());
        }
        let spec = rubrics::spec_of(&rubrics::get(&self.db, payload.rubric_id).await?)?;
        let judge = self.backend(&payload.judge).await?;
        let ids = TokenIds::find(&judge, JudgeMode::Pairwise)?;
        for chunk in todo.chunks(64) {
            for item in self.duel_items(&payload, chunk).await? {
                progress.check()?;
                let row = progress
                    .stoppable(judge_pairwise(
                        &judge,
                        &spec,
                        &ids,
                        &item.request,
                        &item.first,
                        &item.second,
                    ))
                    .await?;
                let (Some(ab), Some(ba)) = (row.winner_ab, row.winner_ba) else {
                    return Err(PipelineError::Internal(
                        "pairwise judge without a verdict".into(),
                    ));
                };
                duels::store(
                    &self.db,
                    NewVerdict {
                        project_id: job.project_id,
                        job_id: job.id,
                        item_id: item.id,
                        group: item.group,
                        winner_ab: ab.as_str().to_owned(),
                        winner_ba: ba.as_str().to_owned(),
                        raw: row.raw_output,
                    },
                )
                .await?;
                self.advance(progress, 1, 0).await?;
            }
        }
        Ok(payload.judge.version.clone())
    }

    /// The items `ids` with their texts; an item whose answers are gone counts as done.
    async fn duel_items(&self, payload: &DuelPayload, ids: &[i64]) -> Result<Vec<Item>> {
        if let Some((newer, older)) = payload.evals {
            let first = evals::answers_to(&self.db, newer, ids).await?;
            let second = evals::answers_to(&self.db, older, ids).await?;
            let requests: HashMap<i64, String> = prompts::get_many(&self.db, ids)
                .await?
                .into_iter()
                .map(|p| (p.id, request_text(&p)))
                .collect();
            return Ok(ids
                .iter()
                .filter_map(|id| {
                    Some(Item {
                        id: *id,
                        group: ROUND_GROUP.to_owned(),
                        request: requests.get(id)?.clone(),
                        first: first.get(id)?.clone(),
                        second: second.get(id)?.clone(),
                    })
                })
                .collect());
        }
        Ok(duels::guard_items(&self.db, ids)
            .await?
            .into_iter()
            .map(|g| Item {
                id: g.id,
                group: g.guard,
                request: g.request,
                first: g.original,
                second: g.degraded,
            })
            .collect())
    }

    /// The tally of a finished duel run, read from its stored verdicts.
    pub(super) async fn duel_summary(&self, job: &job::Model) -> Result<serde_json::Value> {
        let rows = duels::verdicts(&self.db, job.id).await?;
        serde_json::to_value(serde_json::json!({ "tally": tally_rows(&rows) }))
            .map_err(|e| PipelineError::Internal(e.to_string()))
    }
}
