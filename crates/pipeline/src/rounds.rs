//! Iteration rounds: preference data is made in rounds (new policy → new candidates → new
//! judgments → a new dataset version), and a team needs to see whether each round improved. A
//! round records its generator version, the generation and judge runs made with it, the dataset
//! version made from them and the generator's evaluation. /rounds shows rounds side by side:
//! pairs, the judge runs against gold, over-refusal and harmlessness, and the win rate of each
//! round's generator against the previous round's (a duel run; see `runs::start_duel`).

use crate::{
    access::{self, project},
    error::{PipelineError, Result},
    runs::{self, duel_view, resolve_model, DuelPayload, DUEL, EVAL, GENERATE, JUDGE},
};
use pairwise_core::{
    dto::{DuelView, RoundView, RunGoldView},
    duel::DuelSource,
    eval::EvalFigures,
    run_requests::SaveRound,
    Actor, Role,
};
use pairwise_store::{
    annotation, audit, datasets, entities::round, rounds, runs as store_runs, DatabaseConnection,
};
use serde_json::json;

/// Records the next round of a project (reviewer). Every run named must be of the project and of
/// the right kind; the evaluation must be a finished one of the round's generator.
pub async fn save_round(
    db: &DatabaseConnection,
    actor: &Actor,
    request: SaveRound,
) -> Result<RoundView> {
    let p = project(
        db,
        actor,
        &request.project,
        Role::Reviewer,
        "record a round",
    )
    .await?;
    if request.generator.trim().is_empty() {
        return Err(PipelineError::invalid(
            "generator",
            "name the round's generator",
        ));
    }
    runs::registered_only(db, actor, &request.generator).await?;
    let generator = resolve_model(db, request.generator.trim(), None).await?;
    let check = |field: &'static str, kind: &'static str| {
        let project_id = p.id;
        let project = p.name.clone();
        move |job: &pairwise_store::entities::job::Model| {
            if job.project_id != project_id || job.kind != kind {
                return Err(PipelineError::invalid(
                    field,
                    format!("run {} is not a {kind} run of `{project}`", job.id),
                ));
            }
            Ok(())
        }
    };
    for id in &request.generation_runs {
        let job = store_runs::get(db, *id).await?;
        check("generation_runs", GENERATE)(&job)?;
        let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
        if payload["model"]["version"].as_str() != Some(generator.version.as_str()) {
            return Err(PipelineError::invalid(
                "generation_runs",
                format!("run {id} generated with another model than the round's generator"),
            ));
        }
    }
    for id in &request.judge_runs {
        check("judge_runs", JUDGE)(&store_runs::get(db, *id).await?)?;
    }
    if let Some(id) = request.eval_run {
        let job = store_runs::get(db, id).await?;
        check("eval_run", EVAL)(&job)?;
        if job.status != store_runs::DONE {
            return Err(PipelineError::invalid(
                "eval_run",
                format!("evaluation run {id} has not finished"),
            ));
        }
        let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
        if payload["model"]["version"].as_str() != Some(generator.version.as_str()) {
            return Err(PipelineError::invalid(
                "eval_run",
                format!("evaluation run {id} evaluated another model than the round's generator"),
            ));
        }
    }
    let dataset_version = match request.dataset_version.as_deref().map(str::trim) {
        Some(tag) if !tag.is_empty() => {
            datasets::find(db, p.id, tag).await?.ok_or_else(|| {
                PipelineError::invalid(
                    "dataset_version",
                    format!("project `{}` has no dataset version `{tag}`", p.name),
                )
            })?;
            Some(tag.to_owned())
        }
        _ => None,
    };
    let saved = rounds::insert(
        db,
        rounds::NewRound {
            project_id: p.id,
            number: request.number,
            name: request.name.trim().to_owned(),
            generator: request.generator.trim().to_owned(),
            generator_version: generator.version.clone(),
            generation_runs: request.generation_runs.clone(),
            judge_runs: request.judge_runs.clone(),
            dataset_version,
            eval_job_id: request.eval_run,
            note: request.note.trim().to_owned(),
            created_by: actor.id,
        },
    )
    .await?;
    let detail = json!({
        "number": saved.number, "generator": saved.generator,
        "version": saved.generator_version, "eval_run": saved.eval_job_id,
        "dataset_version": saved.dataset_version,
    });
    audit::record(
        db,
        actor,
        "round.save",
        &format!("round:{}#{}", p.name, saved.number),
        Some(&p.name),
        detail,
    )
    .await?;
    let (gold, duels) = shared(db, p.id, std::slice::from_ref(&saved)).await?;
    view(db, &p.name, &saved, &gold, &duels).await
}

/// Every round of a project, side by side (reviewer).
pub async fn list_rounds(
    db: &DatabaseConnection,
    actor: &Actor,
    project_name: &str,
) -> Result<Vec<RoundView>> {
    let p = access::project(db, actor, project_name, Role::Reviewer, "see rounds").await?;
    let saved = rounds::list(db, p.id).await?;
    if saved.is_empty() {
        return Ok(Vec::new());
    }
    let (gold, duels) = shared(db, p.id, &saved).await?;
    let mut views = Vec::with_capacity(saved.len());
    for r in &saved {
        views.push(view(db, &p.name, r, &gold, &duels).await?);
    }
    Ok(views)
}

/// What every round's view draws on: the judge runs' agreement with gold (only where a round
/// names judge runs) and the round duels, newest first (a round shows its newest finished one,
/// else its newest).
async fn shared(
    db: &DatabaseConnection,
    project_id: i64,
    saved: &[round::Model],
) -> Result<(Vec<RunGoldView>, Vec<pairwise_store::entities::job::Model>)> {
    let gold: Vec<RunGoldView> = if saved
        .iter()
        .any(|r| !rounds::run_ids(&r.judge_runs).is_empty())
    {
        // Only the gold drift of the calibration data, not the whole calibration report.
        let data = annotation::calibration_data(db, project_id).await?;
        data.gold_drift()
            .judges
            .into_iter()
            .flat_map(|s| s.runs)
            .map(|r| RunGoldView {
                run: r.run,
                n: r.n,
                accuracy: r.accuracy,
                kappa: r.kappa,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut duels = store_runs::of_kind(db, project_id, DUEL).await?;
    duels.retain(|j| j.status != store_runs::FAILED && j.status != store_runs::CANCELLED);
    duels.sort_by_key(|j| (j.status == store_runs::DONE, j.id));
    duels.reverse();
    Ok((gold, duels))
}

async fn view(
    db: &DatabaseConnection,
    project: &str,
    r: &round::Model,
    gold: &[RunGoldView],
    duels: &[pairwise_store::entities::job::Model],
) -> Result<RoundView> {
    let (pairs, figures) = (
        match &r.dataset_version {
            Some(tag) => datasets::find(db, r.project_id, tag)
                .await?
                .map(|v| v.pair_count as u64),
            None => None,
        },
        match r.eval_job_id {
            Some(id) => {
                let job = store_runs::get(db, id).await?;
                serde_json::from_str::<EvalFigures>(&job.summary).ok()
            }
            None => None,
        },
    );
    let judge_runs = rounds::run_ids(&r.judge_runs);
    let vs_previous: Option<DuelView> = match duels.iter().find(|j| {
        serde_json::from_str::<DuelPayload>(&j.payload)
            .is_ok_and(|d| d.source == DuelSource::Round { round: r.number })
    }) {
        Some(job) => Some(duel_view(db, job).await?),
        None => None,
    };
    Ok(RoundView {
        id: r.id,
        project: project.to_owned(),
        number: r.number,
        name: r.name.clone(),
        generator: r.generator.clone(),
        generator_version: r.generator_version.clone(),
        generation_runs: rounds::run_ids(&r.generation_runs),
        judge_gold: gold
            .iter()
            .filter(|g| judge_runs.contains(&g.run))
            .cloned()
            .collect(),
        judge_runs,
        dataset_version: r.dataset_version.clone(),
        pairs,
        eval_run: r.eval_job_id,
        figures,
        vs_previous,
        note: r.note.clone(),
        created_at: r
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}
