//! A judge run's gold part: the same judge, rubric version and mode judge the project's gold
//! items (both answers, or the pair in both orders), and the verdict is stored in the item's x/y
//! terms apart from the judgments pairs are built from — what /calibration compares with gold.

use super::{
    judge::{reward_scores, SharedReward},
    payload,
    prompts::conversation,
    verdicts::{judge_json, judge_pairwise, judge_prob, Backend, JudgedRow, TokenIds},
    Progress, Worker,
};
use crate::{error::Result, runs::JudgePayload};
use pairwise_core::{
    annotation::drift::{label_from_orders, label_from_scores},
    judge::JudgeMode,
    rubric::RubricSpec,
};
use pairwise_inference::chat_template::Message;
use pairwise_store::{
    entities::{comparison, job},
    judgments::gold::{self, NewGoldJudgment},
    rubrics,
};
use std::sync::atomic::Ordering;

/// What judges the gold part: the run's judge model (with the label tokens its mode reads), or
/// its reward model.
enum GoldJudge {
    Model(Backend, Option<TokenIds>),
    Reward(SharedReward),
}

/// A gold item's verdict: label, the two answers' scores (pointwise modes), raw output, tokens.
struct Verdict {
    label: Option<&'static str>,
    scores: (Option<f64>, Option<f64>),
    raw: String,
    tokens: i64,
}

impl Worker {
    /// Judges the gold items of the chunk's range that are gold now; resumes after the ones
    /// the run has stored. Returns the judge's version.
    pub(super) async fn judge_gold(
        &mut self,
        job: &job::Model,
        progress: &Progress,
    ) -> Result<String> {
        let payload: JudgePayload = payload(job)?;
        let rubric = rubrics::get(&self.db, payload.rubric_id).await?;
        let mut spec = rubrics::spec_of(&rubric)?;
        spec.length_control = payload.length_controlled;
        let items = gold::items(&self.db, job.project_id, progress.range()).await?;
        let done = gold::judged(&self.db, job.id).await?;
        let resumed = items.iter().filter(|c| done.contains(&c.id)).count();
        progress.done.store(resumed as i64, Ordering::SeqCst);
        let (judge, version) = if payload.mode == JudgeMode::Reward {
            let (model, version) = self.reward_model(&payload).await?;
            (GoldJudge::Reward(model), version)
        } else {
            let backend = self.backend(&payload.model).await?;
            let version = backend.version()?;
            let ids = match payload.mode {
                JudgeMode::Prob | JudgeMode::Pairwise => {
                    Some(TokenIds::find(&backend, payload.mode)?)
                }
                _ => None,
            };
            (GoldJudge::Model(backend, ids), version)
        };
        for item in items.iter().filter(|c| !done.contains(&c.id)) {
            progress.check()?;
            let v = verdict(&judge, &spec, &payload, item).await?;
            gold::insert(
                &self.db,
                NewGoldJudgment {
                    project_id: job.project_id,
                    job_id: job.id,
                    comparison_id: item.id,
                    rubric_id: rubric.id,
                    mode: payload.mode.as_str().into(),
                    judge_version: version.clone(),
                    label: v.label.map(str::to_owned),
                    score_x: v.scores.0,
                    score_y: v.scores.1,
                    raw_output: super::storable(v.raw),
                },
            )
            .await?;
            self.advance(progress, 1, v.tokens).await?;
        }
        Ok(version)
    }
}

/// The judge's verdict on one gold item, in its x/y terms.
async fn verdict(
    judge: &GoldJudge,
    spec: &RubricSpec,
    payload: &JudgePayload,
    item: &comparison::Model,
) -> Result<Verdict> {
    let (x, y) = (item.answer_x.as_str(), item.answer_y.as_str());
    let request = item.prompt_text.as_str();
    let pointwise = |rx: JudgedRow, ry: JudgedRow, tokens: i64| {
        let scores = (rx.overall, ry.overall);
        Verdict {
            label: label_from_scores(scores.0, scores.1),
            scores,
            raw: format!("x: {}\n---\ny: {}", rx.raw_output, ry.raw_output),
            tokens,
        }
    };
    Ok(match (judge, payload.mode) {
        (GoldJudge::Reward(model), _) => {
            let conversation: Vec<Message> = conversation(Some(&item.prompt), &item.prompt_text)
                .into_iter()
                .map(|m| Message::new(m.role, m.content))
                .collect();
            let scores =
                reward_scores(model, conversation, vec![x.to_owned(), y.to_owned()]).await?;
            let score = |i: usize| {
                scores
                    .get(i)
                    .map(|&s| f64::from(s))
                    .filter(|s| s.is_finite())
            };
            let scores = (score(0), score(1));
            Verdict {
                label: label_from_scores(scores.0, scores.1),
                scores,
                raw: format!("{scores:?}"),
                tokens: 0,
            }
        }
        (GoldJudge::Model(backend, _), JudgeMode::Json) => {
            // Seeds from the item id: a resumed run judges an item as it would have.
            let seed = item.id as u64;
            let (rx, tx) =
                judge_json(backend, spec, request, x, payload.max_new_tokens, seed).await?;
            let (ry, ty) =
                judge_json(backend, spec, request, y, payload.max_new_tokens, seed).await?;
            pointwise(rx, ry, tx + ty)
        }
        (GoldJudge::Model(backend, Some(ids)), JudgeMode::Prob) => {
            let rx = judge_prob(backend, spec, ids, request, x).await?;
            let ry = judge_prob(backend, spec, ids, request, y).await?;
            pointwise(rx, ry, 0)
        }
        (GoldJudge::Model(backend, Some(ids)), JudgeMode::Pairwise) => {
            let row = judge_pairwise(backend, spec, ids, request, x, y).await?;
            let order = |w: Option<pairwise_core::judge::Winner>| w.map_or("tie", |w| w.as_str());
            Verdict {
                label: Some(label_from_orders(
                    order(row.winner_ab),
                    order(row.winner_ba),
                )),
                scores: (None, None),
                raw: row.raw_output,
                tokens: 0,
            }
        }
        (GoldJudge::Model(..), mode) => {
            return Err(crate::error::PipelineError::Internal(format!(
                "judge mode {} cannot judge gold item {}",
                mode.as_str(),
                item.id
            )))
        }
    })
}
