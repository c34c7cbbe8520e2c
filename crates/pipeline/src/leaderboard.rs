//! Leaderboards of a project (reviewers): its generator versions, decoding paths or adversarial
//! transforms ranked by Bradley–Terry over the comparisons of their candidates, with bootstrap
//! 95% intervals — one board from the judge runs of one rubric version, one from counted human
//! votes — and the rank correlation of the two.

use crate::{
    error::{PipelineError, Result},
    evidence::{self, Evidence},
    runs::{GeneratePayload, JudgePayload, GENERATE, JUDGE},
};
use pairwise_core::{
    leaderboard::{self, BoardBy, LeaderboardRequest, LeaderboardView, Standing, MAX_ROUNDS},
    ranking::Comparison,
    Actor, Role,
};
use pairwise_store::{candidates, judgments, rubrics, runs, DatabaseConnection};
use std::collections::{BTreeMap, HashMap};

/// The boards of `project` (reviewer, member).
pub async fn show_leaderboard(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    request: &LeaderboardRequest,
) -> Result<LeaderboardView> {
    crate::access::require(actor, Role::Reviewer, "read leaderboards")?;
    if request.rounds > MAX_ROUNDS {
        return Err(PipelineError::invalid(
            "rounds",
            format!("at most {MAX_ROUNDS} bootstrap rounds"),
        ));
    }
    let p = crate::access::project(db, actor, project, Role::Reviewer, "read leaderboards").await?;

    // Each candidate's entry on this board, and its prompt.
    let generators: HashMap<i64, String> = runs::finished_of_kind(db, p.id, GENERATE)
        .await?
        .into_iter()
        .filter_map(|job| {
            let payload: GeneratePayload = serde_json::from_str(&job.payload).ok()?;
            Some((job.id, generator_label(&payload)))
        })
        .collect();
    let keys = candidates::keys(db, p.id).await?;
    let entry: HashMap<i64, (i64, String)> = keys
        .into_iter()
        .filter_map(|c| {
            let name = match request.by {
                BoardBy::Generator => generators.get(&c.job_id)?.clone(),
                BoardBy::Path => c.path,
                BoardBy::Transform => c.transform.unwrap_or_else(|| "none".into()),
            };
            Some((c.id, (c.prompt_id, name)))
        })
        .collect();
    let prompt_of = |id: i64| entry.get(&id).map(|e| e.0);

    // The judge board: the finished judge runs of one rubric version.
    let judge_runs = runs::finished_of_kind(db, p.id, JUDGE).await?;
    let mut by_rubric: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut newest_rubric = None;
    for job in &judge_runs {
        if let Ok(payload) = serde_json::from_str::<JudgePayload>(&job.payload) {
            newest_rubric.get_or_insert(payload.rubric_id);
            by_rubric.entry(payload.rubric_id).or_default().push(job.id);
        }
    }
    let rubric_id = match &request.rubric {
        Some(reference) => Some(rubrics::resolve(db, reference).await?.id),
        None => newest_rubric,
    };
    let mut judge_evidence = Vec::new();
    let mut rubric = None;
    if let Some(id) = rubric_id {
        let r = rubrics::get(db, id).await?;
        rubric = Some(format!("{}@{}", r.name, r.version));
        for run in by_rubric.get(&id).map_or(&[][..], Vec::as_slice) {
            let judged = judgments::for_job(db, *run).await?;
            judge_evidence.extend(evidence::from_judgments(&judged, prompt_of));
        }
    }
    let human_evidence = evidence::from_votes(db, p.id, prompt_of).await?;

    let board = |all: &[Evidence]| -> Result<(Vec<Standing>, u64)> {
        let mut names: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut comparisons = Vec::new();
        for e in all {
            let (Some((_, a)), Some((_, b))) = (entry.get(&e.a), entry.get(&e.b)) else {
                continue;
            };
            // Two candidates of one entry say nothing about entries.
            if a == b {
                continue;
            }
            let mut at = |name: &String| {
                *index.entry(name.clone()).or_insert_with(|| {
                    names.push(name.clone());
                    names.len() - 1
                })
            };
            let (a, b) = (at(a), at(b));
            comparisons.push(Comparison {
                a,
                b,
                winner: e.winner,
            });
        }
        if comparisons.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let standings = leaderboard::board(&names, &comparisons, request.rounds, request.seed)
            .map_err(|e| PipelineError::Internal(format!("leaderboard fit: {e}")))?;
        Ok((standings, comparisons.len() as u64))
    };
    let (judge, judge_comparisons) = board(&judge_evidence)?;
    let (human, human_comparisons) = board(&human_evidence)?;
    Ok(LeaderboardView {
        project: p.name,
        by: request.by,
        rubric,
        rounds: request.rounds,
        seed: request.seed,
        rank_correlation: leaderboard::spearman(&judge, &human),
        judge,
        judge_comparisons,
        human,
        human_comparisons,
    })
}

/// `name@version` of a generation run's model (the directory's name where it is not
/// registered), the version shortened to 12 hex digits.
fn generator_label(payload: &GeneratePayload) -> String {
    let name = payload.model.name.clone().unwrap_or_else(|| {
        payload
            .model
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into())
    });
    let version: String = payload.model.version.chars().take(12).collect();
    format!("{name}@{version}")
}
