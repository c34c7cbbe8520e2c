//! Generation runs: the missing candidates of a chunk's prompts, generated with continuous
//! batching (up to 32 rows in flight on the CPU, 256 on CUDA, drawn from several prompts; one
//! request per distinct prompt text) and stored as each request completes.

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
    chat_template::Message, remote::ChatOptions, BatchRequest, DecodingParams, Generation,
    Provider, RemoteModel,
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
        // Resume: a prompt's candidates are stored per request (prompt text), so a prompt is
        // either complete or has whatever an earlier attempt stored; count complete ones as done.
        let max_rows = if provider == Provider::Cuda.as_str() {
            CUDA_ROWS
        } else {
            CPU_ROWS
        };
        for chunk in prompt_ids.chunks(64) {
            let loaded: HashMap<i64, prompt::Model> = prompts::get_many(&self.db, chunk)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
            let mut work = Vec::new();
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
                work.push((prompt, missing));
            }
            let batch = Batch {
                job,
                payload: &payload,
                version: &version,
                provider: &provider,
            };
            self.generate_batch(&engine, &batch, &work, max_rows, progress)
                .await?;
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
        // Refusals, and templated ones (no reason or no safe alternative), among the answers.
        let (refusals, templated) = candidates::refusals_of_job(&self.db, job.id).await?;
        Ok(serde_json::json!({
            "prompts": payload.prompt_ids.len(),
            "candidates": stored,
            "refusals": refusals,
            "templated_refusals": templated,
            "templated_refusal_share": (refusals > 0).then(|| templated as f64 / refusals as f64),
            "tokens": tokens,
            "model_version": model_version,
            "provider": provider,
        }))
    }
}

/// Rows in flight of a continuous batch on the CPU and on CUDA.
const CPU_ROWS: usize = 32;
const CUDA_ROWS: usize = 256;

/// What every candidate of a batch records.
struct Batch<'a> {
    job: &'a job::Model,
    payload: &'a GeneratePayload,
    version: &'a str,
    provider: &'a str,
}

/// One request of a batch: a prompt's candidates that share one prompt text (the plain prompt
/// for conservative and diverse rows, one per adversarial transform).
struct Group {
    /// Index of the prompt in the batch's work.
    prompt: usize,
    planned: Vec<PlannedCandidate>,
    params: Vec<DecodingParams>,
    messages: Vec<ChatMessage>,
}

impl Worker {
    /// Generates the missing candidates of `work`'s prompts with continuous batching; a
    /// request's candidates are stored as soon as it completes, and a prompt counts as done
    /// once all of its requests are stored. A lost chunk stops the batch at the next completion.
    async fn generate_batch(
        &self,
        engine: &SharedEngine,
        batch: &Batch<'_>,
        work: &[(&prompt::Model, Vec<PlannedCandidate>)],
        max_rows: usize,
        progress: &Progress,
    ) -> Result<()> {
        let mut groups = Vec::new();
        let mut pending = vec![0usize; work.len()];
        for (w, (prompt, missing)) in work.iter().enumerate() {
            let mut by_text: BTreeMap<Option<String>, Vec<PlannedCandidate>> = BTreeMap::new();
            for c in missing {
                by_text
                    .entry(c.transform.map(|t| t.id()))
                    .or_default()
                    .push(*c);
            }
            for planned in by_text.into_values() {
                let mut messages = messages_of(prompt);
                if let Some(t) = planned[0].transform {
                    if let Some(last) = ChatMessage::last_user_mut(&mut messages) {
                        last.content = t.apply(&last.content);
                    }
                }
                let params = planned
                    .iter()
                    .map(|c| DecodingParams {
                        sampling: batch.payload.presets[&c.path],
                        max_new_tokens: batch.payload.max_new_tokens,
                        seed: candidate_seed(batch.payload.seed, prompt.id, c.index),
                        stop: Vec::new(),
                    })
                    .collect();
                groups.push(Group {
                    prompt: w,
                    planned,
                    params,
                    messages,
                });
                pending[w] += 1;
            }
        }
        let inputs: Vec<(Vec<ChatMessage>, Vec<DecodingParams>)> = groups
            .iter()
            .map(|g| (g.messages.clone(), g.params.clone()))
            .collect();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Generation)>();
        let generate = blocking(engine, move |e| {
            let requests = inputs
                .into_iter()
                .map(|(messages, params)| {
                    let input = prompt_input(e, &messages);
                    Ok(BatchRequest {
                        prompt_ids: e.encode_prompt(&input)?,
                        params,
                    })
                })
                .collect::<pairwise_inference::error::Result<Vec<_>>>()?;
            e.generate_continuous(&requests, max_rows, false, |i, generation| {
                tx.send((i, generation)).map_err(|_| {
                    pairwise_inference::InferenceError::Request("the run stopped".into())
                })
            })
        });
        let store = async {
            let mut tokens = vec![0i64; work.len()];
            while let Some((i, generation)) = rx.recv().await {
                let group = &groups[i];
                tokens[group.prompt] += generation.generated_tokens as i64;
                let rows = candidate_rows(batch, work[group.prompt].0, group, generation);
                candidates::insert(&self.db, rows).await?;
                pending[group.prompt] -= 1;
                if pending[group.prompt] == 0 {
                    self.advance(progress, 1, tokens[group.prompt]).await?;
                }
            }
            Ok::<(), PipelineError>(())
        };
        // Storing stops first on a lost chunk (dropping the receiver stops the generation).
        let (generated, stored) = tokio::join!(generate, store);
        stored?;
        generated
    }
}

/// The candidates of one completed request, as stored.
fn candidate_rows(
    batch: &Batch<'_>,
    prompt: &prompt::Model,
    group: &Group,
    generation: Generation,
) -> Vec<NewCandidate> {
    let prefill_ms = generation.prefill_ms;
    generation
        .candidates
        .into_iter()
        .map(|out| {
            let plan = group.planned[out.index];
            let p = &group.params[out.index];
            NewCandidate {
                project_id: batch.job.project_id,
                job_id: batch.job.id,
                prompt_id: prompt.id,
                path: plan.path.as_str().into(),
                idx: plan.index as i32,
                transform: plan.transform.map(|t| t.id()),
                text: storable(out.text),
                params: serde_json::to_string(p).unwrap_or_default(),
                seed: p.seed,
                model_version: batch.version.to_owned(),
                provider: batch.provider.to_owned(),
                finish_reason: serde_json::to_value(out.finish_reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                token_count: out.token_count as i32,
                mean_logprob: out.mean_logprob,
                prefill_ms,
                decode_ms: out.decode_ms,
            }
        })
        .collect()
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
