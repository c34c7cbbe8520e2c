//! The run loop: claiming a job, dispatching it by kind, finishing it, the heartbeat that renews
//! its lease, progress after each item, and the cached inference engine.

use super::{Outcome, Progress, SharedEngine, Worker};
use crate::{
    error::{PipelineError, Result},
    runs::{ModelRef, GENERATE, JUDGE, REFERENCE},
};
use pairwise_inference::Engine;
use pairwise_store::runs;
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

    /// Claims one job and processes it; `None` when the queue is empty.
    pub async fn run_one(&mut self) -> Result<Option<(i64, Outcome)>> {
        let Some(job) = runs::claim(
            &self.db,
            &self.options.id,
            self.lease(),
            &[GENERATE, JUDGE, REFERENCE],
        )
        .await?
        else {
            return Ok(None);
        };
        let id = job.id;
        let progress = Arc::new(Progress {
            done: AtomicI64::new(job.done),
            tokens: AtomicI64::new(job.tokens),
            lost: AtomicBool::new(false),
        });
        let heartbeat = self.spawn_heartbeat(id, progress.clone());
        let result = match job.kind.as_str() {
            GENERATE => self.generate(&job, &progress).await,
            JUDGE => self.judge(&job, &progress).await,
            REFERENCE => self.reference(&job, &progress).await,
            other => Err(PipelineError::Internal(format!(
                "unknown job kind `{other}`"
            ))),
        };
        heartbeat.abort();
        let outcome = match result {
            _ if progress.lost.load(Ordering::SeqCst) => Outcome::Stopped,
            Ok(summary) => Outcome::Done(summary),
            Err(e) => Outcome::Failed(e.to_string()),
        };
        let (done, tokens) = (
            progress.done.load(Ordering::SeqCst),
            progress.tokens.load(Ordering::SeqCst),
        );
        match &outcome {
            Outcome::Done(summary) => {
                runs::finish(
                    &self.db,
                    id,
                    &self.options.id,
                    Ok(summary.clone()),
                    done,
                    tokens,
                )
                .await?;
            }
            Outcome::Failed(error) => {
                runs::finish(
                    &self.db,
                    id,
                    &self.options.id,
                    Err(error.clone()),
                    done,
                    tokens,
                )
                .await?;
            }
            Outcome::Stopped => {}
        }
        Ok(Some((id, outcome)))
    }

    fn spawn_heartbeat(&self, id: i64, progress: Arc<Progress>) -> tokio::task::JoinHandle<()> {
        let db = self.db.clone();
        let worker = self.options.id.clone();
        let lease = self.lease();
        let every = (self.options.lease / 3).max(Duration::from_millis(200));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let done = progress.done.load(Ordering::SeqCst);
                let tokens = progress.tokens.load(Ordering::SeqCst);
                match runs::heartbeat(&db, id, &worker, lease, done, tokens).await {
                    Ok(true) => {}
                    Ok(false) => {
                        progress.lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => tracing::warn!(run = id, error = %e, "heartbeat failed"),
                }
            }
        })
    }

    /// Records progress after an item; an error means the job is no longer ours.
    pub(super) async fn advance(
        &self,
        id: i64,
        progress: &Progress,
        items: i64,
        tokens: i64,
    ) -> Result<()> {
        let done = progress.done.fetch_add(items, Ordering::SeqCst) + items;
        let tokens = progress.tokens.fetch_add(tokens, Ordering::SeqCst) + tokens;
        let ours =
            runs::heartbeat(&self.db, id, &self.options.id, self.lease(), done, tokens).await?;
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
