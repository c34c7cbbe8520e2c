//! Reference runs: every candidate's mean per-token log-probability under the reference model,
//! one prompt's candidates per batch, skipping those already scored by this model version.

use super::{
    blocking, lock, payload,
    prompts::{messages_of, plain_prompt, prompt_input},
    Progress, Worker,
};
use crate::{error::Result, runs::ReferencePayload};
use pairwise_store::{
    candidates,
    entities::{candidate, job, prompt},
    prompts,
};
use std::{
    collections::{BTreeMap, HashMap},
    sync::atomic::Ordering,
};

impl Worker {
    /// Mean per-token log-probability of every candidate under the reference model, given the
    /// original prompt (as π_ref(y | x) in DPO). One prompt's candidates score in one batch;
    /// candidates that already carry this model version's score are skipped (resumable).
    pub(super) async fn reference(
        &mut self,
        job: &job::Model,
        progress: &Progress,
    ) -> Result<String> {
        let payload: ReferencePayload = payload(job)?;
        // A remote server's echoed log-probs were checked when the run was planned.
        let scorer = match &payload.model.remote {
            Some(config) => Scorer::Remote(self.remote(config)?),
            None => Scorer::Local(self.engine(&payload.model).await?),
        };
        let version = match &scorer {
            Scorer::Local(engine) => lock(engine)?.version().to_owned(),
            Scorer::Remote(remote) => remote.version(),
        };
        let stored = candidates::for_runs_in(
            &self.db,
            job.project_id,
            &payload.generation_runs,
            progress.range(),
        )
        .await?;
        let mut by_prompt: BTreeMap<i64, Vec<&candidate::Model>> = BTreeMap::new();
        for c in &stored {
            by_prompt.entry(c.prompt_id).or_default().push(c);
        }
        let ids: Vec<i64> = by_prompt.keys().copied().collect();
        let loaded: HashMap<i64, prompt::Model> = prompts::get_many(&self.db, &ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        for (prompt_id, group) in by_prompt {
            progress.check()?;
            let todo: Vec<&candidate::Model> = group
                .into_iter()
                .filter(|c| c.ref_model_version.as_deref() != Some(version.as_str()))
                .collect();
            let Some(prompt) = loaded.get(&prompt_id).filter(|_| !todo.is_empty()) else {
                progress.done.fetch_add(1, Ordering::SeqCst);
                continue;
            };
            let messages = messages_of(prompt);
            let texts: Vec<String> = todo.iter().map(|c| c.text.clone()).collect();
            let means: Vec<(f64, usize)> = match &scorer {
                Scorer::Local(engine) => blocking(engine, move |e| {
                    let input = prompt_input(e, &messages);
                    e.score(&input, &texts)
                })
                .await?
                .into_iter()
                .map(|s| (s.mean, s.count))
                .collect(),
                // `/completions` applies no chat template: the prompt goes as plain turns.
                Scorer::Remote(remote) => {
                    let text = plain_prompt(&messages);
                    let scores = futures_util::future::try_join_all(
                        texts.iter().map(|t| remote.answer_logprob(&text, t)),
                    );
                    progress.stoppable(async { Ok(scores.await?) }).await?
                }
            };
            for (c, (mean, count)) in todo.iter().zip(means) {
                // An empty answer has no tokens to score: its mean is 0 (nothing unlikely in it).
                let mean = if count == 0 || !mean.is_finite() {
                    0.0
                } else {
                    mean
                };
                candidates::set_reference(&self.db, c.id, mean, &version).await?;
            }
            self.advance(progress, 1, 0).await?;
        }
        Ok(version)
    }

    /// The summary of a finished reference run: how many of its candidates carry this model
    /// version's score.
    pub(super) async fn reference_summary(
        &self,
        job: &job::Model,
        version: Option<String>,
    ) -> Result<serde_json::Value> {
        let payload: ReferencePayload = payload(job)?;
        let version = version.unwrap_or(payload.model.version);
        let candidates =
            candidates::count_for_runs(&self.db, job.project_id, &payload.generation_runs).await?;
        let scored =
            candidates::count_scored(&self.db, job.project_id, &payload.generation_runs, &version)
                .await?;
        Ok(serde_json::json!({
            "candidates": candidates,
            "scored": scored,
            "reference_version": version,
        }))
    }
}

/// What scores a reference run: the local engine, or a model server's echoed log-probs.
enum Scorer {
    Local(super::SharedEngine),
    Remote(pairwise_inference::RemoteModel),
}
