//! Generation runs: each prompt's missing candidates, generated in one batch per distinct prompt
//! text and stored in one statement.

use super::{
    blocking, lock, payload,
    prompts::{messages_of, prompt_input},
    storable, Progress, SharedEngine, Worker,
};
use crate::{
    error::{PipelineError, Result},
    runs::GeneratePayload,
};
use pairwise_core::{
    generation::{candidate_seed, plan_candidates, PlannedCandidate},
    ChatMessage,
};
use pairwise_inference::{
    chat_template::Message, remote::ChatOptions, DecodingParams, RemoteModel,
};
use pairwise_store::{
    candidates::{self, NewCandidate},
    entities::{job, prompt},
    prompts, runs,
};
use std::{
    collections::{BTreeMap, HashMap},
    sync::atomic::Ordering,
};

impl Worker {
    /// Generates the missing candidates of the chunk's prompts; returns the model version.
    pub(super) async fn generate(
        &mut self,
        job: &job::Model,
        progress: &Progress,
    ) -> Result<String> {
        let payload: GeneratePayload = payload(job)?;
        let prompt_ids: Vec<i64> = payload
            .prompt_ids
            .iter()
            .copied()
            .filter(|&id| progress.covers(id))
            .collect();
        if let Some(config) = payload.model.remote.clone() {
            let remote = self.remote(&config)?;
            return self
                .generate_remote(job, progress, &payload, &prompt_ids, &remote)
                .await;
        }
        let engine = self.engine(&payload.model).await?;
        let (version, provider) = {
            let e = lock(&engine)?;
            (e.version().to_owned(), e.provider().as_str().to_owned())
        };
        if version != payload.model.version {
            runs::add_warnings(
                &self.db,
                job.id,
                &[format!(
                    "the model's files changed after the run was created: candidates from now \
                     on record version {}",
                    &version[..12.min(version.len())]
                )],
            )
            .await?;
        }
        // Resume: a prompt's candidates are stored in one statement, so a prompt is either
        // complete or has whatever an earlier attempt stored; count complete ones as done.
        for chunk in prompt_ids.chunks(64) {
            let loaded: HashMap<i64, prompt::Model> = prompts::get_many(&self.db, chunk)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
            for prompt_id in chunk {
                progress.check()?;
                let missing = self.missing(job, &payload, *prompt_id).await?;
                if missing.is_empty() {
                    progress.done.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let Some(prompt) = loaded.get(prompt_id) else {
                    // Deleted since the run was made: nothing to generate for it.
                    self.advance(progress, 1, 0).await?;
                    continue;
                };
                let (rows, tokens) = generate_for_prompt(
                    &engine, job, &payload, prompt, &missing, &version, &provider,
                )
                .await?;
                candidates::insert(&self.db, rows).await?;
                self.advance(progress, 1, tokens).await?;
            }
        }
        Ok(version)
    }

    /// The summary of a finished generation run (every worker's candidates and tokens).
    pub(super) async fn generate_summary(
        &self,
        job: &job::Model,
        version: Option<String>,
    ) -> Result<serde_json::Value> {
        let payload: GeneratePayload = payload(job)?;
        let stored = candidates::count_for_job(&self.db, job.id).await?;
        let (_, tokens) = runs::chunk_totals(&self.db, job.id).await?;
        let (model_version, provider) =
            match candidates::provenance_of_job(&self.db, job.id).await? {
                Some((version, provider)) => (version, provider),
                None => (
                    version.unwrap_or_else(|| payload.model.version.clone()),
                    String::new(),
                ),
            };
        let provider = if payload.model.remote.is_some() {
            "openai-compatible".to_owned()
        } else {
            provider
        };
        Ok(serde_json::json!({
            "prompts": payload.prompt_ids.len(),
            "candidates": stored,
            "tokens": tokens,
            "model_version": model_version,
            "provider": provider,
        }))
    }
}

/// Generates the missing candidates of one prompt: one batch per distinct prompt text (the plain
/// prompt for conservative and diverse rows, one per adversarial transform).
async fn generate_for_prompt(
    engine: &SharedEngine,
    job: &job::Model,
    payload: &GeneratePayload,
    prompt: &prompt::Model,
    missing: &[PlannedCandidate],
    version: &str,
    provider: &str,
) -> Result<(Vec<NewCandidate>, i64)> {
    let mut groups: BTreeMap<Option<String>, Vec<PlannedCandidate>> = BTreeMap::new();
    for c in missing {
        groups
            .entry(c.transform.map(|t| t.id()))
            .or_default()
            .push(*c);
    }
    let mut rows = Vec::new();
    let mut tokens = 0i64;
    for planned in groups.into_values() {
        let mut messages = messages_of(prompt);
        if let Some(t) = planned[0].transform {
            if let Some(last) = ChatMessage::last_user_mut(&mut messages) {
                last.content = t.apply(&last.content);
            }
        }
        let params: Vec<DecodingParams> = planned
            .iter()
            .map(|c| DecodingParams {
                sampling: payload.presets[&c.path],
                max_new_tokens: payload.max_new_tokens,
                seed: candidate_seed(payload.seed, prompt.id, c.index),
                stop: Vec::new(),
            })
            .collect();
        let request = params.clone();
        let generation = blocking(engine, move |e| {
            let input = prompt_input(e, &messages);
            let ids = e.encode_prompt(&input)?;
            e.generate(&ids, &request, |_| ())
        })
        .await?;
        tokens += generation.generated_tokens as i64;
        for out in generation.candidates {
            let plan = planned[out.index];
            let p = &params[out.index];
            rows.push(NewCandidate {
                project_id: job.project_id,
                job_id: job.id,
                prompt_id: prompt.id,
                path: plan.path.as_str().into(),
                idx: plan.index as i32,
                transform: plan.transform.map(|t| t.id()),
                text: storable(out.text),
                params: serde_json::to_string(p).unwrap_or_default(),
                seed: p.seed,
                model_version: version.to_owned(),
                provider: provider.to_owned(),
                finish_reason: serde_json::to_value(out.finish_reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                token_count: out.token_count as i32,
                mean_logprob: out.mean_logprob,
                prefill_ms: generation.prefill_ms,
                decode_ms: out.decode_ms,
            });
        }
    }
    Ok((rows, tokens))
}

impl Worker {
    /// The planned candidates of a prompt that an earlier attempt has not stored yet (resume).
    async fn missing(
        &self,
        job: &job::Model,
        payload: &GeneratePayload,
        prompt_id: i64,
    ) -> Result<Vec<PlannedCandidate>> {
        let stored = candidates::stored_indices(&self.db, job.id, prompt_id).await?;
        Ok(plan_candidates(payload.n, &payload.paths)
            .into_iter()
            .filter(|c| !stored.contains(&(c.index as i32)))
            .collect())
    }

    /// A generation run on a model behind an OpenAI-compatible server: one chat request per
    /// missing candidate (each with its own seed and every decoding parameter), all of a prompt's
    /// requests in flight at once within the model's concurrency bound; a prompt's candidates are
    /// stored together, so a restarted run never asks for a stored one again.
    async fn generate_remote(
        &mut self,
        job: &job::Model,
        progress: &Progress,
        payload: &GeneratePayload,
        prompt_ids: &[i64],
        remote: &RemoteModel,
    ) -> Result<String> {
        let mut served = None;
        for chunk in prompt_ids.chunks(64) {
            let loaded: HashMap<i64, prompt::Model> = prompts::get_many(&self.db, chunk)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
            for prompt_id in chunk {
                progress.check()?;
                let missing = self.missing(job, payload, *prompt_id).await?;
                if missing.is_empty() {
                    progress.done.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let Some(prompt) = loaded.get(prompt_id) else {
                    self.advance(progress, 1, 0).await?;
                    continue;
                };
                let requests = missing.iter().map(|c| {
                    let mut messages = messages_of(prompt);
                    if let Some(t) = c.transform {
                        if let Some(last) = ChatMessage::last_user_mut(&mut messages) {
                            last.content = t.apply(&last.content);
                        }
                    }
                    let messages: Vec<Message> = messages
                        .into_iter()
                        .map(|m| Message::new(m.role, m.content))
                        .collect();
                    let params = DecodingParams {
                        sampling: payload.presets[&c.path],
                        max_new_tokens: payload.max_new_tokens,
                        seed: candidate_seed(payload.seed, prompt.id, c.index),
                        stop: Vec::new(),
                    };
                    async move {
                        let started = std::time::Instant::now();
                        let completion = remote
                            .chat(&messages, &params, &ChatOptions::default())
                            .await?;
                        Ok::<_, PipelineError>((
                            *c,
                            params,
                            completion,
                            started.elapsed().as_secs_f64() * 1000.0,
                        ))
                    }
                });
                let answers = progress
                    .stoppable(futures_util::future::try_join_all(requests))
                    .await?;
                let mut rows = Vec::with_capacity(answers.len());
                let mut tokens = 0i64;
                for (plan, params, completion, ms) in answers {
                    let choice = completion.choices.into_iter().next().ok_or_else(|| {
                        PipelineError::Internal("the model server returned no choice".into())
                    })?;
                    tokens += completion.completion_tokens as i64;
                    // Provenance: the server's own model id and fingerprint, and where it runs.
                    let version = match &completion.system_fingerprint {
                        Some(fp) => format!("{} ({fp})", completion.model),
                        None => completion.model.clone(),
                    };
                    served.get_or_insert_with(|| version.clone());
                    rows.push(NewCandidate {
                        project_id: job.project_id,
                        job_id: job.id,
                        prompt_id: prompt.id,
                        path: plan.path.as_str().into(),
                        idx: plan.index as i32,
                        transform: plan.transform.map(|t| t.id()),
                        text: storable(choice.text),
                        params: serde_json::to_string(&params).unwrap_or_default(),
                        seed: params.seed,
                        model_version: version,
                        provider: format!("openai-compatible {}", remote.config().base_url),
                        finish_reason: choice.finish_reason,
                        token_count: completion.completion_tokens as i32,
                        mean_logprob: 0.0,
                        prefill_ms: 0.0,
                        decode_ms: ms,
                    });
                }
                candidates::insert(&self.db, rows).await?;
                self.advance(progress, 1, tokens).await?;
            }
        }
        Ok(served.unwrap_or_else(|| remote.version()))
    }
}
