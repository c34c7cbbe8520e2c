//! Builds as queued runs: a reviewer queues a build of an uploaded file (browser form, REST or
//! a script), a worker runs it with live progress on /runs, and its pairs are stored in the
//! project all or nothing. The input travels in the run's payload (so any worker, on any
//! machine sharing the database, can run it); run views show its size, never its text.

use super::{
    code::{build_code, CodeOptions, CodeRunner},
    math::build_math,
    Built,
};
use crate::{
    access,
    error::{PipelineError, Result},
};
use pairwise_core::{
    builders::{code::read_tasks, math::read_items},
    dto::RunView,
    requests::{BuildRequest, Builder},
    Actor, Role,
};
use pairwise_store::{audit, runs, users, DatabaseConnection};
use serde_json::{json, Value};

/// The run kind of a build.
pub const BUILD: &str = "build";

/// Largest input a queued build accepts (the run's payload holds it).
pub const MAX_INPUT_BYTES: usize = 32 << 20;

/// Items of `request.input` (problems, tasks, trajectories); input errors name line and field.
fn count_items(request: &BuildRequest) -> Result<usize> {
    let bad = |e: &dyn std::fmt::Display| PipelineError::invalid("input", e.to_string());
    let input = request.input.as_bytes();
    Ok(match request.builder {
        Builder::Math => read_items(input)
            .try_fold(0, |n, r| r.map(|_| n + 1))
            .map_err(|e| bad(&e))?,
        Builder::Code => read_tasks(input)
            .try_fold(0, |n, r| r.map(|_| n + 1))
            .map_err(|e| bad(&e))?,
        Builder::Agent => super::agent::read_trajectories(input)
            .try_fold(0, |n, r| r.map(|_| n + 1))
            .map_err(|e| bad(&e))?,
        Builder::Guards => pairwise_core::builders::guards::read_items(input)
            .try_fold(0, |n, r| r.map(|_| n + 1))
            .map_err(|e| bad(&e))?,
    })
}

/// Queues a build (reviewer). The input is read through once now, so a bad line is refused
/// before anything is queued, with its line and field.
pub async fn start_build(
    db: &DatabaseConnection,
    actor: &Actor,
    request: BuildRequest,
) -> Result<RunView> {
    let project =
        access::project(db, actor, &request.project, Role::Reviewer, "build pairs").await?;
    if request.input.len() > MAX_INPUT_BYTES {
        return Err(PipelineError::invalid(
            "input",
            format!("larger than {} MiB", MAX_INPUT_BYTES >> 20),
        ));
    }
    if let Some(name) = &request.generator {
        if request.builder != Builder::Agent {
            return Err(PipelineError::invalid(
                "generator",
                "only agent builds use a generator",
            ));
        }
        generator(db, name).await?;
    }
    let items = count_items(&request)?;
    if items == 0 {
        return Err(PipelineError::invalid("input", "the file has no rows"));
    }
    let job = runs::enqueue(
        db,
        runs::NewJob {
            project_id: project.id,
            kind: BUILD.into(),
            payload: serde_json::to_value(&request)
                .map_err(|e| PipelineError::Internal(e.to_string()))?,
            total: items as i64,
            warnings: Vec::new(),
            created_by: actor.id,
        },
    )
    .await?;
    let run = runs::view(&job, &project.name);
    let detail =
        json!({"builder": request.builder.as_str(), "source": request.source, "items": items});
    audit::record(
        db,
        actor,
        "run.build",
        &format!("run:{}", run.id),
        Some(&project.name),
        detail,
    )
    .await?;
    Ok(run)
}

/// Runs a queued build: builds the pairs (`progress` gets the items done), stores them as the
/// run's creator, and returns the run's summary.
pub async fn execute(
    db: &DatabaseConnection,
    job: &pairwise_store::entities::job::Model,
    progress: impl Fn(usize) + Send + Sync,
) -> Result<Value> {
    let request: BuildRequest = serde_json::from_str(&job.payload)
        .map_err(|e| PipelineError::Internal(format!("run payload: {e}")))?;
    let input = request.input.as_bytes();
    let bad = |e: &dyn std::fmt::Display| PipelineError::invalid("input", e.to_string());
    let (built, summary): (Built, Value) = match request.builder {
        Builder::Math => {
            let (built, summary) = build_math(input, &request.source, |done, _| progress(done))
                .map_err(|e| bad(&e))?;
            (built, json!(summary))
        }
        Builder::Code => {
            let tasks: Vec<_> = read_tasks(input)
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad(&e))?;
            let runner = CodeRunner::new().await.map_err(|e| bad(&e))?;
            let defaults = CodeOptions::default();
            let options = CodeOptions {
                mutants_per_task: request.mutants.unwrap_or(defaults.mutants_per_task),
                mutant_budget: request.mutant_budget.unwrap_or(defaults.mutant_budget),
                ..defaults
            };
            let build = build_code(
                &runner,
                &tasks,
                &options,
                input,
                &request.source,
                |done, _| progress(done),
            )
            .await
            .map_err(|e| bad(&e))?;
            (build.built, json!(build.summary))
        }
        Builder::Guards => {
            let (built, summary) =
                super::guards::build_guards(input, &request.source, |done, _| progress(done))
                    .map_err(|e| bad(&e))?;
            (built, json!(summary))
        }
        Builder::Agent => {
            let model = match &request.generator {
                Some(name) => Some(generator(db, name).await?),
                None => None,
            };
            let (built, summary) =
                super::build_agent(input, &request.source, model.as_ref(), &progress)
                    .await
                    .map_err(|e| bad(&e))?;
            (built, json!(summary))
        }
    };
    let actor = match job.created_by {
        Some(id) => users::get(db, id)
            .await?
            .map(|u| u.actor())
            .unwrap_or_else(Actor::cli),
        None => Actor::cli(),
    };
    let project = pairwise_store::projects::find_by_id(db, job.project_id)
        .await?
        .ok_or_else(|| PipelineError::invalid("project", "the run's project is gone"))?;
    let report = super::store_in(db, &actor, &project, built)
        .await
        .map_err(|e| PipelineError::invalid("pairs", e.to_string()))?;
    let mut summary = summary;
    if let Some(map) = summary.as_object_mut() {
        map.insert("builder".into(), json!(request.builder.as_str()));
        map.insert("stored".into(), json!(report));
    }
    Ok(summary)
}

/// The client of a registered remote model (corrections are asked under a JSON Schema, which
/// only a server can constrain).
pub async fn generator(
    db: &DatabaseConnection,
    name: &str,
) -> Result<pairwise_inference::RemoteModel> {
    let model = crate::runs::resolve_model(db, name, None).await?;
    let Some(config) = model.remote else {
        return Err(PipelineError::invalid(
            "generator",
            format!(
                "`{name}` is not a remote model (corrections need an OpenAI-compatible server)"
            ),
        ));
    };
    pairwise_inference::RemoteModel::new(config)
        .map_err(|e| PipelineError::invalid("generator", e.to_string()))
}
