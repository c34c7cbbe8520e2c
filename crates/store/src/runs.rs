//! The persistent job queue. A worker claims the oldest runnable job with a compare-and-set
//! update (queued, or running with an expired lease), so two workers never hold one job, on
//! SQLite and PostgreSQL alike. The holder renews its lease with heartbeats; a heartbeat that
//! finds the job cancelled or taken over tells the worker to stop. A job whose worker died is
//! claimed again once its lease expires, until `max_attempts` claims have been spent.
//!
//! Several workers share one run through its chunks: the worker that claims a queued run plans
//! it ([`split`]: the run's prompt ids cut into ranges, one `job_chunks` row each) and releases
//! the run's own lease; from then on every worker claims chunks ([`claim_chunk`]) with the same
//! compare-and-set lease, and the worker that marks the last chunk done finishes the run
//! ([`complete`]). A run's progress is the sum of its chunks'.

use crate::{
    entities::{job, job_chunk, project},
    error::{Result, StoreError},
    rfc3339,
};
use chrono::{DateTime, Duration, Utc};
use pairwise_core::dto::RunView;
use sea_orm::{
    sea_query::{Expr, Func, Query, SimpleExpr, SubQueryStatement},
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";
pub const CANCELLED: &str = "cancelled";
/// A chunk no worker holds yet.
pub const PENDING: &str = "pending";
/// A chunk's part: a range of prompt ids (every kind of run) ...
pub const PART_PROMPTS: &str = "prompts";
/// ... or a range of gold item ids (a judge run's gold part, judged apart from its pairs).
pub const PART_GOLD: &str = "gold";

/// Most chunks one run is cut into (enough for many workers to share it, few enough that each
/// chunk's setup stays a small part of its work).
pub const MAX_CHUNKS: usize = 64;

/// Claims a job gets before it is failed for good (each crash of its worker spends one).
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;

/// What to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub project_id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    pub total: i64,
    pub warnings: Vec<String>,
    pub created_by: Option<i64>,
}

pub async fn enqueue(db: &impl ConnectionTrait, new: NewJob) -> Result<job::Model> {
    let now = Utc::now();
    Ok(job::ActiveModel {
        project_id: Set(new.project_id),
        kind: Set(new.kind),
        status: Set(QUEUED.into()),
        payload: Set(new.payload.to_string()),
        total: Set(new.total),
        done: Set(0),
        tokens: Set(0),
        attempts: Set(0),
        max_attempts: Set(DEFAULT_MAX_ATTEMPTS),
        warnings: Set(serde_json::to_string(&new.warnings).unwrap_or_else(|_| "[]".into())),
        summary: Set("{}".into()),
        created_by: Set(new.created_by),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

fn runnable(now: DateTime<Utc>) -> Condition {
    Condition::any().add(job::Column::Status.eq(QUEUED)).add(
        Condition::all()
            .add(job::Column::Status.eq(RUNNING))
            .add(job::Column::LeaseExpiresAt.lt(now)),
    )
}

/// Claims the oldest runnable job for `worker` with a lease of `lease`; `None` when there is
/// nothing to do. Jobs whose attempts are spent are failed here instead of being claimed.
pub async fn claim(
    db: &impl ConnectionTrait,
    worker: &str,
    lease: Duration,
    kinds: &[&str],
) -> Result<Option<job::Model>> {
    loop {
        let now = Utc::now();
        let Some(candidate) = job::Entity::find()
            .filter(runnable(now))
            .filter(job::Column::Kind.is_in(kinds.iter().copied()))
            .order_by_asc(job::Column::Id)
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        if candidate.attempts >= candidate.max_attempts {
            let message = format!(
                "gave up after {} attempts (the worker stopped each time)",
                candidate.attempts
            );
            job::Entity::update_many()
                .col_expr(job::Column::Status, Expr::value(FAILED))
                .col_expr(job::Column::Error, Expr::value(message))
                .col_expr(job::Column::FinishedAt, Expr::value(now))
                .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
                .filter(job::Column::Id.eq(candidate.id))
                .filter(job::Column::Attempts.eq(candidate.attempts))
                .filter(runnable(now))
                .exec(db)
                .await?;
            continue;
        }
        // Compare-and-set: only one worker's update matches the job in its runnable state.
        let result = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(RUNNING))
            .col_expr(job::Column::LeaseOwner, Expr::value(worker))
            .col_expr(job::Column::LeaseExpiresAt, Expr::value(now + lease))
            .col_expr(job::Column::HeartbeatAt, Expr::value(now))
            .col_expr(job::Column::Attempts, Expr::value(candidate.attempts + 1))
            .col_expr(
                job::Column::StartedAt,
                Expr::value(candidate.started_at.unwrap_or(now)),
            )
            .filter(job::Column::Id.eq(candidate.id))
            .filter(job::Column::Attempts.eq(candidate.attempts))
            .filter(runnable(now))
            .exec(db)
            .await?;
        if result.rows_affected == 1 {
            return job::Entity::find_by_id(candidate.id)
                .one(db)
                .await?
                .map(Some)
                .ok_or_else(|| StoreError::NotFound(format!("job {}", candidate.id)));
        }
        // Another worker won this one; look again.
    }
}

/// Renews `worker`'s lease and records progress. `false` means the job is no longer this
/// worker's to run (cancelled, or its lease lapsed and another worker took it): stop at once.
pub async fn heartbeat(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    lease: Duration,
    done: i64,
    tokens: i64,
) -> Result<bool> {
    let now = Utc::now();
    let result = job::Entity::update_many()
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(now + lease))
        .col_expr(job::Column::HeartbeatAt, Expr::value(now))
        .col_expr(job::Column::Done, Expr::value(done))
        .col_expr(job::Column::Tokens, Expr::value(tokens))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(RUNNING))
        .filter(job::Column::LeaseOwner.eq(worker))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Ends a job held by `worker` as `done` (with its summary) or `failed` (with the error).
pub async fn finish(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    outcome: std::result::Result<serde_json::Value, String>,
    done: i64,
    tokens: i64,
) -> Result<bool> {
    let now = Utc::now();
    let mut update = job::Entity::update_many()
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::Done, Expr::value(done))
        .col_expr(job::Column::Tokens, Expr::value(tokens));
    update = match outcome {
        Ok(summary) => update
            .col_expr(job::Column::Status, Expr::value(DONE))
            .col_expr(job::Column::Summary, Expr::value(summary.to_string()))
            .col_expr(job::Column::Error, Expr::value(Option::<String>::None)),
        Err(error) => update
            .col_expr(job::Column::Status, Expr::value(FAILED))
            .col_expr(job::Column::Error, Expr::value(error)),
    };
    let result = update
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(RUNNING))
        .filter(job::Column::LeaseOwner.eq(worker))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Cancels a queued or running job (a running worker sees it at its next heartbeat).
pub async fn cancel(db: &impl ConnectionTrait, id: i64) -> Result<job::Model> {
    let now = Utc::now();
    let result = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(CANCELLED))
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.is_in([QUEUED, RUNNING]))
        .exec(db)
        .await?;
    let job = get(db, id).await?;
    if result.rows_affected == 0 {
        return Err(StoreError::Conflict(format!(
            "run {id} is {}; only queued or running runs can be cancelled",
            job.status
        )));
    }
    Ok(job)
}

/// Puts a failed or cancelled job back in the queue with fresh attempts; work already stored is
/// kept and skipped (every item has an idempotency key). Its chunks are planned again.
pub async fn retry(db: &impl ConnectionTrait, id: i64) -> Result<job::Model> {
    job_chunk::Entity::delete_many()
        .filter(job_chunk::Column::JobId.eq(id))
        .filter(
            job_chunk::Column::JobId.in_subquery(
                Query::select()
                    .column(job::Column::Id)
                    .from(job::Entity)
                    .and_where(job::Column::Id.eq(id))
                    .and_where(job::Column::Status.is_in([FAILED, CANCELLED]))
                    .to_owned(),
            ),
        )
        .exec(db)
        .await?;
    let result = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(QUEUED))
        .col_expr(job::Column::Attempts, Expr::value(0))
        .col_expr(job::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::FinishedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.is_in([FAILED, CANCELLED]))
        .exec(db)
        .await?;
    let job = get(db, id).await?;
    if result.rows_affected == 0 {
        return Err(StoreError::Conflict(format!(
            "run {id} is {}; only failed or cancelled runs can be retried",
            job.status
        )));
    }
    Ok(job)
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<job::Model> {
    job::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("run {id}")))
}

/// Adds warnings to a job (recorded on the run, shown in lists).
pub async fn add_warnings(db: &impl ConnectionTrait, id: i64, warnings: &[String]) -> Result<()> {
    if warnings.is_empty() {
        return Ok(());
    }
    let job = get(db, id).await?;
    let mut all: Vec<String> = serde_json::from_str(&job.warnings).unwrap_or_default();
    for w in warnings {
        if !all.contains(w) {
            all.push(w.clone());
        }
    }
    job::Entity::update_many()
        .col_expr(
            job::Column::Warnings,
            Expr::value(serde_json::to_string(&all).unwrap_or_else(|_| "[]".into())),
        )
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Sets a job's item total (known once the worker has resolved its inputs).
pub async fn set_total(db: &impl ConnectionTrait, id: i64, total: i64) -> Result<()> {
    job::Entity::update_many()
        .col_expr(job::Column::Total, Expr::value(total))
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A job as lists and the CLI show it, with tokens/s and ETA.
pub fn view(m: &job::Model, project: &str) -> RunView {
    let now = Utc::now();
    let elapsed = m
        .started_at
        .map(|s| (m.finished_at.unwrap_or(now) - s).num_milliseconds() as f64 / 1000.0)
        .filter(|&s| s > 0.0);
    let tokens_per_s = elapsed
        .filter(|_| m.tokens > 0)
        .map(|s| m.tokens as f64 / s);
    let eta_s = match (m.status.as_str(), elapsed) {
        (RUNNING, Some(s)) if m.done > 0 && m.total > m.done => {
            Some(s / m.done as f64 * (m.total - m.done) as f64)
        }
        _ => None,
    };
    let mut payload: serde_json::Value = serde_json::from_str(&m.payload).unwrap_or_default();
    // A build's input file travels in its payload; views show its size, never its text.
    if let Some(map) = payload.as_object_mut() {
        if let Some(serde_json::Value::String(input)) = map.remove("input") {
            map.insert("input_bytes".into(), input.len().into());
        }
        // A refusal check's labelled rows and a duel's item ids: views show how many.
        for (list, count) in [("rows", "row_count"), ("item_ids", "items")] {
            if let Some(serde_json::Value::Array(rows)) = map.remove(list) {
                map.insert(count.into(), rows.len().into());
            }
        }
    }
    RunView {
        id: m.id,
        project: project.to_owned(),
        kind: m.kind.clone(),
        status: m.status.clone(),
        done: m.done.max(0) as u64,
        total: m.total.max(0) as u64,
        tokens: m.tokens.max(0) as u64,
        tokens_per_s,
        eta_s,
        attempts: m.attempts,
        seed: payload.get("seed").and_then(serde_json::Value::as_u64),
        error: m.error.clone(),
        warnings: serde_json::from_str(&m.warnings).unwrap_or_default(),
        payload,
        summary: serde_json::from_str(&m.summary).unwrap_or_default(),
        created_at: rfc3339(&m.created_at),
        started_at: m.started_at.as_ref().map(rfc3339),
        finished_at: m.finished_at.as_ref().map(rfc3339),
    }
}

/// The newest runs first (of one project, or all), with their project names.
pub async fn list(
    db: &impl ConnectionTrait,
    project_id: Option<i64>,
    limit: u64,
) -> Result<Vec<RunView>> {
    let among = project_id.map(|p| std::collections::BTreeSet::from([p]));
    list_among(db, among.as_ref(), limit).await
}

/// The newest `limit` runs of the projects among `ids` (`None`: of every project).
pub async fn list_among(
    db: &impl ConnectionTrait,
    ids: Option<&std::collections::BTreeSet<i64>>,
    limit: u64,
) -> Result<Vec<RunView>> {
    let mut query = job::Entity::find()
        .order_by_desc(job::Column::Id)
        .limit(limit);
    if let Some(ids) = ids {
        query = query.filter(job::Column::ProjectId.is_in(ids.iter().copied()));
    }
    let jobs = query.all(db).await?;
    let names = project_names(db, &jobs).await?;
    Ok(jobs
        .iter()
        .map(|j| view(j, names.get(&j.project_id).map_or("", String::as_str)))
        .collect())
}

/// The names of the projects of `jobs`, by id (one query).
async fn project_names(
    db: &impl ConnectionTrait,
    jobs: &[job::Model],
) -> Result<std::collections::HashMap<i64, String>> {
    let ids: std::collections::BTreeSet<i64> = jobs.iter().map(|j| j.project_id).collect();
    Ok(project::Entity::find()
        .select_only()
        .column(project::Column::Id)
        .column(project::Column::Name)
        .filter(project::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// One run with its project name.
pub async fn show(db: &impl ConnectionTrait, id: i64) -> Result<RunView> {
    let job = get(db, id).await?;
    let project = project::Entity::find_by_id(job.project_id)
        .one(db)
        .await?
        .map(|p| p.name)
        .unwrap_or_default();
    Ok(view(&job, &project))
}

/// Chunk bounds over sorted, distinct prompt ids: at most `max` ranges `[lo, hi)` of about equal
/// size that together cover every id (the first starts at `i64::MIN`, the last ends at
/// `i64::MAX`, so a prompt id never falls between chunks).
pub fn chunk_bounds(prompt_ids: &[i64], max: usize) -> Vec<(i64, i64)> {
    let n = prompt_ids.len();
    if n == 0 {
        return Vec::new();
    }
    let chunks = n.min(max.max(1));
    let starts: Vec<usize> = (0..chunks).map(|k| k * n / chunks).collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, &start)| {
            let lo = if k == 0 { i64::MIN } else { prompt_ids[start] };
            let hi = starts.get(k + 1).map_or(i64::MAX, |&next| prompt_ids[next]);
            (lo, hi)
        })
        .collect()
}

/// Plans a run that `worker` holds by its own lease: stores its chunks (unless an earlier
/// holder already did) — the prompt ranges `bounds`, then the gold item range `gold` where the
/// run judges gold — and its item total, and releases the run's lease: from now on workers
/// claim its chunks. `false` when the run is no longer this worker's.
pub async fn split(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    bounds: &[(i64, i64)],
    gold: Option<(i64, i64)>,
    total: i64,
) -> Result<bool> {
    let existing = job_chunk::Entity::find()
        .filter(job_chunk::Column::JobId.eq(id))
        .count(db)
        .await?;
    let parts = bounds
        .iter()
        .map(|&b| (b, PART_PROMPTS))
        .chain(gold.map(|b| (b, PART_GOLD)));
    let chunks: Vec<job_chunk::ActiveModel> = parts
        .enumerate()
        .map(|(k, ((lo, hi), part))| job_chunk::ActiveModel {
            job_id: Set(id),
            idx: Set(k as i32),
            lo: Set(lo),
            hi: Set(hi),
            status: Set(PENDING.into()),
            lease_owner: Set(None),
            lease_expires_at: Set(None),
            attempts: Set(0),
            done: Set(0),
            tokens: Set(0),
            part: Set(part.into()),
        })
        .collect();
    if existing == 0 && !chunks.is_empty() {
        // One statement: a planner that dies leaves all chunks or none.
        job_chunk::Entity::insert_many(chunks)
            .exec_without_returning(db)
            .await?;
    }
    let result = job::Entity::update_many()
        .col_expr(job::Column::Total, Expr::value(total))
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(RUNNING))
        .filter(job::Column::LeaseOwner.eq(worker))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

fn chunk_runnable(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(job_chunk::Column::Status.eq(PENDING))
        .add(
            Condition::all()
                .add(job_chunk::Column::Status.eq(RUNNING))
                .add(job_chunk::Column::LeaseExpiresAt.lt(now)),
        )
}

/// Claims the first runnable chunk (pending, or running with an expired lease) of a running
/// run of one of `kinds` (of run `only` when given) for `worker`; `None` when there is none. A
/// chunk whose claims are spent fails its run instead of being claimed again.
pub async fn claim_chunk(
    db: &impl ConnectionTrait,
    worker: &str,
    lease: Duration,
    kinds: &[&str],
    only: Option<i64>,
) -> Result<Option<(job::Model, job_chunk::Model)>> {
    loop {
        let now = Utc::now();
        let mut running = Query::select()
            .column(job::Column::Id)
            .from(job::Entity)
            .and_where(job::Column::Status.eq(RUNNING))
            .and_where(job::Column::Kind.is_in(kinds.iter().copied()))
            .to_owned();
        if let Some(id) = only {
            running.and_where(job::Column::Id.eq(id));
        }
        let Some(chunk) = job_chunk::Entity::find()
            .filter(chunk_runnable(now))
            .filter(job_chunk::Column::JobId.in_subquery(running))
            .order_by_asc(job_chunk::Column::JobId)
            .order_by_asc(job_chunk::Column::Idx)
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let job = get(db, chunk.job_id).await?;
        if chunk.attempts >= job.max_attempts {
            fail(
                db,
                job.id,
                &format!(
                    "gave up after {} attempts at chunk {} (the worker stopped each time)",
                    chunk.attempts, chunk.idx
                ),
            )
            .await?;
            continue;
        }
        let result = job_chunk::Entity::update_many()
            .col_expr(job_chunk::Column::Status, Expr::value(RUNNING))
            .col_expr(job_chunk::Column::LeaseOwner, Expr::value(worker))
            .col_expr(job_chunk::Column::LeaseExpiresAt, Expr::value(now + lease))
            .col_expr(job_chunk::Column::Attempts, Expr::value(chunk.attempts + 1))
            .col_expr(job_chunk::Column::Done, Expr::value(0i64))
            .col_expr(job_chunk::Column::Tokens, Expr::value(0i64))
            .filter(job_chunk::Column::JobId.eq(chunk.job_id))
            .filter(job_chunk::Column::Idx.eq(chunk.idx))
            .filter(job_chunk::Column::Attempts.eq(chunk.attempts))
            .filter(chunk_runnable(now))
            .exec(db)
            .await?;
        if result.rows_affected == 1 {
            let chunk = job_chunk::Model {
                status: RUNNING.into(),
                lease_owner: Some(worker.into()),
                lease_expires_at: Some(now + lease),
                attempts: chunk.attempts + 1,
                done: 0,
                tokens: 0,
                ..chunk
            };
            return Ok(Some((job, chunk)));
        }
        // Another worker won this chunk; look again.
    }
}

/// The sum of a run's chunks' `column` (the run's own progress), as an expression.
fn chunk_sum(id: i64, column: job_chunk::Column) -> SimpleExpr {
    let select = Query::select()
        .expr(Func::coalesce([
            SimpleExpr::from(Func::sum(Expr::col(column))),
            Expr::val(0i64),
        ]))
        .from(job_chunk::Entity)
        .and_where(job_chunk::Column::JobId.eq(id))
        .to_owned();
    let sum = SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(select)));
    // PostgreSQL sums bigints as numeric; the run's columns are bigints.
    sea_orm::sea_query::ExprTrait::cast_as(sum, "BIGINT")
}

/// Renews `worker`'s lease on a chunk, records the chunk's progress and the run's (the sum of
/// its chunks'). `false`: the chunk or the run is no longer this worker's to process (the run was
/// cancelled or failed, or the chunk's lease lapsed and another worker took it) — stop at once.
pub async fn chunk_heartbeat(
    db: &impl ConnectionTrait,
    chunk: &job_chunk::Model,
    worker: &str,
    lease: Duration,
    done: i64,
    tokens: i64,
) -> Result<bool> {
    let now = Utc::now();
    let renewed = job_chunk::Entity::update_many()
        .col_expr(job_chunk::Column::LeaseExpiresAt, Expr::value(now + lease))
        .col_expr(job_chunk::Column::Done, Expr::value(done))
        .col_expr(job_chunk::Column::Tokens, Expr::value(tokens))
        .filter(job_chunk::Column::JobId.eq(chunk.job_id))
        .filter(job_chunk::Column::Idx.eq(chunk.idx))
        .filter(job_chunk::Column::Status.eq(RUNNING))
        .filter(job_chunk::Column::LeaseOwner.eq(worker))
        .exec(db)
        .await?;
    if renewed.rows_affected != 1 {
        return Ok(false);
    }
    let run = job::Entity::update_many()
        .col_expr(
            job::Column::Done,
            chunk_sum(chunk.job_id, job_chunk::Column::Done),
        )
        .col_expr(
            job::Column::Tokens,
            chunk_sum(chunk.job_id, job_chunk::Column::Tokens),
        )
        .col_expr(job::Column::HeartbeatAt, Expr::value(now))
        .filter(job::Column::Id.eq(chunk.job_id))
        .filter(job::Column::Status.eq(RUNNING))
        .exec(db)
        .await?;
    Ok(run.rows_affected == 1)
}

/// Marks a chunk that `worker` holds done; `Some(chunks of the run still not done)`, or `None`
/// when the chunk was no longer this worker's.
pub async fn chunk_done(
    db: &impl ConnectionTrait,
    chunk: &job_chunk::Model,
    worker: &str,
    done: i64,
    tokens: i64,
) -> Result<Option<u64>> {
    let result = job_chunk::Entity::update_many()
        .col_expr(job_chunk::Column::Status, Expr::value(DONE))
        .col_expr(job_chunk::Column::Done, Expr::value(done))
        .col_expr(job_chunk::Column::Tokens, Expr::value(tokens))
        .col_expr(
            job_chunk::Column::LeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            job_chunk::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(job_chunk::Column::JobId.eq(chunk.job_id))
        .filter(job_chunk::Column::Idx.eq(chunk.idx))
        .filter(job_chunk::Column::Status.eq(RUNNING))
        .filter(job_chunk::Column::LeaseOwner.eq(worker))
        .exec(db)
        .await?;
    if result.rows_affected != 1 {
        return Ok(None);
    }
    Ok(Some(chunks_left(db, chunk.job_id).await?))
}

/// `(done, tokens)` of a run: the sums of its chunks'.
pub async fn chunk_totals(db: &impl ConnectionTrait, id: i64) -> Result<(i64, i64)> {
    let chunks = job_chunk::Entity::find()
        .filter(job_chunk::Column::JobId.eq(id))
        .all(db)
        .await?;
    Ok(chunks
        .iter()
        .fold((0, 0), |(d, t), c| (d + c.done, t + c.tokens)))
}

/// Whether any run of `kinds` may still give a worker something to do: queued, or running and
/// not yet cut into chunks (its planner holds the run's own lease).
pub async fn work_ahead(db: &impl ConnectionTrait, kinds: &[&str]) -> Result<bool> {
    let pending = job::Entity::find()
        .filter(job::Column::Kind.is_in(kinds.iter().copied()))
        .filter(
            Condition::any().add(job::Column::Status.eq(QUEUED)).add(
                Condition::all()
                    .add(job::Column::Status.eq(RUNNING))
                    .add(job::Column::LeaseOwner.is_not_null()),
            ),
        )
        .count(db)
        .await?;
    Ok(pending > 0)
}

/// How many chunks of a run are not done.
pub async fn chunks_left(db: &impl ConnectionTrait, id: i64) -> Result<u64> {
    Ok(job_chunk::Entity::find()
        .filter(job_chunk::Column::JobId.eq(id))
        .filter(job_chunk::Column::Status.ne(DONE))
        .count(db)
        .await?)
}

/// Ends a running run whose chunks are all done, with its summary and progress (the sums of its
/// chunks'). Of several workers finishing at once, one call returns `true`.
pub async fn complete(
    db: &impl ConnectionTrait,
    id: i64,
    summary: &serde_json::Value,
) -> Result<bool> {
    let now = Utc::now();
    let result = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(DONE))
        .col_expr(job::Column::Summary, Expr::value(summary.to_string()))
        .col_expr(job::Column::Error, Expr::value(Option::<String>::None))
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .col_expr(job::Column::Done, chunk_sum(id, job_chunk::Column::Done))
        .col_expr(
            job::Column::Tokens,
            chunk_sum(id, job_chunk::Column::Tokens),
        )
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(RUNNING))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Fails a running run (an item could not be processed, or a chunk's claims are spent); the
/// workers on its other chunks stop at their next heartbeat.
pub async fn fail(db: &impl ConnectionTrait, id: i64, error: &str) -> Result<bool> {
    let now = Utc::now();
    let result = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(FAILED))
        .col_expr(job::Column::Error, Expr::value(error))
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .col_expr(job::Column::Done, chunk_sum(id, job_chunk::Column::Done))
        .col_expr(
            job::Column::Tokens,
            chunk_sum(id, job_chunk::Column::Tokens),
        )
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.eq(RUNNING))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The finished runs of `kind` in a project, newest first, with their payloads (a generation or
/// judge run's payload is small; build runs, whose payload holds the input, are another kind).
pub async fn finished_of_kind(
    db: &impl ConnectionTrait,
    project_id: i64,
    kind: &str,
) -> Result<Vec<job::Model>> {
    Ok(job::Entity::find()
        .filter(job::Column::ProjectId.eq(project_id))
        .filter(job::Column::Kind.eq(kind))
        .filter(job::Column::Status.eq(DONE))
        .order_by_desc(job::Column::Id)
        .all(db)
        .await?)
}

/// The finished runs of `kind` in the projects `ids` (every project: `None`), oldest first,
/// each with its project's name.
pub async fn finished_of_kind_among(
    db: &impl ConnectionTrait,
    ids: Option<&std::collections::BTreeSet<i64>>,
    kind: &str,
) -> Result<Vec<(job::Model, String)>> {
    let mut query = job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .filter(job::Column::Status.eq(DONE))
        .order_by_asc(job::Column::Id);
    if let Some(ids) = ids {
        query = query.filter(job::Column::ProjectId.is_in(ids.iter().copied()));
    }
    let jobs = query.all(db).await?;
    let names = project_names(db, &jobs).await?;
    Ok(jobs
        .into_iter()
        .map(|j| {
            let name = names.get(&j.project_id).cloned().unwrap_or_default();
            (j, name)
        })
        .collect())
}

/// Every run of `kind` in a project, newest first, whatever its status.
pub async fn of_kind(
    db: &impl ConnectionTrait,
    project_id: i64,
    kind: &str,
) -> Result<Vec<job::Model>> {
    Ok(job::Entity::find()
        .filter(job::Column::ProjectId.eq(project_id))
        .filter(job::Column::Kind.eq(kind))
        .order_by_desc(job::Column::Id)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_prompt_id_once() {
        let ids: Vec<i64> = (1..=10).map(|i| i * 3).collect();
        let bounds = chunk_bounds(&ids, 4);
        assert_eq!(bounds.len(), 4);
        assert_eq!(bounds[0].0, i64::MIN);
        assert_eq!(bounds[3].1, i64::MAX);
        for w in bounds.windows(2) {
            assert_eq!(w[0].1, w[1].0, "contiguous");
        }
        // Every id (and any id between them) falls in exactly one chunk.
        for id in -5..40 {
            let hits = bounds
                .iter()
                .filter(|(lo, hi)| *lo <= id && id < *hi)
                .count();
            assert_eq!(hits, 1, "{id}");
        }
        let sizes: Vec<usize> = bounds
            .iter()
            .map(|(lo, hi)| ids.iter().filter(|i| *lo <= **i && **i < *hi).count())
            .collect();
        assert_eq!(sizes, [2, 3, 2, 3]);
        assert_eq!(chunk_bounds(&ids[..2], 64).len(), 2);
        assert!(chunk_bounds(&[], 8).is_empty());
    }
}
