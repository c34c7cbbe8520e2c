//! Safety evaluation answers: one row per (run, prompt), so a resumed run skips the prompts
//! already answered; the run's figures are read back from them.

use crate::{entities::eval_answer, error::Result};
use pairwise_core::{eval::EvalAnswer, refusal::RefusalLabel};
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use std::collections::HashSet;

/// One answered prompt as the worker hands it over.
#[derive(Debug, Clone)]
pub struct NewAnswer {
    pub project_id: i64,
    pub job_id: i64,
    pub prompt_id: i64,
    pub harmful: bool,
    pub answer: String,
    pub label: RefusalLabel,
    pub score: Option<f64>,
    pub tokens: i64,
}

/// Stores an answer; one already stored for the same (run, prompt) is kept (a resumed run).
pub async fn store(db: &impl ConnectionTrait, new: NewAnswer) -> Result<()> {
    let row = eval_answer::ActiveModel {
        project_id: Set(new.project_id),
        job_id: Set(new.job_id),
        prompt_id: Set(new.prompt_id),
        harmful: Set(new.harmful),
        answer: Set(new.answer),
        label: Set(new.label.as_str().to_owned()),
        score: Set(new.score),
        tokens: Set(new.tokens),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    eval_answer::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([eval_answer::Column::JobId, eval_answer::Column::PromptId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Prompt ids of `[lo, hi)` this run has answered.
pub async fn done_prompts(
    db: &impl ConnectionTrait,
    job_id: i64,
    (lo, hi): (i64, i64),
) -> Result<HashSet<i64>> {
    Ok(eval_answer::Entity::find()
        .select_only()
        .column(eval_answer::Column::PromptId)
        .filter(eval_answer::Column::JobId.eq(job_id))
        .filter(eval_answer::Column::PromptId.gte(lo))
        .filter(eval_answer::Column::PromptId.lt(hi))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Every answer of a run, as the figures read them.
pub async fn answers(db: &impl ConnectionTrait, job_id: i64) -> Result<Vec<EvalAnswer>> {
    let rows: Vec<(bool, String, Option<f64>)> = eval_answer::Entity::find()
        .select_only()
        .column(eval_answer::Column::Harmful)
        .column(eval_answer::Column::Label)
        .column(eval_answer::Column::Score)
        .filter(eval_answer::Column::JobId.eq(job_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(harmful, label, score)| EvalAnswer {
            harmful,
            label: label.parse().unwrap_or(RefusalLabel::FullCompliance),
            score,
        })
        .collect())
}

/// A run's answers in prompt order (prompt id, harmful, answer, label, score).
pub async fn rows(
    db: &impl ConnectionTrait,
    job_id: i64,
    limit: u64,
) -> Result<Vec<eval_answer::Model>> {
    use sea_orm::QueryOrder;
    Ok(eval_answer::Entity::find()
        .filter(eval_answer::Column::JobId.eq(job_id))
        .order_by_asc(eval_answer::Column::PromptId)
        .limit(limit)
        .all(db)
        .await?)
}

/// A run's answers to `prompt_ids`: prompt id → answer.
pub async fn answers_to(
    db: &impl ConnectionTrait,
    job_id: i64,
    prompt_ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = eval_answer::Entity::find()
        .select_only()
        .column(eval_answer::Column::PromptId)
        .column(eval_answer::Column::Answer)
        .filter(eval_answer::Column::JobId.eq(job_id))
        .filter(eval_answer::Column::PromptId.is_in(prompt_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
