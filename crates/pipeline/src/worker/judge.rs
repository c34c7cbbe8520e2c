//! Judge runs: the items of a run (candidates, or neighbouring pairs), judging each with the
//! generative or reward judge, and the summary of a finished run.

use super::{
    payload,
    prompts::{messages_of, request_text},
    verdicts::{judge_json, judge_pairwise, judge_prob, merge, Backend, TokenIds},
    Progress, Worker,
};
use crate::{
    error::{PipelineError, Result},
    runs::JudgePayload,
};
use pairwise_core::{annotation, judge::JudgeMode};
use pairwise_inference::chat_template::Message;
use pairwise_store::{
    candidates,
    entities::{candidate, job, prompt},
    judgments::{self, NewJudgment},
    prompts, rubrics, runs,
};
use std::{
    collections::{BTreeMap, HashMap},
    sync::{atomic::Ordering, Arc, Mutex},
};

impl Worker {
    pub(super) async fn judge(&mut self, job: &job::Model, progress: &Progress) -> Result<String> {
        let payload: JudgePayload = payload(job)?;
        let rubric = rubrics::get(&self.db, payload.rubric_id).await?;
        let mut spec = rubrics::spec_of(&rubric)?;
        spec.length_control = payload.length_controlled;
        if payload.mode == JudgeMode::Reward {
            return self.judge_reward(job, progress, &payload, &rubric).await;
        }
        let engine = self.backend(&payload.model).await?;
        let version = engine.version()?;
        let stored = candidates::for_runs_in(
            &self.db,
            job.project_id,
            &payload.generation_runs,
            progress.range(),
        )
        .await?;
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
        let done_keys = judgments::stored_keys(&self.db, job.id, progress.range()).await?;
        let resumed = items.iter().filter(|i| done_keys.contains(&i.key)).count();
        progress.done.store(resumed as i64, Ordering::SeqCst);
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
            let base = NewJudgment {
                project_id: job.project_id,
                job_id: job.id,
                rubric_id: rubric.id,
                mode: payload.mode.as_str().into(),
                item_key: item.key.clone(),
                candidate_id: item.first,
                other_candidate_id: item.second,
                judge_version: version.clone(),
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
            self.advance(progress, 1, tokens).await?;
        }
        if let Backend::Remote(remote) = &engine {
            if payload.mode == JudgeMode::Json && remote.schema_refused() {
                runs::add_warnings(
                    &self.db,
                    job.id,
                    &[
                        "the model server refused a response_format JSON schema: verdicts were \
                       parsed from free text (with one stricter retry)"
                            .to_owned(),
                    ],
                )
                .await?;
            }
        }
        Ok(version)
    }

    /// The summary of a finished judge run: its rates and what it judged with.
    pub(super) async fn judge_summary(
        &self,
        job: &job::Model,
        version: Option<String>,
    ) -> Result<serde_json::Value> {
        let payload: JudgePayload = payload(job)?;
        let rubric = rubrics::get(&self.db, payload.rubric_id).await?;
        let candidates =
            candidates::count_for_runs(&self.db, job.project_id, &payload.generation_runs).await?;
        let stats = judgments::stats(&self.db, job.id).await?;
        let mut summary = serde_json::to_value(stats).unwrap_or_default();
        if let Some(object) = summary.as_object_mut() {
            object.insert("mode".into(), payload.mode.as_str().into());
            object.insert(
                "rubric".into(),
                format!("{}@{}", rubric.name, rubric.version).into(),
            );
            object.insert(
                "judge_version".into(),
                version.unwrap_or(payload.model.version).into(),
            );
            object.insert("candidates".into(), candidates.into());
            object.insert("length_controlled".into(), payload.length_controlled.into());
            // How much the scores follow answer length: compare a length-controlled run with a
            // plain one of the same candidates.
            let scored = judgments::scores_with_lengths(&self.db, job.id).await?;
            let (scores, lengths): (Vec<f64>, Vec<f64>) =
                scored.into_iter().map(|(s, l)| (s, l as f64)).unzip();
            object.insert(
                "length_score_correlation".into(),
                pairwise_core::leaderboard::pearson(&scores, &lengths).into(),
            );
            // The judge against the project's gold items it also judged (kept out of pairs).
            let verdicts = judgments::gold::of_run(&self.db, job.id).await?;
            if !verdicts.is_empty() {
                let pairs: Vec<(&str, &str)> = verdicts
                    .iter()
                    .map(|(l, g)| {
                        (
                            l.as_deref().unwrap_or(annotation::drift::UNREAD),
                            g.as_str(),
                        )
                    })
                    .collect();
                let (n, accuracy, kappa) = annotation::drift::against_gold(&pairs);
                object.insert(
                    "gold".into(),
                    serde_json::json!({"n": n, "accuracy": accuracy, "kappa": kappa}),
                );
            }
        }
        Ok(summary)
    }

    /// Reward-model scoring: one scalar per (prompt, answer) from a sequence classifier, stored as
    /// a judgment with `scores = {"reward": logit}` and `overall = logit` under the run's rubric
    /// version (for grouping; the classifier itself ignores the rubric text).
    async fn judge_reward(
        &mut self,
        job: &job::Model,
        progress: &Progress,
        payload: &JudgePayload,
        rubric: &pairwise_store::entities::rubric::Model,
    ) -> Result<String> {
        let (model, version) = self.reward_model(payload).await?;
        let stored = candidates::for_runs_in(
            &self.db,
            job.project_id,
            &payload.generation_runs,
            progress.range(),
        )
        .await?;
        let ids: Vec<i64> = stored.iter().map(|c| c.prompt_id).collect();
        let loaded: HashMap<i64, prompt::Model> = prompts::get_many(&self.db, &ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let done_keys = judgments::stored_keys(&self.db, job.id, progress.range()).await?;
        let resumed = stored
            .iter()
            .filter(|c| done_keys.contains(&format!("c{}", c.id)))
            .count();
        progress.done.store(resumed as i64, Ordering::SeqCst);
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
            let score = reward_scores(&model, conversation, vec![c.text.clone()]).await?;
            let logit = f64::from(score.first().copied().unwrap_or(f32::NAN));
            let finite = logit.is_finite();
            let row = NewJudgment {
                project_id: job.project_id,
                job_id: job.id,
                rubric_id: rubric.id,
                mode: JudgeMode::Reward.as_str().into(),
                item_key: key,
                candidate_id: c.id,
                scores: finite.then(|| BTreeMap::from([("reward".to_owned(), logit)])),
                overall: finite.then_some(logit),
                parse_ok: finite,
                attempts: 1,
                raw_output: format!("{logit}"),
                judge_version: version.clone(),
                ..Default::default()
            };
            judgments::insert(&self.db, vec![row]).await?;
            self.advance(progress, 1, 0).await?;
        }
        Ok(version)
    }
}

impl Worker {
    /// Loads the run's reward model, with its version. A reward model is used for one run; the
    /// decoder cache is left as it is.
    pub(super) async fn reward_model(
        &self,
        payload: &JudgePayload,
    ) -> Result<(SharedReward, String)> {
        let (path, device, threads) = (
            payload.model.path.clone(),
            payload.model.device(),
            self.options.threads,
        );
        let model = tokio::task::spawn_blocking(move || {
            pairwise_inference::RewardModel::load(&path, device, threads)
        })
        .await
        .map_err(|e| PipelineError::Internal(e.to_string()))??;
        let version = model.version().to_owned();
        Ok((Arc::new(Mutex::new(model)), version))
    }
}

/// A loaded reward model shared with the blocking tasks that score with it.
pub(super) type SharedReward = Arc<Mutex<pairwise_inference::RewardModel>>;

/// The reward model's scalar for each answer to the conversation.
pub(super) async fn reward_scores(
    model: &SharedReward,
    conversation: Vec<Message>,
    answers: Vec<String>,
) -> Result<Vec<f32>> {
    let shared = model.clone();
    tokio::task::spawn_blocking(move || {
        let mut m = shared
            .lock()
            .map_err(|_| PipelineError::Internal("a previous reward call panicked".into()))?;
        m.score(&conversation, &answers)
            .map_err(PipelineError::from)
    })
    .await
    .map_err(|e| PipelineError::Internal(e.to_string()))?
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
