//! Job workers: claim a run from the database queue, process it item by item (a prompt of a
//! generation run, a candidate or pair of a judge run), store each item's results in one
//! statement keyed by its idempotency key, and report progress with every item. A heartbeat task
//! renews the lease while a long item runs. Several workers may share one database; a worker
//! killed mid-run leaves its lease to expire and the next worker continues after the items
//! already stored, so nothing is duplicated and nothing is missing.

use crate::{
    error::{PipelineError, Result},
    runs::{GeneratePayload, JudgePayload, ModelRef, ReferencePayload, GENERATE, JUDGE, REFERENCE},
};
use pairwise_core::{
    generation::{candidate_seed, plan_candidates, PlannedCandidate},
    judge::{self, JudgeMode, Winner},
    rubric::RubricSpec,
    ChatMessage,
};
use pairwise_inference::{chat_template::Message, DecodingParams, Engine, PromptInput};
use pairwise_store::{
    candidates,
    entities::{candidate, job, judgment, prompt},
    jobs, judgments, prompts, rubrics, DatabaseConnection,
};
use sea_orm::Set;
use std::{
    collections::{BTreeMap, HashMap},
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
}

type SharedEngine = Arc<Mutex<Engine>>;

pub struct Worker {
    db: DatabaseConnection,
    options: WorkerOptions,
    /// The last model loaded (path, device, version) and its engine: consecutive runs on one
    /// model do not reload it, and at most one model is held.
    engine: Option<((PathBuf, String, String), SharedEngine)>,
}

/// Progress of the job being processed, shared with the heartbeat task.
struct Progress {
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
        }
    }

    pub fn id(&self) -> &str {
        &self.options.id
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.options.lease).unwrap_or(chrono::Duration::seconds(30))
    }

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
        let Some(job) = jobs::claim(
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
                jobs::finish(
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
                jobs::finish(
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
                match jobs::heartbeat(&db, id, &worker, lease, done, tokens).await {
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
    async fn advance(&self, id: i64, progress: &Progress, items: i64, tokens: i64) -> Result<()> {
        let done = progress.done.fetch_add(items, Ordering::SeqCst) + items;
        let tokens = progress.tokens.fetch_add(tokens, Ordering::SeqCst) + tokens;
        let ours =
            jobs::heartbeat(&self.db, id, &self.options.id, self.lease(), done, tokens).await?;
        if !ours {
            progress.lost.store(true, Ordering::SeqCst);
        }
        progress.check()
    }

    async fn engine(&mut self, model: &ModelRef) -> Result<SharedEngine> {
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

    async fn generate(
        &mut self,
        job: &job::Model,
        progress: &Progress,
    ) -> Result<serde_json::Value> {
        let payload: GeneratePayload = serde_json::from_str(&job.payload)
            .map_err(|e| PipelineError::Internal(format!("run payload: {e}")))?;
        let engine = self.engine(&payload.model).await?;
        let (version, provider) = {
            let e = lock(&engine)?;
            (e.version().to_owned(), e.provider().as_str().to_owned())
        };
        if version != payload.model.version {
            jobs::add_warnings(
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
        progress.done.store(0, Ordering::SeqCst);
        for chunk in payload.prompt_ids.chunks(64) {
            let loaded: HashMap<i64, prompt::Model> = prompts::get_many(&self.db, chunk)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
            for prompt_id in chunk {
                progress.check()?;
                let stored = candidates::stored_indices(&self.db, job.id, *prompt_id).await?;
                let missing: Vec<PlannedCandidate> = plan_candidates(payload.n, &payload.paths)
                    .into_iter()
                    .filter(|c| !stored.contains(&(c.index as i32)))
                    .collect();
                if missing.is_empty() {
                    progress.done.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let Some(prompt) = loaded.get(prompt_id) else {
                    // Deleted since the run was made: nothing to generate for it.
                    self.advance(job.id, progress, 1, 0).await?;
                    continue;
                };
                let (rows, tokens) = generate_for_prompt(
                    &engine, job, &payload, prompt, &missing, &version, &provider,
                )
                .await?;
                candidates::insert(&self.db, rows).await?;
                self.advance(job.id, progress, 1, tokens).await?;
            }
        }
        let stored = candidates::count_for_job(&self.db, job.id).await?;
        Ok(serde_json::json!({
            "prompts": payload.prompt_ids.len(),
            "candidates": stored,
            "tokens": progress.tokens.load(Ordering::SeqCst),
            "model_version": version,
            "provider": provider,
        }))
    }

    async fn judge(&mut self, job: &job::Model, progress: &Progress) -> Result<serde_json::Value> {
        let payload: JudgePayload = serde_json::from_str(&job.payload)
            .map_err(|e| PipelineError::Internal(format!("run payload: {e}")))?;
        let rubric = rubrics::get(&self.db, payload.rubric_id).await?;
        let spec = rubrics::spec_of(&rubric)?;
        if payload.mode == JudgeMode::Reward {
            return self.judge_reward(job, progress, &payload, &rubric).await;
        }
        let engine = self.engine(&payload.model).await?;
        let version = lock(&engine)?.version().to_owned();
        let stored =
            candidates::for_runs(&self.db, job.project_id, &payload.generation_runs).await?;
        let prompt_ids: Vec<i64> = {
            let mut ids: Vec<i64> = stored.iter().map(|c| c.prompt_id).collect();
            ids.dedup();
            ids
        };
        let requests: HashMap<i64, String> = prompts::get_many(&self.db, &prompt_ids)
            .await?
            .into_iter()
            .map(|p| (p.id, request_text(&p)))
            .collect();
        let items = judge_items(&stored, payload.mode);
        jobs::set_total(&self.db, job.id, items.len() as i64).await?;
        let done_keys = judgments::stored_keys(&self.db, job.id).await?;
        progress
            .done
            .store(done_keys.len() as i64, Ordering::SeqCst);
        let tokens_for = match payload.mode {
            JudgeMode::Prob | JudgeMode::Pairwise => Some(TokenIds::find(&engine, payload.mode)?),
            _ => None,
        };
        let by_id: HashMap<i64, &candidate::Model> = stored.iter().map(|c| (c.id, c)).collect();
        for item in items {
            if done_keys.contains(&item.key) {
                continue;
            }
            progress.check()?;
            let first = by_id[&item.first];
            let request = requests.get(&first.prompt_id).cloned().unwrap_or_default();
            let base = judgment::ActiveModel {
                project_id: Set(job.project_id),
                job_id: Set(job.id),
                rubric_id: Set(rubric.id),
                mode: Set(payload.mode.as_str().into()),
                item_key: Set(item.key.clone()),
                candidate_id: Set(item.first),
                other_candidate_id: Set(item.second),
                judge_version: Set(version.clone()),
                created_at: Set(chrono::Utc::now()),
                needs_review: Set(false),
                ..Default::default()
            };
            let (row, tokens) = match (payload.mode, item.second, &tokens_for) {
                (JudgeMode::Json, _, _) => {
                    let (row, tokens) = judge_json(
                        &engine,
                        &spec,
                        &request,
                        &first.text,
                        payload.max_new_tokens,
                        item.first as u64,
                    )
                    .await?;
                    (merge(base, row), tokens)
                }
                (JudgeMode::Prob, _, Some(ids)) => (
                    merge(
                        base,
                        judge_prob(&engine, &spec, ids, &request, &first.text).await?,
                    ),
                    0,
                ),
                (JudgeMode::Pairwise, Some(second), Some(ids)) => {
                    let second = by_id[&second];
                    let row =
                        judge_pairwise(&engine, &spec, ids, &request, &first.text, &second.text)
                            .await?;
                    (merge(base, row), 0)
                }
                _ => {
                    return Err(PipelineError::Internal(format!(
                        "judge mode {} cannot judge item {}",
                        payload.mode.as_str(),
                        item.key
                    )))
                }
            };
            judgments::insert(&self.db, vec![row]).await?;
            self.advance(job.id, progress, 1, tokens).await?;
        }
        judge_summary(
            &self.db,
            job.id,
            payload.mode,
            &rubric,
            version,
            stored.len(),
        )
        .await
    }
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

impl Worker {
    /// Reward-model scoring: one scalar per (prompt, answer) from a sequence classifier, stored as
    /// a judgment with `scores = {"reward": logit}` and `overall = logit` under the run's rubric
    /// version (for grouping; the classifier itself ignores the rubric text).
    async fn judge_reward(
        &mut self,
        job: &job::Model,
        progress: &Progress,
        payload: &JudgePayload,
        rubric: &pairwise_store::entities::rubric::Model,
    ) -> Result<serde_json::Value> {
        let (path, device, threads) = (
            payload.model.path.clone(),
            payload.model.device(),
            self.options.threads,
        );
        // A reward model is used for one run; the decoder cache is left as it is.
        let model = tokio::task::spawn_blocking(move || {
            pairwise_inference::RewardModel::load(&path, device, threads)
        })
        .await
        .map_err(|e| PipelineError::Internal(e.to_string()))??;
        let version = model.version().to_owned();
        let model = Arc::new(Mutex::new(model));
        let stored =
            candidates::for_runs(&self.db, job.project_id, &payload.generation_runs).await?;
        let ids: Vec<i64> = stored.iter().map(|c| c.prompt_id).collect();
        let loaded: HashMap<i64, prompt::Model> = prompts::get_many(&self.db, &ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        jobs::set_total(&self.db, job.id, stored.len() as i64).await?;
        let done_keys = judgments::stored_keys(&self.db, job.id).await?;
        progress
            .done
            .store(done_keys.len() as i64, Ordering::SeqCst);
        for c in &stored {
            let key = format!("c{}", c.id);
            if done_keys.contains(&key) {
                continue;
            }
            progress.check()?;
            let conversation: Vec<Message> = loaded
                .get(&c.prompt_id)
                .map(messages_of)
                .unwrap_or_default()
                .into_iter()
                .map(|m| Message::new(m.role, m.content))
                .collect();
            let answer = vec![c.text.clone()];
            let shared = model.clone();
            let score = tokio::task::spawn_blocking(move || {
                let mut m = shared.lock().map_err(|_| {
                    PipelineError::Internal("a previous reward call panicked".into())
                })?;
                m.score(&conversation, &answer).map_err(PipelineError::from)
            })
            .await
            .map_err(|e| PipelineError::Internal(e.to_string()))??;
            let logit = f64::from(score.first().copied().unwrap_or(f32::NAN));
            let finite = logit.is_finite();
            let row = judgment::ActiveModel {
                project_id: Set(job.project_id),
                job_id: Set(job.id),
                rubric_id: Set(rubric.id),
                mode: Set(JudgeMode::Reward.as_str().into()),
                item_key: Set(key),
                candidate_id: Set(c.id),
                other_candidate_id: Set(None),
                scores: Set(finite.then(|| serde_json::json!({ "reward": logit }).to_string())),
                overall: Set(finite.then_some(logit)),
                winner_ab: Set(None),
                winner_ba: Set(None),
                consistent: Set(None),
                needs_review: Set(false),
                parse_ok: Set(finite),
                attempts: Set(1),
                raw_output: Set(format!("{logit}")),
                judge_version: Set(version.clone()),
                created_at: Set(chrono::Utc::now()),
                ..Default::default()
            };
            judgments::insert(&self.db, vec![row]).await?;
            self.advance(job.id, progress, 1, 0).await?;
        }
        judge_summary(
            &self.db,
            job.id,
            JudgeMode::Reward,
            rubric,
            version,
            stored.len(),
        )
        .await
    }

    /// Mean per-token log-probability of every candidate under the reference model, given the
    /// original prompt (as π_ref(y | x) in DPO). One prompt's candidates score in one batch;
    /// candidates that already carry this model version's score are skipped (resumable).
    async fn reference(
        &mut self,
        job: &job::Model,
        progress: &Progress,
    ) -> Result<serde_json::Value> {
        let payload: ReferencePayload = serde_json::from_str(&job.payload)
            .map_err(|e| PipelineError::Internal(format!("run payload: {e}")))?;
        let engine = self.engine(&payload.model).await?;
        let version = lock(&engine)?.version().to_owned();
        let stored =
            candidates::for_runs(&self.db, job.project_id, &payload.generation_runs).await?;
        let mut by_prompt: BTreeMap<i64, Vec<&candidate::Model>> = BTreeMap::new();
        for c in &stored {
            by_prompt.entry(c.prompt_id).or_default().push(c);
        }
        jobs::set_total(&self.db, job.id, by_prompt.len() as i64).await?;
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

/// The summary of a finished judge run: its rates and what it judged with.
async fn judge_summary(
    db: &DatabaseConnection,
    job_id: i64,
    mode: JudgeMode,
    rubric: &pairwise_store::entities::rubric::Model,
    version: String,
    candidates: usize,
) -> Result<serde_json::Value> {
    let stats = judgments::stats(db, job_id).await?;
    let mut summary = serde_json::to_value(stats).unwrap_or_default();
    if let Some(object) = summary.as_object_mut() {
        object.insert("mode".into(), mode.as_str().into());
        object.insert(
            "rubric".into(),
            format!("{}@{}", rubric.name, rubric.version).into(),
        );
        object.insert("judge_version".into(), version.into());
        object.insert("candidates".into(), candidates.into());
    }
    Ok(summary)
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

/// The conversation of a prompt: its stored messages, or one user turn.
pub(crate) fn messages_of(p: &prompt::Model) -> Vec<ChatMessage> {
    p.messages
        .as_deref()
        .and_then(|m| serde_json::from_str::<Vec<ChatMessage>>(m).ok())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            vec![ChatMessage {
                role: "user".into(),
                content: p.text.clone(),
            }]
        })
}

/// The request a judge sees: the last user turn (the whole text for plain prompts).
fn request_text(p: &prompt::Model) -> String {
    messages_of(p)
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map_or_else(|| p.text.clone(), |m| m.content.clone())
}

/// A chat for the model, or the last user turn as raw text when it has no chat template.
fn prompt_input(engine: &Engine, messages: &[ChatMessage]) -> PromptInput {
    if engine.dir.chat_template.is_some() {
        PromptInput::Chat(
            messages
                .iter()
                .map(|m| Message::new(m.role.clone(), m.content.clone()))
                .collect(),
        )
    } else {
        let text = messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.clone())
            .unwrap_or_default();
        PromptInput::Raw(text)
    }
}

fn user_prompt(engine: &Engine, text: String) -> PromptInput {
    prompt_input(
        engine,
        &[ChatMessage {
            role: "user".into(),
            content: text,
        }],
    )
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
) -> Result<(Vec<candidate::ActiveModel>, i64)> {
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
            if let Some(last) = messages.iter_mut().rev().find(|m| m.role == "user") {
                last.content = t.apply(&last.content);
            }
        }
        let params: Vec<DecodingParams> = planned
            .iter()
            .map(|c| {
                let preset = payload.presets[&c.path];
                DecodingParams {
                    temperature: preset.temperature,
                    top_p: preset.top_p,
                    top_k: preset.top_k,
                    repetition_penalty: preset.repetition_penalty,
                    max_new_tokens: payload.max_new_tokens,
                    seed: candidate_seed(payload.seed, prompt.id, c.index),
                    stop: Vec::new(),
                }
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
        let now = chrono::Utc::now();
        for out in generation.candidates {
            let plan = planned[out.index];
            let p = &params[out.index];
            rows.push(candidate::ActiveModel {
                project_id: Set(job.project_id),
                job_id: Set(job.id),
                prompt_id: Set(prompt.id),
                path: Set(plan.path.as_str().into()),
                idx: Set(plan.index as i32),
                transform: Set(plan.transform.map(|t| t.id())),
                text: Set(storable(out.text)),
                params: Set(serde_json::to_string(p).unwrap_or_default()),
                seed: Set(p.seed.to_string()),
                model_version: Set(version.to_owned()),
                provider: Set(provider.to_owned()),
                finish_reason: Set(serde_json::to_value(out.finish_reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()),
                token_count: Set(out.token_count as i32),
                mean_logprob: Set(if out.mean_logprob.is_finite() {
                    out.mean_logprob
                } else {
                    0.0
                }),
                prefill_ms: Set(generation.prefill_ms),
                decode_ms: Set(out.decode_ms),
                created_at: Set(now),
                ..Default::default()
            });
        }
    }
    Ok((rows, tokens))
}

/// One unit of a judge run.
#[derive(Debug, Clone, PartialEq)]
struct JudgeItem {
    key: String,
    first: i64,
    second: Option<i64>,
}

/// Pointwise modes judge every candidate; pairwise compares neighbours within a prompt (in run and
/// index order, so pairs span paths), each pair once, in both orders.
fn judge_items(stored: &[candidate::Model], mode: JudgeMode) -> Vec<JudgeItem> {
    if mode != JudgeMode::Pairwise {
        return stored
            .iter()
            .map(|c| JudgeItem {
                key: format!("c{}", c.id),
                first: c.id,
                second: None,
            })
            .collect();
    }
    let mut items = Vec::new();
    for window in stored.windows(2) {
        let (a, b) = (&window[0], &window[1]);
        if a.prompt_id == b.prompt_id {
            items.push(JudgeItem {
                key: format!("p{}-{}", a.id, b.id),
                first: a.id,
                second: Some(b.id),
            });
        }
    }
    items
}

/// The judge tokenizer's single-token ids of the rating digits 0–9 and of the letters A and B.
struct TokenIds {
    digits: Vec<u32>,
    a: u32,
    b: u32,
}

impl TokenIds {
    fn find(engine: &SharedEngine, mode: JudgeMode) -> Result<Self> {
        let e = lock(engine)?;
        let single = |text: &str| -> Result<u32> {
            let ids = e.encode_text(text, false)?;
            match ids.as_slice() {
                [id] => Ok(*id),
                _ => Err(PipelineError::invalid(
                    "mode",
                    format!(
                        "the judge's tokenizer splits `{text}` into {} tokens; the {} judge needs \
                         single-token ratings (use --mode json)",
                        ids.len(),
                        mode.as_str()
                    ),
                )),
            }
        };
        Ok(Self {
            digits: (0..10)
                .map(|d| single(&d.to_string()))
                .collect::<Result<_>>()?,
            a: single("A")?,
            b: single("B")?,
        })
    }
}

fn merge(mut base: judgment::ActiveModel, row: JudgedRow) -> judgment::ActiveModel {
    base.scores = Set(row
        .scores
        .map(|s| serde_json::to_string(&s).unwrap_or_default()));
    base.overall = Set(row.overall);
    base.winner_ab = Set(row.winner_ab.map(|w| w.as_str().to_owned()));
    base.winner_ba = Set(row.winner_ba.map(|w| w.as_str().to_owned()));
    base.consistent = Set(row.consistent);
    base.needs_review = Set(row.consistent == Some(false));
    base.parse_ok = Set(row.parse_ok);
    base.attempts = Set(row.attempts);
    base.raw_output = Set(storable(row.raw_output));
    base
}

#[derive(Debug, Default)]
struct JudgedRow {
    scores: Option<BTreeMap<String, f64>>,
    overall: Option<f64>,
    winner_ab: Option<Winner>,
    winner_ba: Option<Winner>,
    consistent: Option<bool>,
    parse_ok: bool,
    attempts: i32,
    raw_output: String,
}

/// Generative JSON judge: one attempt, and one stricter retry after a parse failure. A second
/// failure is stored with both raw outputs (parse_ok = false), never an error.
async fn judge_json(
    engine: &SharedEngine,
    spec: &RubricSpec,
    request: &str,
    answer: &str,
    max_new_tokens: u32,
    seed: u64,
) -> Result<(JudgedRow, i64)> {
    // Scores are a flat object: stop at its closing brace (kept below), so a chatty judge does
    // not run out of tokens in the middle of invented extra keys.
    let params = DecodingParams {
        temperature: spec.temperature,
        max_new_tokens,
        seed,
        stop: vec!["}".into()],
        ..DecodingParams::default()
    };
    let first_prompt = spec.render_pointwise(request, answer);
    let mut conversation = vec![ChatMessage {
        role: "user".into(),
        content: first_prompt,
    }];
    let mut raw_outputs = Vec::new();
    let mut tokens = 0i64;
    for attempt in 1..=2 {
        let messages = conversation.clone();
        let request_params = vec![params.clone()];
        let generation = blocking(engine, move |e| {
            let input = prompt_input(e, &messages);
            let ids = e.encode_prompt(&input)?;
            e.generate(&ids, &request_params, |_| ())
        })
        .await?;
        tokens += generation.generated_tokens as i64;
        let text = generation
            .candidates
            .into_iter()
            .next()
            .map(|c| match c.finish_reason {
                pairwise_inference::FinishReason::Stop => c.text + "}",
                _ => c.text,
            })
            .unwrap_or_default();
        raw_outputs.push(text.clone());
        match judge::parse_scores(&text, spec) {
            Ok(scores) => {
                return Ok((
                    JudgedRow {
                        overall: spec.overall(&scores),
                        scores: Some(scores),
                        parse_ok: true,
                        attempts: attempt,
                        raw_output: raw_outputs.join("\n---\n"),
                        ..Default::default()
                    },
                    tokens,
                ))
            }
            Err(failure) => {
                conversation.push(ChatMessage {
                    role: "assistant".into(),
                    content: text,
                });
                conversation.push(ChatMessage {
                    role: "user".into(),
                    content: judge::retry_instruction(spec, &failure),
                });
            }
        }
    }
    Ok((
        JudgedRow {
            parse_ok: false,
            attempts: 2,
            raw_output: raw_outputs.join("\n---\n"),
            ..Default::default()
        },
        tokens,
    ))
}

/// Probability-weighted judge: per dimension, the expected digit rating under the judge's
/// next-token distribution, scaled to 0–1. It cannot fail to parse.
async fn judge_prob(
    engine: &SharedEngine,
    spec: &RubricSpec,
    ids: &TokenIds,
    request: &str,
    answer: &str,
) -> Result<JudgedRow> {
    let mut scores = BTreeMap::new();
    let mut raw = serde_json::Map::new();
    for d in &spec.dimensions {
        let text = spec.render_rating(d, request, answer);
        let digits = ids.digits.clone();
        let logprobs = blocking(engine, move |e| {
            let input = user_prompt(e, text);
            let prompt_ids = e.encode_prompt(&input)?;
            let all = e.next_token_logprobs(&prompt_ids)?;
            Ok(digits
                .iter()
                .map(|&id| all.get(id as usize).copied().unwrap_or(f32::NEG_INFINITY))
                .collect::<Vec<f32>>())
        })
        .await?;
        let score = judge::expected_rating(&logprobs).unwrap_or(0.5);
        scores.insert(d.name.clone(), score);
        raw.insert(d.name.clone(), serde_json::json!(logprobs));
    }
    Ok(JudgedRow {
        overall: spec.overall(&scores),
        scores: Some(scores),
        parse_ok: true,
        attempts: 1,
        raw_output: serde_json::Value::Object(raw).to_string(),
        ..Default::default()
    })
}

/// Pairwise judge in both orders from the next-token probabilities of the letters A and B.
async fn judge_pairwise(
    engine: &SharedEngine,
    spec: &RubricSpec,
    ids: &TokenIds,
    request: &str,
    first: &str,
    second: &str,
) -> Result<JudgedRow> {
    let orders = [
        (spec.render_pairwise(request, first, second), false),
        (spec.render_pairwise(request, second, first), true),
    ];
    let mut verdicts = Vec::new();
    let mut raw = serde_json::Map::new();
    for (text, swapped) in orders {
        let (a, b) = (ids.a, ids.b);
        let (la, lb) = blocking(engine, move |e| {
            let input = user_prompt(e, text);
            let prompt_ids = e.encode_prompt(&input)?;
            let all = e.next_token_logprobs(&prompt_ids)?;
            let at = |id: u32| all.get(id as usize).copied().unwrap_or(f32::NEG_INFINITY);
            Ok((at(a), at(b)))
        })
        .await?;
        let (pa, pb) = (f64::from(la).exp(), f64::from(lb).exp());
        verdicts.push(judge::verdict(pa, pb, swapped));
        raw.insert(
            if swapped { "ba" } else { "ab" }.into(),
            serde_json::json!({"A": pa, "B": pb}),
        );
    }
    let (ab, ba) = (verdicts[0], verdicts[1]);
    Ok(JudgedRow {
        winner_ab: Some(ab),
        winner_ba: Some(ba),
        consistent: Some(judge::consistent(ab, ba)),
        parse_ok: true,
        attempts: 1,
        raw_output: serde_json::Value::Object(raw).to_string(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: i64, prompt_id: i64) -> candidate::Model {
        candidate::Model {
            id,
            project_id: 1,
            job_id: 1,
            prompt_id,
            path: "conservative".into(),
            idx: id as i32,
            transform: None,
            text: String::new(),
            params: "{}".into(),
            seed: "0".into(),
            model_version: String::new(),
            provider: "cpu".into(),
            finish_reason: "eos".into(),
            token_count: 0,
            mean_logprob: 0.0,
            prefill_ms: 0.0,
            decode_ms: 0.0,
            ref_logprob: None,
            ref_model_version: None,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn nul_bytes_never_reach_the_database() {
        assert_eq!(storable("a\0b".into()), "a\u{FFFD}b");
        assert_eq!(storable("plain".into()), "plain");
    }

    #[test]
    fn pairwise_items_pair_neighbours_within_a_prompt_only() {
        let stored = vec![
            cand(1, 10),
            cand(2, 10),
            cand(3, 10),
            cand(4, 11),
            cand(5, 11),
        ];
        let keys: Vec<String> = judge_items(&stored, JudgeMode::Pairwise)
            .into_iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(keys, ["p1-2", "p2-3", "p4-5"]);
        assert_eq!(judge_items(&stored, JudgeMode::Json).len(), 5);
    }
}
