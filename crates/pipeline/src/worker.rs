//! Job workers: claim a chunk of a run from the database queue (a range of its prompts), process
//! it item by item (a prompt of a generation run, a candidate or pair of a judge run), store each
//! item's results in one statement keyed by its idempotency key, and report progress with every
//! item. A heartbeat task renews the chunk's lease while a long item runs. Several workers share
//! one database and one run (each on its own chunks); a worker killed mid-run leaves its chunk's
//! lease to expire and the next worker continues after the items already stored, so nothing is
//! duplicated and nothing is missing.

mod critique;
mod duel;
mod eval;
mod generate;
mod gold;
mod judge;
mod prompts;
mod reference;
mod refusal_check;
mod run;
mod verdicts;

pub(crate) use prompts::messages_of;

use crate::error::{PipelineError, Result};
use pairwise_inference::Engine;
use pairwise_store::DatabaseConnection;
use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicI64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Unique among the workers of a database (host, process and a random part by default).
    pub id: String,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// How long to wait before looking at an empty queue again.
    pub poll: Duration,
    /// ONNX Runtime intra-op threads.
    pub threads: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            id: default_worker_id(),
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(500),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Whether a worker waiting for runs may still get something to do (a run queued, or being cut
/// into chunks by another worker).
pub async fn work_ahead(db: &DatabaseConnection) -> Result<bool> {
    Ok(pairwise_store::runs::work_ahead(
        db,
        &[
            crate::runs::GENERATE,
            crate::runs::JUDGE,
            crate::runs::REFERENCE,
            crate::runs::CRITIQUE,
            crate::runs::EVAL,
            crate::runs::DUEL,
            crate::runs::REFUSAL_CHECK,
        ],
    )
    .await?)
}

pub fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// How processing one claimed job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done(serde_json::Value),
    Failed(String),
    /// The job was cancelled or taken over; this worker stopped without finishing it.
    Stopped,
    /// This worker processed its share; other workers hold the chunks still running, and the
    /// last of them finishes the run.
    Shared,
}

type SharedEngine = Arc<Mutex<Engine>>;

pub struct Worker {
    db: DatabaseConnection,
    options: WorkerOptions,
    /// The last model loaded (path, device, version) and its engine: consecutive runs on one
    /// model do not reload it, and at most one model is held.
    engine: Option<((PathBuf, String, String), SharedEngine)>,
    /// Clients of remote models by configuration: one concurrency bound per served model for
    /// all runs of this worker.
    remotes: std::collections::HashMap<String, pairwise_inference::RemoteModel>,
}

/// Progress of the chunk being processed, shared with the heartbeat task.
struct Progress {
    chunk: pairwise_store::entities::job_chunk::Model,
    done: AtomicI64,
    tokens: AtomicI64,
    lost: AtomicBool,
}

impl Progress {
    /// An error once the job is no longer this worker's (cancelled or taken over).
    fn check(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(PipelineError::Internal(
                "run cancelled or taken over".into(),
            ));
        }
        Ok(())
    }
}

impl Worker {
    pub fn new(db: DatabaseConnection, options: WorkerOptions) -> Self {
        Self {
            db,
            options,
            engine: None,
            remotes: Default::default(),
        }
    }

    pub fn id(&self) -> &str {
        &self.options.id
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.options.lease).unwrap_or(chrono::Duration::seconds(30))
    }
}

impl Progress {
    /// Runs `work` until it ends or the chunk is no longer this worker's (checked every 200 ms);
    /// then `work` is dropped, which aborts its requests in flight (a cancelled run stops asking
    /// a model server at once, not after the prompt's last answer).
    async fn stoppable<T>(&self, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        let lost = async {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if self.lost.load(Ordering::SeqCst) {
                    return;
                }
            }
        };
        tokio::select! {
            result = work => result,
            () = lost => self.check().map(|()| unreachable!("checked as lost")),
        }
    }

    /// The chunk's range of prompt ids, `[lo, hi)`.
    fn range(&self) -> (i64, i64) {
        (self.chunk.lo, self.chunk.hi)
    }

    fn covers(&self, prompt_id: i64) -> bool {
        self.chunk.lo <= prompt_id && prompt_id < self.chunk.hi
    }

    /// The chunk's ones of `ids` not in `stored` (what an earlier attempt stored counts as
    /// done at once).
    fn pending(&self, ids: &[i64], stored: &std::collections::HashSet<i64>) -> Vec<i64> {
        let mine: Vec<i64> = ids.iter().copied().filter(|&id| self.covers(id)).collect();
        let todo: Vec<i64> = mine
            .iter()
            .copied()
            .filter(|id| !stored.contains(id))
            .collect();
        self.done
            .fetch_add((mine.len() - todo.len()) as i64, Ordering::SeqCst);
        todo
    }
}

/// A run's payload.
fn payload<T: serde::de::DeserializeOwned>(
    job: &pairwise_store::entities::job::Model,
) -> Result<T> {
    serde_json::from_str(&job.payload)
        .map_err(|e| PipelineError::Internal(format!("run payload: {e}")))
}

/// Model output as stored: PostgreSQL text cannot hold NUL, which random or broken models do
/// emit, so it becomes U+FFFD (on every backend, so both store the same text).
fn storable(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

fn lock(engine: &SharedEngine) -> Result<std::sync::MutexGuard<'_, Engine>> {
    engine
        .lock()
        .map_err(|_| PipelineError::Internal("a previous inference call panicked".into()))
}

/// Runs inference on a blocking thread.
async fn blocking<T: Send + 'static>(
    engine: &SharedEngine,
    f: impl FnOnce(&mut Engine) -> pairwise_inference::error::Result<T> + Send + 'static,
) -> Result<T> {
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = lock(&engine)?;
        f(&mut guard).map_err(PipelineError::from)
    })
    .await
    .map_err(|e| PipelineError::Internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lost_chunk_drops_its_work_in_flight() {
        let progress = Progress {
            chunk: pairwise_store::entities::job_chunk::Model {
                job_id: 1,
                idx: 0,
                lo: 0,
                hi: 1,
                status: "running".into(),
                lease_owner: None,
                lease_expires_at: None,
                attempts: 1,
                done: 0,
                tokens: 0,
                part: "prompts".into(),
            },
            done: AtomicI64::new(0),
            tokens: AtomicI64::new(0),
            lost: AtomicBool::new(false),
        };
        let started = std::time::Instant::now();
        let never = std::future::pending::<Result<()>>();
        let (result, ()) = tokio::join!(progress.stoppable(never), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            progress.lost.store(true, Ordering::SeqCst);
        });
        assert!(result.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(progress.stoppable(async { Ok(7) }).await.expect("done"), 7);
    }

    #[test]
    fn nul_bytes_never_reach_the_database() {
        assert_eq!(storable("a\0b".into()), "a\u{FFFD}b");
        assert_eq!(storable("plain".into()), "plain");
    }
}
