//! The run loop: claiming a chunk of a run (or planning a queued run into chunks), dispatching it
//! by kind, finishing the run with its last chunk, the heartbeat that renews a chunk's lease,
//! progress after each item, and the cached inference engine.

use super::{payload, Outcome, Progress, SharedEngine, Worker};
use crate::{
    builders::jobs::BUILD,
    error::{PipelineError, Result},
    runs::{
        CritiquePayload, DuelPayload, EvalPayload, GeneratePayload, JudgePayload, ModelRef,
        ReferencePayload, CRITIQUE, DUEL, EVAL, GENERATE, JUDGE, REFERENCE, REFUSAL_CHECK,
    },
};
use pairwise_core::judge::JudgeMode;
use pairwise_inference::Engine;
use pairwise_store::{
    candidates,
    entities::{job, job_chunk},
    judgments, runs,
};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicI64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

impl Worker {
    /// Processes jobs until `stop` turns true; returns how many jobs it ended.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) -> u64 {
        let mut ended = 0;
        tracing::info!(worker = %self.options.id, "worker started");
        while !*stop.borrow() {
            match self.run_one().await {
                Ok(Some((id, outcome))) => {
                    ended += 1;
                    match &outcome {
                        Outcome::Failed(error) => {
                            tracing::warn!(worker = %self.options.id, run = id, %error, "run failed")
                        }
                        _ => {
                            tracing::info!(worker = %self.options.id, run = id, ?outcome, "run ended")
                        }
                    }
                }
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(self.options.poll) => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::error!(worker = %self.options.id, error = %e, "worker error");
                    tokio::time::sleep(self.options.poll * 4).await;
                }
            }
        }
        tracing::info!(worker = %self.options.id, "worker stopped");
        ended
    }

    /// Works on one run: the chunks of a running run that other workers are already on, else a
    /// queued run, which this worker plans (cuts into chunks) first. Processes that run's chunks
    /// one after another while any is left to claim; `None` when there is nothing to do.
    pub async fn run_one(&mut self) -> Result<Option<(i64, Outcome)>> {
        const KINDS: [&str; 8] = [
            GENERATE,
            JUDGE,
            REFERENCE,
            BUILD,
            CRITIQUE,
            EVAL,
            DUEL,
            REFUSAL_CHECK,
        ];
        let (worker, lease) = (self.options.id.clone(), self.lease());
        let mut next = runs::claim_chunk(&self.db, &worker, lease, &KINDS, None).await?;
        if next.is_none() {
            let Some(job) = runs::claim(&self.db, &worker, lease, &KINDS).await? else {
                return Ok(None);
            };
            let id = job.id;
            match self.plan(&job).await {
                Ok(Plan {
                    prompts: bounds,
                    gold,
                    total,
                }) => {
                    if !runs::split(&self.db, id, &worker, &bounds, gold, total).await? {
                        return Ok(Some((id, Outcome::Stopped)));
                    }
                }
                Err(e) => {
                    let error = e.to_string();
                    runs::finish(&self.db, id, &worker, Err(error.clone()), 0, 0).await?;
                    return Ok(Some((id, Outcome::Failed(error))));
                }
            }
            if runs::chunks_left(&self.db, id).await? == 0 {
                // Nothing to process (no prompts): the run ends here.
                return self.complete(&job, None).await.map(|o| Some((id, o)));
            }
            next = runs::claim_chunk(&self.db, &worker, lease, &KINDS, Some(id)).await?;
            if next.is_none() {
                return Ok(Some((id, Outcome::Shared)));
            }
        }
        let mut id = 0;
        while let Some((job, chunk)) = next.take() {
            id = job.id;
            match self.process_chunk(&job, chunk).await? {
                ChunkEnd::Lost => return Ok(Some((id, Outcome::Stopped))),
                ChunkEnd::Failed(error) => {
                    runs::fail(&self.db, id, &error).await?;
                    return Ok(Some((id, Outcome::Failed(error))));
                }
                ChunkEnd::Done { left: 0, version } => {
                    return self
                        .complete(&job, Some(version))
                        .await
                        .map(|o| Some((id, o)));
                }
                ChunkEnd::Done { .. } => {}
            }
            next = runs::claim_chunk(&self.db, &worker, lease, &KINDS, Some(id)).await?;
        }
        // Other workers hold the chunks still running; the last of them finishes the run.
        Ok(Some((id, Outcome::Shared)))
    }

    /// How a run is cut into chunks (ranges of prompt ids, and for a judge run the range of the
    /// gold items it also judges) and how many items it has.
    async fn plan(&mut self, job: &job::Model) -> Result<Plan> {
        let mut gold = None;
        let (ids, total) = match job.kind.as_str() {
            GENERATE => {
                let payload: GeneratePayload = payload(job)?;
                let mut ids = payload.prompt_ids.clone();
                ids.sort_unstable();
                ids.dedup();
                (ids, payload.prompt_ids.len() as i64)
            }
            JUDGE => {
                let payload: JudgePayload = payload(job)?;
                let counts =
                    candidates::count_by_prompt(&self.db, job.project_id, &payload.generation_runs)
                        .await?;
                // Pairwise judges compare neighbours within a prompt: n - 1 items of n answers.
                let per_prompt = |n: i64| match payload.mode {
                    JudgeMode::Pairwise => (n - 1).max(0),
                    _ => n,
                };
                let mut total: i64 = counts.iter().map(|&(_, n)| per_prompt(n)).sum();
                if let Some((range, n)) =
                    judgments::gold::range(&self.db, job.project_id, payload.gold_items.into())
                        .await?
                {
                    gold = Some(range);
                    total += n;
                }
                (counts.into_iter().map(|(id, _)| id).collect(), total)
            }
            REFERENCE => {
                let payload: ReferencePayload = payload(job)?;
                if let Some(config) = &payload.model.remote {
                    // Never store scores from a server whose echoed log-probs are not its
                    // tokens': refused at the start of the run.
                    self.remote(config)?.check_prompt_logprobs().await?;
                }
                let counts =
                    candidates::count_by_prompt(&self.db, job.project_id, &payload.generation_runs)
                        .await?;
                let ids: Vec<i64> = counts.into_iter().map(|(id, _)| id).collect();
                let total = ids.len() as i64;
                (ids, total)
            }
            CRITIQUE => {
                let payload: CritiquePayload = payload(job)?;
                let mut ids = payload.prompt_ids.clone();
                ids.sort_unstable();
                ids.dedup();
                (ids, payload.prompt_ids.len() as i64)
            }
            EVAL => {
                let payload: EvalPayload = payload(job)?;
                (payload.prompt_ids.clone(), payload.prompt_ids.len() as i64)
            }
            DUEL => {
                let payload: DuelPayload = payload(job)?;
                (payload.item_ids.clone(), payload.item_ids.len() as i64)
            }
            // A build is one chunk: its items are the rows of its input, not prompts.
            BUILD | REFUSAL_CHECK => (vec![0], job.total),
            other => {
                return Err(PipelineError::Internal(format!(
                    "unknown job kind `{other}`"
                )))
            }
        };
        Ok(Plan {
            prompts: runs::chunk_bounds(&ids, runs::MAX_CHUNKS),
            gold,
            total,
        })
    }

    /// Processes one claimed chunk, its lease renewed by a heartbeat while it runs.
    async fn process_chunk(
        &mut self,
        job: &job::Model,
        chunk: job_chunk::Model,
    ) -> Result<ChunkEnd> {
        let progress = Arc::new(Progress {
            chunk,
            done: AtomicI64::new(0),
            tokens: AtomicI64::new(0),
            lost: AtomicBool::new(false),
        });
        let heartbeat = self.spawn_heartbeat(progress.clone());
        let result = match job.kind.as_str() {
            GENERATE => self.generate(job, &progress).await,
            JUDGE if progress.chunk.part == runs::PART_GOLD => {
                self.judge_gold(job, &progress).await
            }
            JUDGE => self.judge(job, &progress).await,
            REFERENCE => self.reference(job, &progress).await,
            BUILD => self.build(job, &progress).await,
            CRITIQUE => self.critique(job, &progress).await,
            EVAL => self.evaluate(job, &progress).await,
            DUEL => self.duel(job, &progress).await,
            REFUSAL_CHECK => self.refusal_check(job, &progress).await,
            other => Err(PipelineError::Internal(format!(
                "unknown job kind `{other}`"
            ))),
        };
        heartbeat.abort();
        if progress.lost.load(Ordering::SeqCst) {
            return Ok(ChunkEnd::Lost);
        }
        let version = match result {
            Ok(version) => version,
            Err(e) => return Ok(ChunkEnd::Failed(e.to_string())),
        };
        let (done, tokens) = (
            progress.done.load(Ordering::SeqCst),
            progress.tokens.load(Ordering::SeqCst),
        );
        Ok(
            match runs::chunk_done(&self.db, &progress.chunk, &self.options.id, done, tokens)
                .await?
            {
                Some(left) => ChunkEnd::Done { left, version },
                None => ChunkEnd::Lost,
            },
        )
    }

    /// Ends a run whose chunks are all done, with its summary (read from what is stored, so it
    /// counts every worker's part).
    async fn complete(&mut self, job: &job::Model, version: Option<String>) -> Result<Outcome> {
        let summary = match job.kind.as_str() {
            GENERATE => self.generate_summary(job, version).await,
            JUDGE => self.judge_summary(job, version).await,
            // A build's one chunk hands its summary over as its result.
            BUILD | REFUSAL_CHECK => serde_json::from_str(version.as_deref().unwrap_or("{}"))
                .map_err(|e| PipelineError::Internal(e.to_string())),
            CRITIQUE => self.critique_summary(job).await,
            EVAL => self.eval_summary(job).await,
            DUEL => self.duel_summary(job).await,
            _ => self.reference_summary(job, version).await,
        };
        let summary = match summary {
            Ok(summary) => summary,
            Err(e) => {
                let error = e.to_string();
                runs::fail(&self.db, job.id, &error).await?;
                return Ok(Outcome::Failed(error));
            }
        };
        Ok(if runs::complete(&self.db, job.id, &summary).await? {
            Outcome::Done(summary)
        } else if runs::get(&self.db, job.id).await?.status == runs::DONE {
            // Two workers marked the run's last chunks done at once and both saw none left: the
            // other one completed it, and this one did its share.
            Outcome::Shared
        } else {
            Outcome::Stopped
        })
    }

    fn spawn_heartbeat(&self, progress: Arc<Progress>) -> tokio::task::JoinHandle<()> {
        let db = self.db.clone();
        let worker = self.options.id.clone();
        let lease = self.lease();
        let every = (self.options.lease / 3).max(Duration::from_millis(200));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let done = progress.done.load(Ordering::SeqCst);
                let tokens = progress.tokens.load(Ordering::SeqCst);
                match runs::chunk_heartbeat(&db, &progress.chunk, &worker, lease, done, tokens)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        progress.lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(run = progress.chunk.job_id, error = %e, "heartbeat failed")
                    }
                }
            }
        })
    }

    /// Runs a queued build in its one chunk; returns its summary as JSON text.
    async fn build(&mut self, job: &job::Model, progress: &Progress) -> Result<String> {
        let work = crate::builders::jobs::execute(&self.db, job, |done| {
            progress.done.store(done as i64, Ordering::SeqCst)
        });
        let summary = progress.stoppable(work).await?;
        Ok(summary.to_string())
    }

    /// Records progress after an item; an error means the chunk or its run is no longer ours.
    pub(super) async fn advance(&self, progress: &Progress, items: i64, tokens: i64) -> Result<()> {
        let done = progress.done.fetch_add(items, Ordering::SeqCst) + items;
        let tokens = progress.tokens.fetch_add(tokens, Ordering::SeqCst) + tokens;
        let ours = runs::chunk_heartbeat(
            &self.db,
            &progress.chunk,
            &self.options.id,
            self.lease(),
            done,
            tokens,
        )
        .await?;
        if !ours {
            progress.lost.store(true, Ordering::SeqCst);
        }
        progress.check()
    }

    /// The client of a remote model (created once per configuration).
    pub(super) fn remote(
        &mut self,
        config: &pairwise_inference::RemoteConfig,
    ) -> Result<pairwise_inference::RemoteModel> {
        let key = serde_json::to_string(config).unwrap_or_default();
        if let Some(client) = self.remotes.get(&key) {
            return Ok(client.clone());
        }
        let client = pairwise_inference::RemoteModel::new(config.clone())?;
        self.remotes.insert(key, client.clone());
        Ok(client)
    }

    /// What judges with `model`: the local engine or the remote server.
    pub(super) async fn backend(&mut self, model: &ModelRef) -> Result<super::verdicts::Backend> {
        Ok(match &model.remote {
            Some(config) => super::verdicts::Backend::Remote(self.remote(config)?),
            None => super::verdicts::Backend::Local(self.engine(model).await?),
        })
    }

    pub(super) async fn engine(&mut self, model: &ModelRef) -> Result<SharedEngine> {
        let key = (
            model.path.clone(),
            model.device.clone(),
            model.version.clone(),
        );
        if let Some((k, engine)) = &self.engine {
            if *k == key {
                return Ok(engine.clone());
            }
        }
        self.engine = None;
        let (path, device, threads) = (model.path.clone(), model.device(), self.options.threads);
        let engine = tokio::task::spawn_blocking(move || Engine::load(&path, device, threads))
            .await
            .map_err(|e| PipelineError::Internal(e.to_string()))??;
        let shared = Arc::new(Mutex::new(engine));
        self.engine = Some((key, shared.clone()));
        Ok(shared)
    }
}

/// A run cut into chunks.
struct Plan {
    /// Ranges of prompt ids.
    prompts: Vec<(i64, i64)>,
    /// The range of gold item ids a judge run also judges.
    gold: Option<(i64, i64)>,
    /// Items in all.
    total: i64,
}

/// How processing one chunk ended.
enum ChunkEnd {
    /// Stored; `left` chunks of the run are not done yet; `version` is what processed it.
    Done { left: u64, version: String },
    /// An item could not be processed: the run fails with this error.
    Failed(String),
    /// The run was cancelled or failed elsewhere, or the chunk's lease was taken over.
    Lost,
}
