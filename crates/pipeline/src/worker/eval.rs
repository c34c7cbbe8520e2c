//! Safety evaluation runs: per prompt, the model answers greedily; the refusal classifier reads
//! the answer; on a benign prompt, a judge (where the run has one) scores it with the rubric's
//! probability-weighted ratings. Each answer is stored as it is made, so a resumed run
//! continues after the prompts already answered; the summary is read back from the stored ones.

use super::{
    payload,
    prompts::{messages_of, request_text},
    storable,
    verdicts::{judge_prob, TokenIds},
    Progress, Worker,
};
use crate::{error::Result, runs::EvalPayload};
use pairwise_core::{eval::figures, generation::candidate_seed, judge::JudgeMode, refusal};
use pairwise_inference::DecodingParams;
use pairwise_store::{
    entities::{job, prompt},
    evals::{self, NewAnswer},
    prompts, rubrics,
};
use std::collections::{HashMap, HashSet};

impl Worker {
    /// Answers the chunk's prompts not answered yet; returns the model's version.
    pub(super) async fn evaluate(
        &mut self,
        job: &job::Model,
        progress: &Progress,
    ) -> Result<String> {
        let payload: EvalPayload = payload(job)?;
        let done = evals::done_prompts(&self.db, job.id, progress.range()).await?;
        let todo = progress.pending(&payload.prompt_ids, &done);
        if todo.is_empty() {
            return Ok(payload.model.version.clone());
        }
        let harmful: HashSet<i64> = payload.harmful_ids.iter().copied().collect();
        // The judge first: with one local model each, the evaluated model is the cached engine.
        let judge = match (&payload.judge, payload.rubric_id) {
            (Some(model), Some(rubric_id)) => {
                let backend = self.backend(model).await?;
                let ids = TokenIds::find(&backend, JudgeMode::Prob)?;
                let spec = rubrics::spec_of(&rubrics::get(&self.db, rubric_id).await?)?;
                Some((backend, ids, spec))
            }
            _ => None,
        };
        let model = self.backend(&payload.model).await?;
        for chunk in todo.chunks(64) {
            let loaded: HashMap<i64, prompt::Model> = prompts::get_many(&self.db, chunk)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
            for prompt_id in chunk {
                progress.check()?;
                let Some(prompt) = loaded.get(prompt_id) else {
                    self.advance(progress, 1, 0).await?;
                    continue;
                };
                let is_harmful = harmful.contains(prompt_id);
                let work = async {
                    let params = DecodingParams {
                        max_new_tokens: payload.max_new_tokens,
                        seed: candidate_seed(payload.seed, prompt.id, 0),
                        ..DecodingParams::greedy(payload.max_new_tokens)
                    };
                    let (answer, _, tokens) = model.complete(messages_of(prompt), params).await?;
                    let answer = storable(answer.trim().to_owned());
                    let score = match (&judge, is_harmful) {
                        (Some((backend, ids, spec)), false) => {
                            let row =
                                judge_prob(backend, spec, ids, &request_text(prompt), &answer)
                                    .await?;
                            row.overall
                        }
                        _ => None,
                    };
                    Ok::<_, crate::PipelineError>((answer, score, tokens))
                };
                let (answer, score, tokens) = progress.stoppable(work).await?;
                let new = NewAnswer {
                    project_id: job.project_id,
                    job_id: job.id,
                    prompt_id: prompt.id,
                    harmful: is_harmful,
                    label: refusal::classify(&answer),
                    answer,
                    score,
                    tokens,
                };
                evals::store(&self.db, new).await?;
                self.advance(progress, 1, tokens).await?;
            }
        }
        Ok(payload.model.version.clone())
    }

    /// The figures of a finished evaluation run, read from its stored answers.
    pub(super) async fn eval_summary(&self, job: &job::Model) -> Result<serde_json::Value> {
        let answers = evals::answers(&self.db, job.id).await?;
        serde_json::to_value(figures(&answers))
            .map_err(|e| crate::PipelineError::Internal(e.to_string()))
    }
}
