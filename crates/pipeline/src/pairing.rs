//! Pairs from judged candidates: a finished judge run's scores (pointwise) or verdicts (pairwise)
//! become chosen/rejected pairs by strategy, each with its full provenance — generator version,
//! path, transform, decoding parameters and seed of both sides, judge version, rubric version and
//! run ids — and, where reference scores exist, the hard-negative gap and a trivial-negative flag.

use crate::{
    error::{PipelineError, Result},
    runs::{JudgePayload, JUDGE},
    worker::messages_of,
};
use pairwise_core::{
    judge::JudgeMode,
    pair_hash,
    strategy::{self, Choice, Scored, Strategy},
    Actor, PairRecord,
};
use pairwise_store::{
    audit, candidates,
    entities::{candidate, judgment},
    judgments, pairs, prompts, rubrics, runs, DatabaseConnection,
};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Default reference log-prob gap (nats per token) above which a rejected side is trivial.
pub const DEFAULT_TRIVIAL_GAP: f64 = 1.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildRequest {
    pub project: String,
    /// A finished judge run of the project.
    pub judge_run: i64,
    pub strategy: Strategy,
    /// Margin strategy: neighbours whose gap is below this.
    pub threshold: f64,
    pub min_margin: Option<f64>,
    pub max_margin: Option<f64>,
    /// Reference log-prob gap above which a pair is flagged a trivial negative.
    pub trivial_gap: f64,
}

impl BuildRequest {
    pub fn new(project: impl Into<String>, judge_run: i64, strategy: Strategy) -> Self {
        Self {
            project: project.into(),
            judge_run,
            strategy,
            threshold: strategy::DEFAULT_MARGIN_THRESHOLD,
            min_margin: None,
            max_margin: None,
            trivial_gap: DEFAULT_TRIVIAL_GAP,
        }
    }
}

/// What a build did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    pub prompts: u64,
    /// Pairs the strategy chose (before the margin filters).
    pub chosen: u64,
    /// Dropped by min/max margin.
    pub filtered: u64,
    pub inserted: u64,
    /// Already in the project (same stable hash).
    pub duplicates: u64,
    /// Pairs whose rejected side is far less likely under the reference model.
    pub trivial_negatives: u64,
    /// Pairs without reference scores on both sides.
    pub unscored_reference: u64,
    /// Choices dropped because the chosen answer is a templated refusal (no reason or no safe
    /// alternative); `extreme` picks the best other answer instead.
    #[serde(default)]
    pub templated_refusals: u64,
}

pub async fn build_pairs(
    db: &DatabaseConnection,
    request: &BuildRequest,
    actor: &Actor,
) -> Result<BuildReport> {
    crate::access::require(actor, pairwise_core::Role::Reviewer, "build pairs")?;
    for (field, v) in [
        ("threshold", Some(request.threshold)),
        ("min_margin", request.min_margin),
        ("max_margin", request.max_margin),
        ("trivial_gap", Some(request.trivial_gap)),
    ] {
        if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
            return Err(PipelineError::invalid(field, "must be a number ≥ 0"));
        }
    }
    let project = crate::access::project(
        db,
        actor,
        &request.project,
        pairwise_core::Role::Reviewer,
        "build pairs",
    )
    .await?;
    let job = runs::get(db, request.judge_run).await?;
    if job.project_id != project.id || job.kind != JUDGE {
        return Err(PipelineError::invalid(
            "judge_run",
            format!("run {} is not a judge run of `{}`", job.id, request.project),
        ));
    }
    if job.status != runs::DONE {
        return Err(PipelineError::invalid(
            "judge_run",
            format!(
                "run {} is {}; build pairs from a finished run",
                job.id, job.status
            ),
        ));
    }
    let payload: JudgePayload = serde_json::from_str(&job.payload)
        .map_err(|e| PipelineError::Internal(format!("run payload: {e}")))?;
    let pairwise_mode = payload.mode == JudgeMode::Pairwise;
    if pairwise_mode != (request.strategy == Strategy::Pairwise) {
        return Err(PipelineError::invalid(
            "strategy",
            format!(
                "strategy {} does not fit a {} judge run (pairwise runs build `pairwise` pairs; \
                 pointwise runs build `extreme` or `margin` pairs)",
                request.strategy.as_str(),
                payload.mode.as_str()
            ),
        ));
    }
    let rubric = rubrics::get(db, payload.rubric_id).await?;
    let stored = candidates::for_runs(db, project.id, &payload.generation_runs).await?;
    let by_id: HashMap<i64, &candidate::Model> = stored.iter().map(|c| (c.id, c)).collect();
    let judged = judgments::for_job(db, job.id).await?;

    let mut report = BuildReport::default();
    // Templated refusals never become chosen (they may be rejected).
    let templated: std::collections::HashSet<i64> = stored
        .iter()
        .filter(|c| pairwise_core::refusal::is_templated_refusal(&c.text))
        .map(|c| c.id)
        .collect();
    let mut choices: Vec<(Choice, Option<&judgment::Model>)> = Vec::new();
    let scores: HashMap<i64, &judgment::Model> = judged
        .iter()
        .filter(|j| j.other_candidate_id.is_none() && j.parse_ok && j.overall.is_some())
        .map(|j| (j.candidate_id, j))
        .collect();
    if pairwise_mode {
        for j in &judged {
            let (Some(other), Some(true)) = (j.other_candidate_id, j.consistent) else {
                continue;
            };
            let choice = match j.winner_ab.as_deref() {
                Some("first") => (j.candidate_id, other),
                Some("second") => (other, j.candidate_id),
                _ => continue,
            };
            choices.push((
                Choice {
                    chosen: choice.0,
                    rejected: choice.1,
                    margin: f64::NAN,
                },
                Some(j),
            ));
        }
        report.prompts = judged
            .iter()
            .filter_map(|j| by_id.get(&j.candidate_id).map(|c| c.prompt_id))
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64;
    } else {
        let mut per_prompt: BTreeMap<i64, Vec<Scored>> = BTreeMap::new();
        for (id, j) in &scores {
            if let (Some(c), Some(overall)) = (by_id.get(id), j.overall) {
                per_prompt.entry(c.prompt_id).or_default().push(Scored {
                    id: *id,
                    score: overall,
                });
            }
        }
        report.prompts = per_prompt.len() as u64;
        for scored in per_prompt.values() {
            let may_choose = |id: i64| !templated.contains(&id);
            let picked = match request.strategy {
                Strategy::Extreme => strategy::extreme_where(scored, may_choose)
                    .into_iter()
                    .collect(),
                _ => strategy::margin(scored, request.threshold),
            };
            choices.extend(picked.into_iter().map(|c| (c, None)));
        }
    }
    report.chosen = choices.len() as u64;

    let prompt_ids: Vec<i64> = stored.iter().map(|c| c.prompt_id).collect();
    let loaded: HashMap<i64, pairwise_store::entities::prompt::Model> =
        prompts::get_many(db, &prompt_ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    let side = |c: &candidate::Model| {
        serde_json::json!({
            "candidate": c.id,
            "generation_run": c.job_id,
            "model_version": c.model_version,
            "provider": c.provider,
            "path": c.path,
            "transform": c.transform,
            "params": serde_json::from_str::<serde_json::Value>(&c.params).unwrap_or_default(),
            "seed": c.seed,
            "scores": scores.get(&c.id).and_then(|j| j.scores.as_deref())
                .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok()),
            "ref_logprob": c.ref_logprob,
        })
    };
    let mut items = Vec::new();
    for (choice, verdict) in choices {
        let (Some(chosen), Some(rejected)) =
            (by_id.get(&choice.chosen), by_id.get(&choice.rejected))
        else {
            continue;
        };
        if templated.contains(&chosen.id) {
            report.templated_refusals += 1;
            continue;
        }
        if choice.margin.is_finite()
            && !strategy::within(choice.margin, request.min_margin, request.max_margin)
        {
            report.filtered += 1;
            continue;
        }
        let Some(prompt) = loaded.get(&chosen.prompt_id) else {
            continue;
        };
        let hard_negative = match (chosen.ref_logprob, rejected.ref_logprob) {
            (Some(rc), Some(rr)) => {
                let trivial = strategy::trivial_negative(rc, rr, request.trivial_gap);
                report.trivial_negatives += u64::from(trivial);
                serde_json::json!({
                    "ref_logprob_chosen": rc, "ref_logprob_rejected": rr,
                    "gap": rc - rr, "trivial_gap": request.trivial_gap, "trivial": trivial,
                })
            }
            _ => {
                report.unscored_reference += 1;
                serde_json::Value::Null
            }
        };
        let provenance = serde_json::json!({
            "judge_run": job.id,
            "judge_mode": payload.mode.as_str(),
            "prompt_id": prompt.id,
            "split": prompt.split,
            "judge_version": payload.model.version,
            "rubric": format!("{}@{}", rubric.name, rubric.version),
            "chosen": side(chosen),
            "rejected": side(rejected),
            "pairwise": verdict.map(|j| serde_json::json!({
                "winner_ab": j.winner_ab, "winner_ba": j.winner_ba, "consistent": j.consistent,
            })),
            "hard_negative": hard_negative,
            "trivial_negative": hard_negative.get("trivial").and_then(|t| t.as_bool()),
        });
        let (score_chosen, score_rejected) = if choice.margin.is_finite() {
            (
                scores.get(&chosen.id).and_then(|j| j.overall),
                scores.get(&rejected.id).and_then(|j| j.overall),
            )
        } else {
            (None, None)
        };
        let record = PairRecord {
            prompt: messages_of(prompt),
            chosen: chosen.text.clone(),
            rejected: rejected.text.clone(),
            score_chosen,
            score_rejected,
            metadata: Default::default(),
        };
        let hash = pair_hash(&record.prompt, &record.chosen, &record.rejected);
        items.push((
            pairs::HashedPair { record, hash },
            pairs::PairOrigin {
                strategy: request.strategy.as_str().into(),
                source: format!("judge-run:{}", job.id),
                provenance,
            },
        ));
    }
    let txn = db.begin().await?;
    for chunk in items.chunks(500) {
        report.inserted += pairs::insert_each(&txn, project.id, chunk).await?;
    }
    audit::record(
        &txn,
        actor,
        "pairs.build",
        &format!("project:{}", request.project),
        Some(&request.project),
        serde_json::to_value(&report).unwrap_or_default(),
    )
    .await?;
    txn.commit().await?;
    report.duplicates = items.len() as u64 - report.inserted;
    Ok(report)
}
