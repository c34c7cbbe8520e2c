//! Reference runs: every candidate's mean per-token log-probability under the reference model,
//! one prompt's candidates per batch, skipping those already scored by this model version.

use super::{
    blocking, lock,
    prompts::{messages_of, plain_prompt, prompt_input},
    Progress, Worker,
};
use crate::{
    error::{PipelineError, Result},
    runs::ReferencePayload,
};
use pairwise_store::{
    candidates,
    entities::{candidate, job, prompt},
    prompts, runs,
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
    ) -> Result<serde_json::Value> {
        let payload: ReferencePayload = serde_json::from_str(&job.payload)
            .map_err(|e| PipelineError::Internal(format!("run payload: {e}")))?;
        if let Some(config) = payload.model.remote.clone() {
            let remote = self.remote(&config)?;
            return self
                .reference_remote(job, progress, &payload, &remote)
                .await;
        }
        let engine = self.engine(&payload.model).await?;
        let version = lock(&engine)?.version().to_owned();
        let stored =
            candidates::for_runs(&self.db, job.project_id, &payload.generation_runs).await?;
        let mut by_prompt: BTreeMap<i64, Vec<&candidate::Model>> = BTreeMap::new();
        for c in &stored {
            by_prompt.entry(c.prompt_id).or_default().push(c);
        }
        runs::set_total(&self.db, job.id, by_prompt.len() as i64).await?;
        progress.done.store(0, Ordering::SeqCst);
        let ids: Vec<i64> = by_prompt.keys().copied().collect();
        let loaded: HashMap<i64, prompt::Model> = prompts::get_many(&self.db, &ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut scored = 0u64;
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
            let scores = blocking(&engine, move |e| {
                let input = prompt_input(e, &messages);
                e.score(&input, &texts)
            })
            .await?;
            for (c, s) in todo.iter().zip(scores) {
                // An empty answer has no tokens to score: its mean is 0 (nothing unlikely in it).
                let mean = if s.count == 0 || !s.mean.is_finite() {
                    0.0
                } else {
                    s.mean
                };
                candidates::set_reference(&self.db, c.id, mean, &version).await?;
                scored += 1;
            }
            self.advance(job.id, progress, 1, 0).await?;
        }
        Ok(serde_json::json!({
            "candidates": stored.len(),
            "scored": scored,
            "reference_version": version,
        }))
    }
}

impl Worker {
    /// Reference scoring through a model server: each candidate's mean per-token log-prob after
    /// the prompt rendered as plain turns (`/completions` applies no chat template), from the
    /// server's echoed prompt log-probs; resumable like the local run.
    async fn reference_remote(
        &mut self,
        job: &job::Model,
        progress: &Progress,
        payload: &ReferencePayload,
        remote: &pairwise_inference::RemoteModel,
    ) -> Result<serde_json::Value> {
        let version = remote.version();
        // Never store scores from a server whose echoed log-probs are not its tokens'.
        remote.check_prompt_logprobs().await?;
        let stored =
            candidates::for_runs(&self.db, job.project_id, &payload.generation_runs).await?;
        let mut by_prompt: BTreeMap<i64, Vec<&candidate::Model>> = BTreeMap::new();
        for c in &stored {
            by_prompt.entry(c.prompt_id).or_default().push(c);
        }
        runs::set_total(&self.db, job.id, by_prompt.len() as i64).await?;
        progress.done.store(0, Ordering::SeqCst);
        let ids: Vec<i64> = by_prompt.keys().copied().collect();
        let loaded: HashMap<i64, prompt::Model> = prompts::get_many(&self.db, &ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut scored = 0u64;
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
            let text = plain_prompt(&messages_of(prompt));
            let scores = futures_util::future::try_join_all(
                todo.iter().map(|c| remote.answer_logprob(&text, &c.text)),
            )
            .await?;
            for (c, (mean, _)) in todo.iter().zip(scores) {
                let mean = if mean.is_finite() { mean } else { 0.0 };
                candidates::set_reference(&self.db, c.id, mean, &version).await?;
                scored += 1;
            }
            self.advance(job.id, progress, 1, 0).await?;
        }
        Ok(serde_json::json!({
            "candidates": stored.len(),
            "scored": scored,
            "reference_version": version,
            "prompt_format": "plain turns (role: content), no chat template",
        }))
    }
}
