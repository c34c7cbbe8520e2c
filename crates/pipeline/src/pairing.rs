//! Pairs from judged candidates: a finished judge run's scores (pointwise) or verdicts (pairwise)
//! become chosen/rejected pairs by strategy, each with its full provenance — generator version,
//! path, transform, decoding parameters and seed of both sides, judge version, rubric version and
//! run ids — and, where reference scores exist, the hard-negative gap and a trivial-negative flag.
//! Ranked pairs also record the prompt's whole Bradley–Terry ranking and what it rests on.

mod ranked;

pub use pairwise_core::dto::{BuildReport, EvidenceCounts};
use ranked::Ranking;

use crate::{
    error::{PipelineError, Result},
    runs::{JudgePayload, JUDGE},
    worker::messages_of,
};
use pairwise_core::{
    judge::JudgeMode,
    pair_hash,
    requests::BuildPairsRequest,
    strategy::{self, Choice, Scored, Strategy},
    Actor, PairRecord,
};
use pairwise_store::{
    audit, candidates,
    entities::{candidate, judgment},
    judgments, pairs, prompts, rubrics, runs, DatabaseConnection,
};
use sea_orm::TransactionTrait;
use std::collections::{BTreeMap, HashMap};

/// Builds pairs from a finished judge run of `project` by the request's strategy (reviewer).
pub async fn build_pairs(
    db: &DatabaseConnection,
    actor: &Actor,
    project_name: &str,
    request: &BuildPairsRequest,
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
    if !(request.alpha.is_finite() && request.alpha > 0.0) {
        return Err(PipelineError::invalid(
            "alpha",
            "must be a number > 0 (a prompt's best candidate usually never loses, and without a \
             prior its strength is infinite)",
        ));
    }
    let project = crate::access::project(
        db,
        actor,
        project_name,
        pairwise_core::Role::Reviewer,
        "build pairs",
    )
    .await?;
    let job = runs::get(db, request.judge_run).await?;
    if job.project_id != project.id || job.kind != JUDGE {
        return Err(PipelineError::invalid(
            "judge_run",
            format!("run {} is not a judge run of `{project_name}`", job.id),
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
    let fits = match request.strategy {
        Strategy::Ranked => true,
        Strategy::Pairwise => pairwise_mode,
        Strategy::Extreme | Strategy::Margin => !pairwise_mode,
    };
    if !fits {
        return Err(PipelineError::invalid(
            "strategy",
            format!(
                "strategy {} does not fit a {} judge run (pairwise runs build `pairwise` or \
                 `ranked` pairs; pointwise runs build `extreme`, `margin` or `ranked` pairs)",
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
    // Each choice with the pairwise verdict it rests on, or the index of its prompt's ranking.
    let mut choices: Vec<(Choice, Option<&judgment::Model>, Option<usize>)> = Vec::new();
    let mut ranked_prompts: Vec<Ranking> = Vec::new();
    let scores: HashMap<i64, &judgment::Model> = judged
        .iter()
        .filter(|j| j.other_candidate_id.is_none() && j.parse_ok && j.overall.is_some())
        .map(|j| (j.candidate_id, j))
        .collect();
    let may_choose = |id: i64| !templated.contains(&id);
    if request.strategy == Strategy::Ranked {
        let rankings = ranked::rankings(db, project.id, &by_id, &judged, request.alpha).await?;
        report.prompts = rankings.len() as u64;
        let mut evidence = EvidenceCounts::default();
        for ranking in rankings.into_values() {
            evidence.judge_scores += ranking.evidence.judge_scores;
            evidence.judge_orders += ranking.evidence.judge_orders;
            evidence.human_votes += ranking.evidence.human_votes;
            let picked = strategy::ranked(&ranking.strengths, request.pick, may_choose);
            if picked.is_empty() {
                continue;
            }
            ranked_prompts.push(ranking);
            let at = ranked_prompts.len() - 1;
            choices.extend(picked.into_iter().map(|c| (c, None, Some(at))));
        }
        report.evidence = Some(evidence);
    } else if pairwise_mode {
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
                None,
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
            let picked = match request.strategy {
                Strategy::Extreme => strategy::extreme_where(scored, may_choose)
                    .into_iter()
                    .collect(),
                _ => strategy::margin(scored, request.threshold),
            };
            choices.extend(picked.into_iter().map(|c| (c, None, None)));
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
    for (choice, verdict, ranking) in choices {
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
            "ranking": ranking.map(|at| ranked_prompts[at].to_json(request.alpha, request.pick)),
        });
        // Ranked pairs score each side by its log-strength, so the margin is the strength gap.
        let (score_chosen, score_rejected) = if let Some(at) = ranking {
            let r = &ranked_prompts[at];
            (r.strength_of(chosen.id), r.strength_of(rejected.id))
        } else if choice.margin.is_finite() {
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
    // A preview inserts in the same transaction and rolls it back: the counts of new and
    // duplicate pairs are exactly what a build would find, and nothing is stored.
    let txn = db.begin().await?;
    for chunk in items.chunks(500) {
        report.inserted += pairs::insert_each(&txn, project.id, chunk).await?;
    }
    report.duplicates = items.len() as u64 - report.inserted;
    if request.preview {
        txn.rollback().await?;
        return Ok(report);
    }
    audit::record(
        &txn,
        actor,
        "pairs.build",
        &format!("project:{project_name}"),
        Some(project_name),
        serde_json::to_value(&report).unwrap_or_default(),
    )
    .await?;
    txn.commit().await?;
    Ok(report)
}
