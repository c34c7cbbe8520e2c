//! A dedicated thread owns each loaded model; requests arrive over a bounded channel and are
//! served in order. When the queue is full the caller is told "overloaded" at once instead of
//! piling up memory (the channel capacity is the semaphore).

use crate::{
    engine::{Engine, PromptInput},
    error::{InferenceError, Result},
    generate::{Generation, Score},
    params::DecodingParams,
    runtime::Provider,
};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    mpsc, Arc,
};

enum Job {
    Generate {
        prompt: PromptInput,
        params: Vec<DecodingParams>,
        reply: mpsc::Sender<Result<Generation>>,
    },
    Score {
        prompt: PromptInput,
        responses: Vec<String>,
        reply: mpsc::Sender<Result<Vec<Score>>>,
    },
}

/// A handle to a model's worker thread; clone it freely.
#[derive(Clone)]
pub struct Worker {
    jobs: mpsc::SyncSender<Job>,
    queued: Arc<AtomicUsize>,
    capacity: usize,
    pub version: String,
    pub provider: Provider,
}

impl Worker {
    /// Starts a thread that owns `engine` and queues at most `capacity` waiting requests.
    pub fn spawn(mut engine: Engine, capacity: usize) -> Result<Self> {
        let capacity = capacity.max(1);
        let (jobs, rx) = mpsc::sync_channel::<Job>(capacity);
        let queued = Arc::new(AtomicUsize::new(0));
        let version = engine.version().to_owned();
        let provider = engine.provider();
        let counter = queued.clone();
        std::thread::Builder::new()
            .name(format!("inference-{}", &version[..12.min(version.len())]))
            .spawn(move || {
                for job in rx {
                    counter.fetch_sub(1, Ordering::SeqCst);
                    match job {
                        Job::Generate {
                            prompt,
                            params,
                            reply,
                        } => {
                            let result = engine
                                .encode_prompt(&prompt)
                                .and_then(|ids| engine.generate(&ids, &params, |_| ()));
                            let _ = reply.send(result);
                        }
                        Job::Score {
                            prompt,
                            responses,
                            reply,
                        } => {
                            let _ = reply.send(engine.score(&prompt, &responses));
                        }
                    }
                }
            })
            .map_err(|e| InferenceError::Runtime(format!("cannot start the worker thread: {e}")))?;
        Ok(Self {
            jobs,
            queued,
            capacity,
            version,
            provider,
        })
    }

    fn submit(&self, job: Job) -> Result<()> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        self.jobs.try_send(job).map_err(|e| {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            match e {
                mpsc::TrySendError::Full(_) => InferenceError::Overloaded(self.capacity),
                mpsc::TrySendError::Disconnected(_) => {
                    InferenceError::Runtime("the worker has stopped".into())
                }
            }
        })
    }

    /// Requests waiting for the worker.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Queues a generation; `Overloaded` at once when the queue is full.
    pub fn submit_generate(
        &self,
        prompt: PromptInput,
        params: Vec<DecodingParams>,
    ) -> Result<Pending<Generation>> {
        let (reply, rx) = mpsc::channel();
        self.submit(Job::Generate {
            prompt,
            params,
            reply,
        })?;
        Ok(Pending(rx))
    }

    /// Generates (blocking the calling thread until done; call from `spawn_blocking` in async code).
    pub fn generate(&self, prompt: PromptInput, params: Vec<DecodingParams>) -> Result<Generation> {
        self.submit_generate(prompt, params)?.wait()
    }

    pub fn score(&self, prompt: PromptInput, responses: Vec<String>) -> Result<Vec<Score>> {
        let (reply, rx) = mpsc::channel();
        self.submit(Job::Score {
            prompt,
            responses,
            reply,
        })?;
        rx.recv()
            .map_err(|_| InferenceError::Runtime("the worker stopped before answering".into()))?
    }
}

/// A queued request's answer.
pub struct Pending<T>(mpsc::Receiver<Result<T>>);

impl<T> Pending<T> {
    /// Blocks until the worker answers.
    pub fn wait(self) -> Result<T> {
        self.0
            .recv()
            .map_err(|_| InferenceError::Runtime("the worker stopped before answering".into()))?
    }
}
