//! Generated candidates: stored per prompt in one statement that skips (job, prompt, index)
//! keys already present, so a resumed run never duplicates a candidate; and the candidate
//! browser's view of a prompt with every candidate and its judgments.

use crate::{
    entities::{candidate, judgment, prompt, rubric},
    error::{Result, StoreError},
};
use pairwise_core::dto::{CandidateScore, CandidateView, PairwiseView, PromptCandidates};
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use std::collections::{BTreeSet, HashMap};

/// A generated candidate as the worker hands it over; store builds the row.
#[derive(Debug, Clone)]
pub struct NewCandidate {
    pub project_id: i64,
    pub job_id: i64,
    pub prompt_id: i64,
    /// conservative, diverse or adversarial.
    pub path: String,
    pub idx: i32,
    /// The transform's versioned id (adversarial path).
    pub transform: Option<String>,
    pub text: String,
    /// Every decoding parameter, as the JSON object the sampler used.
    pub params: String,
    pub seed: u64,
    pub model_version: String,
    pub provider: String,
    pub finish_reason: String,
    pub token_count: i32,
    /// Mean per-token log-prob; a non-finite value is stored as 0.
    pub mean_logprob: f64,
    pub prefill_ms: f64,
    pub decode_ms: f64,
}

/// Inserts candidates, skipping keys that exist; returns how many were new.
pub async fn insert(db: &impl ConnectionTrait, new: Vec<NewCandidate>) -> Result<u64> {
    if new.is_empty() {
        return Ok(0);
    }
    let now = chrono::Utc::now();
    let rows = new.into_iter().map(|c| candidate::ActiveModel {
        project_id: Set(c.project_id),
        job_id: Set(c.job_id),
        prompt_id: Set(c.prompt_id),
        path: Set(c.path),
        idx: Set(c.idx),
        transform: Set(c.transform),
        text: Set(c.text),
        params: Set(c.params),
        seed: Set(c.seed.to_string()),
        model_version: Set(c.model_version),
        provider: Set(c.provider),
        finish_reason: Set(c.finish_reason),
        token_count: Set(c.token_count),
        mean_logprob: Set(if c.mean_logprob.is_finite() {
            c.mean_logprob
        } else {
            0.0
        }),
        prefill_ms: Set(c.prefill_ms),
        decode_ms: Set(c.decode_ms),
        created_at: Set(now),
        ..Default::default()
    });
    Ok(candidate::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                candidate::Column::JobId,
                candidate::Column::PromptId,
                candidate::Column::Idx,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?)
}

/// Indices already stored for one prompt of a run.
pub async fn stored_indices(
    db: &impl ConnectionTrait,
    job_id: i64,
    prompt_id: i64,
) -> Result<BTreeSet<i32>> {
    Ok(candidate::Entity::find()
        .select_only()
        .column(candidate::Column::Idx)
        .filter(candidate::Column::JobId.eq(job_id))
        .filter(candidate::Column::PromptId.eq(prompt_id))
        .into_tuple::<i32>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

pub async fn count_for_job(db: &impl ConnectionTrait, job_id: i64) -> Result<u64> {
    Ok(candidate::Entity::find()
        .filter(candidate::Column::JobId.eq(job_id))
        .count(db)
        .await?)
}

/// Refusals among a generation run's candidates, by the rule-based classifier: `(refusals,
/// templated refusals)` — a templated one gives no reason or no safe alternative. Read a page of
/// texts at a time.
pub async fn refusals_of_job(db: &impl ConnectionTrait, job_id: i64) -> Result<(u64, u64)> {
    const PAGE: u64 = 2000;
    let (mut refusals, mut templated, mut after) = (0, 0, i64::MIN);
    loop {
        let page: Vec<(i64, String)> = candidate::Entity::find()
            .select_only()
            .column(candidate::Column::Id)
            .column(candidate::Column::Text)
            .filter(candidate::Column::JobId.eq(job_id))
            .filter(candidate::Column::Id.gt(after))
            .order_by_asc(candidate::Column::Id)
            .limit(PAGE)
            .into_tuple()
            .all(db)
            .await?;
        for (_, text) in &page {
            if pairwise_core::refusal::refuses(text) {
                refusals += 1;
                templated += u64::from(pairwise_core::refusal::is_templated_refusal(text));
            }
        }
        match page.last() {
            Some((id, _)) if page.len() as u64 == PAGE => after = *id,
            _ => return Ok((refusals, templated)),
        }
    }
}

/// Every candidate of the given generation runs (or of the whole project), by prompt and index.
pub async fn for_runs(
    db: &impl ConnectionTrait,
    project_id: i64,
    runs: &[i64],
) -> Result<Vec<candidate::Model>> {
    for_runs_in(db, project_id, runs, (i64::MIN, i64::MAX)).await
}

/// The candidates of [`for_runs`] whose prompt id lies in `[lo, hi)` (one chunk of a run).
pub async fn for_runs_in(
    db: &impl ConnectionTrait,
    project_id: i64,
    runs: &[i64],
    (lo, hi): (i64, i64),
) -> Result<Vec<candidate::Model>> {
    let mut query = candidate::Entity::find()
        .filter(candidate::Column::ProjectId.eq(project_id))
        .filter(candidate::Column::PromptId.gte(lo))
        .filter(candidate::Column::PromptId.lt(hi))
        .order_by_asc(candidate::Column::PromptId)
        .order_by_asc(candidate::Column::JobId)
        .order_by_asc(candidate::Column::Idx);
    if !runs.is_empty() {
        query = query.filter(candidate::Column::JobId.is_in(runs.iter().copied()));
    }
    Ok(query.all(db).await?)
}

/// `(prompt id, candidates)` of the given generation runs (or of the whole project), in prompt
/// id order: what a judge or reference run is planned from, counted in the database.
pub async fn count_by_prompt(
    db: &impl ConnectionTrait,
    project_id: i64,
    runs: &[i64],
) -> Result<Vec<(i64, i64)>> {
    let mut query = candidate::Entity::find()
        .select_only()
        .column(candidate::Column::PromptId)
        .column_as(
            sea_orm::sea_query::Expr::from(sea_orm::sea_query::Func::count(
                sea_orm::sea_query::Expr::col(candidate::Column::Id),
            )),
            "n",
        )
        .filter(candidate::Column::ProjectId.eq(project_id))
        .group_by(candidate::Column::PromptId)
        .order_by_asc(candidate::Column::PromptId);
    if !runs.is_empty() {
        query = query.filter(candidate::Column::JobId.is_in(runs.iter().copied()));
    }
    Ok(query.into_tuple::<(i64, i64)>().all(db).await?)
}

/// How many candidates the given generation runs (or the whole project) have.
pub async fn count_for_runs(
    db: &impl ConnectionTrait,
    project_id: i64,
    runs: &[i64],
) -> Result<u64> {
    let mut query = candidate::Entity::find().filter(candidate::Column::ProjectId.eq(project_id));
    if !runs.is_empty() {
        query = query.filter(candidate::Column::JobId.is_in(runs.iter().copied()));
    }
    Ok(query.count(db).await?)
}

/// The model version and provider a run's candidates record (its first stored candidate's).
pub async fn provenance_of_job(
    db: &impl ConnectionTrait,
    job_id: i64,
) -> Result<Option<(String, String)>> {
    Ok(candidate::Entity::find()
        .select_only()
        .column(candidate::Column::ModelVersion)
        .column(candidate::Column::Provider)
        .filter(candidate::Column::JobId.eq(job_id))
        .order_by_asc(candidate::Column::Id)
        .into_tuple::<(String, String)>()
        .one(db)
        .await?)
}

/// How many of the given runs' candidates carry a reference score of `version`.
pub async fn count_scored(
    db: &impl ConnectionTrait,
    project_id: i64,
    runs: &[i64],
    version: &str,
) -> Result<u64> {
    let mut query = candidate::Entity::find()
        .filter(candidate::Column::ProjectId.eq(project_id))
        .filter(candidate::Column::RefModelVersion.eq(version));
    if !runs.is_empty() {
        query = query.filter(candidate::Column::JobId.is_in(runs.iter().copied()));
    }
    Ok(query.count(db).await?)
}

/// Records a reference-model mean log-prob on a candidate.
pub async fn set_reference(
    db: &impl ConnectionTrait,
    id: i64,
    mean_logprob: f64,
    version: &str,
) -> Result<()> {
    use sea_orm::sea_query::Expr;
    candidate::Entity::update_many()
        .col_expr(candidate::Column::RefLogprob, Expr::value(mean_logprob))
        .col_expr(candidate::Column::RefModelVersion, Expr::value(version))
        .filter(candidate::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ids of a project's prompts that have candidates, in id order (for the browser's paging).
pub async fn prompts_with_candidates(
    db: &impl ConnectionTrait,
    project_id: i64,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<i64>)> {
    let base = candidate::Entity::find()
        .select_only()
        .column(candidate::Column::PromptId)
        .distinct()
        .filter(candidate::Column::ProjectId.eq(project_id));
    // Counted in the database (a COUNT over the distinct ids), not by loading them all.
    let total = base.clone().count(db).await?;
    if offset >= total {
        return Ok((total, Vec::new()));
    }
    let ids = base
        .order_by_asc(candidate::Column::PromptId)
        .offset(offset)
        .limit(limit)
        .into_tuple::<i64>()
        .all(db)
        .await?;
    Ok((total, ids))
}

/// One prompt with all its candidates side by side and every judgment of them (each labelled
/// with its rubric version, never merged across versions).
pub async fn for_prompt(
    db: &impl ConnectionTrait,
    project_id: i64,
    prompt_id: i64,
) -> Result<PromptCandidates> {
    let p = prompt::Entity::find_by_id(prompt_id)
        .filter(prompt::Column::ProjectId.eq(project_id))
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("prompt {prompt_id}")))?;
    let rows = candidate::Entity::find()
        .filter(candidate::Column::PromptId.eq(prompt_id))
        .order_by_asc(candidate::Column::JobId)
        .order_by_asc(candidate::Column::Idx)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let judgments = judgment::Entity::find()
        .filter(judgment::Column::CandidateId.is_in(ids.iter().copied()))
        .order_by_asc(judgment::Column::Id)
        .all(db)
        .await?;
    let rubric_ids: BTreeSet<i64> = judgments.iter().map(|j| j.rubric_id).collect();
    let rubrics: HashMap<i64, rubric::Model> = rubric::Entity::find()
        .filter(rubric::Column::Id.is_in(rubric_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let label = |id: i64| {
        rubrics
            .get(&id)
            .map_or((String::new(), 0), |r| (r.name.clone(), r.version))
    };
    let mut scores: HashMap<i64, Vec<CandidateScore>> = HashMap::new();
    let mut pairwise = Vec::new();
    for j in &judgments {
        let (rubric, rubric_version) = label(j.rubric_id);
        match j.other_candidate_id {
            Some(other) => pairwise.push(PairwiseView {
                run_id: j.job_id,
                rubric,
                rubric_version,
                first: j.candidate_id,
                second: other,
                winner_ab: j.winner_ab.clone().unwrap_or_default(),
                winner_ba: j.winner_ba.clone().unwrap_or_default(),
                consistent: j.consistent.unwrap_or(false),
                needs_review: j.needs_review,
            }),
            None => scores
                .entry(j.candidate_id)
                .or_default()
                .push(CandidateScore {
                    run_id: j.job_id,
                    rubric,
                    rubric_version,
                    mode: j.mode.clone(),
                    scores: j
                        .scores
                        .as_deref()
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or(serde_json::Value::Null),
                    overall: j.overall,
                    parse_ok: j.parse_ok,
                }),
        }
    }
    let candidates = rows
        .into_iter()
        .map(|c| CandidateView {
            scores: scores.remove(&c.id).unwrap_or_default(),
            id: c.id,
            run_id: c.job_id,
            prompt_id: c.prompt_id,
            path: c.path,
            index: c.idx,
            transform: c.transform,
            text: c.text,
            params: serde_json::from_str(&c.params).unwrap_or_default(),
            seed: c.seed,
            model_version: c.model_version,
            provider: c.provider,
            finish_reason: c.finish_reason,
            token_count: c.token_count,
            mean_logprob: c.mean_logprob,
            ref_logprob: c.ref_logprob,
            decode_ms: c.decode_ms,
        })
        .collect();
    Ok(PromptCandidates {
        prompt: crate::prompts::view(p)?,
        candidates,
        pairwise,
    })
}

/// What a leaderboard needs of a candidate: no text.
#[derive(Debug, Clone, PartialEq, sea_orm::FromQueryResult)]
pub struct CandidateKey {
    pub id: i64,
    pub prompt_id: i64,
    /// The generation run.
    pub job_id: i64,
    pub path: String,
    pub transform: Option<String>,
}

/// Every candidate of a project, without texts.
pub async fn keys(db: &impl ConnectionTrait, project_id: i64) -> Result<Vec<CandidateKey>> {
    use sea_orm::QuerySelect;
    Ok(candidate::Entity::find()
        .select_only()
        .columns([
            candidate::Column::Id,
            candidate::Column::PromptId,
            candidate::Column::JobId,
            candidate::Column::Path,
            candidate::Column::Transform,
        ])
        .filter(candidate::Column::ProjectId.eq(project_id))
        .into_model::<CandidateKey>()
        .all(db)
        .await?)
}
