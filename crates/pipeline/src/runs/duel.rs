//! Judge duels: the pairwise judge reads two answers to each prompt in both orders. Guards: a
//! project's reward-hacking guard pairs, original (first) against its degraded or
//! premise-agreeing version (second) — the judge should prefer the original. Rounds: round k's
//! generator (first) against round k − 1's (second) on the benign prompts both evaluations
//! answered — held-out prompts that no pair was made from. Resolved here into the payload a
//! worker follows, so a resumed run judges the same items with the same judge.

use super::{enqueue_run, project_id, record, registered_only, resolve_model, ModelRef};
use crate::{
    access::project,
    error::{PipelineError, Result},
};
use pairwise_core::{
    dto::{DuelView, RunView},
    duel::DuelSource,
    run_requests::DuelRequest,
    Actor, Role,
};
use pairwise_store::{datasets, duels, evals, rounds, rubrics, runs, DatabaseConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashSet;

pub const DUEL: &str = "duel";

/// The group of a round comparison's items.
pub const ROUND_GROUP: &str = "round";

/// Most items one duel judges.
pub const MAX_DUEL_ITEMS: u64 = 100_000;

/// The payload of a duel run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuelPayload {
    pub judge: ModelRef,
    pub rubric_id: i64,
    /// `name@version`.
    pub rubric: String,
    pub source: DuelSource,
    /// Pair ids (guards) or prompt ids (rounds), ascending.
    pub item_ids: Vec<i64>,
    /// Rounds: the evaluation runs whose answers are compared (first = the newer round's).
    #[serde(default)]
    pub evals: Option<(i64, i64)>,
}

/// The evaluation run a round records, checked to be finished.
async fn round_eval(db: &DatabaseConnection, project_id: i64, round: i32) -> Result<i64> {
    let r = rounds::find(db, project_id, round)
        .await?
        .ok_or_else(|| PipelineError::invalid("round", format!("there is no round {round}")))?;
    let id = r.eval_job_id.ok_or_else(|| {
        PipelineError::invalid(
            "round",
            format!("round {round} records no evaluation: its generator's answers are compared"),
        )
    })?;
    let job = runs::get(db, id).await?;
    if job.status != runs::DONE {
        return Err(PipelineError::invalid(
            "round",
            format!("round {round}'s evaluation (run {id}) has not finished"),
        ));
    }
    Ok(id)
}

/// Validates and enqueues a duel run.
pub async fn create_duel(
    db: &DatabaseConnection,
    request: DuelRequest,
    created_by: Option<i64>,
) -> Result<RunView> {
    let project_id = project_id(db, &request.project).await?;
    let limit = request.limit.unwrap_or(MAX_DUEL_ITEMS).min(MAX_DUEL_ITEMS);
    let mut warnings = Vec::new();
    let (item_ids, evals) = match &request.source {
        DuelSource::Guards { dataset_version } => {
            let version = match dataset_version.as_deref().map(str::trim) {
                Some(tag) if !tag.is_empty() => Some(
                    datasets::find(db, project_id, tag)
                        .await?
                        .ok_or_else(|| {
                            PipelineError::invalid(
                                "dataset_version",
                                format!(
                                    "project `{}` has no dataset version `{tag}`",
                                    request.project
                                ),
                            )
                        })?
                        .id,
                ),
                _ => None,
            };
            let ids = duels::guard_pairs(db, project_id, version, limit).await?;
            if ids.is_empty() {
                return Err(PipelineError::invalid(
                    "source",
                    format!(
                        "project `{}` has no guard pairs{} (build them with the guards builder)",
                        request.project,
                        if version.is_some() {
                            " in that version"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            (ids, None)
        }
        DuelSource::Round { round } => {
            if *round < 2 {
                return Err(PipelineError::invalid(
                    "round",
                    "round 1 has no previous round to compare with",
                ));
            }
            let newer = round_eval(db, project_id, *round).await?;
            let older = round_eval(db, project_id, round - 1).await?;
            let answered = |rows: Vec<pairwise_store::entities::eval_answer::Model>| {
                rows.into_iter()
                    .filter(|a| !a.harmful)
                    .map(|a| a.prompt_id)
                    .collect::<HashSet<i64>>()
            };
            let old: HashSet<i64> = answered(evals::rows(db, older, MAX_DUEL_ITEMS).await?);
            let mut ids: Vec<i64> = answered(evals::rows(db, newer, MAX_DUEL_ITEMS).await?)
                .intersection(&old)
                .copied()
                .collect();
            ids.sort_unstable();
            ids.truncate(limit as usize);
            if ids.is_empty() {
                return Err(PipelineError::invalid(
                    "round",
                    format!(
                        "the evaluations of rounds {} and {round} share no benign prompt",
                        round - 1
                    ),
                ));
            }
            (ids, Some((newer, older)))
        }
    };
    let judge = resolve_model(db, &request.judge, None).await?;
    if let Some((newer, older)) = evals {
        for id in [newer, older] {
            let job = runs::get(db, id).await?;
            let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
            if payload["model"]["version"].as_str() == Some(judge.version.as_str()) {
                warnings.push(format!(
                    "the judge is the generator evaluated in run {id}: it judges its own answers \
                     (self-preference bias)"
                ));
            }
        }
    }
    let rubric = rubrics::resolve(db, &request.rubric).await?;
    rubrics::spec_of(&rubric)?;
    let payload = DuelPayload {
        judge,
        rubric_id: rubric.id,
        rubric: format!("{}@{}", rubric.name, rubric.version),
        source: request.source.clone(),
        item_ids,
        evals,
    };
    enqueue_run(
        db,
        (project_id, &request.project),
        DUEL,
        &payload,
        payload.item_ids.len(),
        warnings,
        created_by,
    )
    .await
}

/// Queues a duel (reviewer); the judge must be registered.
pub async fn start_duel(
    db: &DatabaseConnection,
    actor: &Actor,
    request: DuelRequest,
) -> Result<RunView> {
    project(
        db,
        actor,
        &request.project,
        Role::Reviewer,
        "start a judge duel",
    )
    .await?;
    registered_only(db, actor, &request.judge).await?;
    let detail = json!({
        "judge": request.judge, "rubric": request.rubric, "source": request.source,
        "limit": request.limit,
    });
    let run = create_duel(db, request, actor.id).await?;
    record(db, actor, "run.duel", &run, detail).await?;
    Ok(run)
}

/// The view of a duel run: its state and, as far as it has got, its tally.
pub async fn duel_view(
    db: &DatabaseConnection,
    job: &pairwise_store::entities::job::Model,
) -> Result<DuelView> {
    let payload: DuelPayload = serde_json::from_str(&job.payload)
        .map_err(|e| PipelineError::Internal(format!("run payload: {e}")))?;
    let rows = duels::verdicts(db, job.id).await?;
    Ok(DuelView {
        run: job.id,
        status: job.status.clone(),
        judge: format!(
            "{}@{}",
            payload.judge.name.as_deref().unwrap_or("(directory)"),
            short(&payload.judge.version)
        ),
        tally: tally_rows(&rows),
    })
}

/// The tally of stored verdict rows `(item, group, winner_ab, winner_ba)`.
pub(crate) fn tally_rows(
    rows: &[(i64, String, String, String)],
) -> std::collections::BTreeMap<String, pairwise_core::duel::DuelTally> {
    use pairwise_core::{duel, judge::Winner};
    let winner = |s: &str| match s {
        "first" => Winner::First,
        "second" => Winner::Second,
        _ => Winner::Tie,
    };
    duel::tally(rows.iter().map(|(_, group, ab, ba)| duel::DuelVerdict {
        group,
        ab: winner(ab),
        ba: winner(ba),
    }))
}

/// The first 12 characters of a content-hash version.
fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}
