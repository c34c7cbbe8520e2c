//! The run actions users take (reviewers): start a generation, judge or reference run, cancel and
//! retry one. Each checks the role, validates through `create_*`, and records one audit entry.

use super::{create_generation, create_judge, create_reference};
use crate::{
    access::{self, project, require},
    error::{PipelineError, Result},
};
use pairwise_core::{
    dto::RunView,
    run_requests::{GenerateRequest, JudgeRequest, ReferenceRequest},
    Actor, Role,
};
use pairwise_store::{audit, models, runs, DatabaseConnection};
use serde_json::json;

/// Users run registered models only: an admin registers a directory once, on /models. Only the
/// local command line's built-in actor (who can read the server's disk anyway) may name a
/// directory. Checked before anything touches the filesystem, so the error says nothing of it.
pub(crate) async fn registered_only(
    db: &DatabaseConnection,
    actor: &Actor,
    model: &str,
) -> Result<()> {
    if actor.id.is_some() && models::find(db, model).await?.is_none() {
        return Err(PipelineError::invalid(
            "model",
            format!("`{model}` is not a registered model (admins register models on /models)"),
        ));
    }
    Ok(())
}

/// Queues a generation run; the seed drawn for a request without one is in the view and the log.
pub async fn start_generation(
    db: &DatabaseConnection,
    actor: &Actor,
    request: GenerateRequest,
) -> Result<RunView> {
    project(
        db,
        actor,
        &request.project,
        Role::Reviewer,
        "start a generation run",
    )
    .await?;
    registered_only(db, actor, &request.model).await?;
    let model = request.model.clone();
    let run = create_generation(db, request, actor.id).await?;
    let detail = json!({"model": model, "seed": run.seed, "prompts": run.total});
    record(db, actor, "run.generate", &run, detail).await?;
    Ok(run)
}

/// Queues a judge run (warnings, such as a judge that is the generator, are on the view).
pub async fn start_judge(
    db: &DatabaseConnection,
    actor: &Actor,
    request: JudgeRequest,
) -> Result<RunView> {
    project(
        db,
        actor,
        &request.project,
        Role::Reviewer,
        "start a judge run",
    )
    .await?;
    registered_only(db, actor, &request.model).await?;
    let detail =
        json!({"model": request.model, "rubric": request.rubric, "mode": request.mode.as_str()});
    let run = create_judge(db, request, actor.id).await?;
    record(db, actor, "run.judge", &run, detail).await?;
    Ok(run)
}

/// Queues a reference-scoring run.
pub async fn start_reference(
    db: &DatabaseConnection,
    actor: &Actor,
    request: ReferenceRequest,
) -> Result<RunView> {
    project(
        db,
        actor,
        &request.project,
        Role::Reviewer,
        "start a reference run",
    )
    .await?;
    registered_only(db, actor, &request.model).await?;
    let run =
        create_reference(db, &request.project, &request.model, request.runs, actor.id).await?;
    record(
        db,
        actor,
        "run.reference",
        &run,
        json!({"model": request.model}),
    )
    .await?;
    Ok(run)
}

/// The newest `limit` runs the actor may see (of `project`, or of every project they see).
pub async fn list_runs(
    db: &DatabaseConnection,
    actor: &Actor,
    project_name: Option<&str>,
    limit: u64,
) -> Result<Vec<RunView>> {
    if let Some(name) = project_name {
        let p = project(db, actor, name, Role::Reviewer, "list runs").await?;
        return Ok(runs::list(db, Some(p.id), limit).await?);
    }
    require(actor, Role::Reviewer, "list runs")?;
    let visible = access::visible_projects(db, actor).await?;
    Ok(runs::list_among(db, visible.as_ref(), limit).await?)
}

/// One run, if the actor may see its project (else "not found", like a run that does not exist).
pub async fn show_run(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<RunView> {
    require(actor, Role::Reviewer, "see a run")?;
    let run = runs::show(db, id).await?;
    project(db, actor, &run.project, Role::Reviewer, "see a run")
        .await
        .map_err(|e| match e {
            PipelineError::NotFound(_) => PipelineError::NotFound(format!("run {id}")),
            other => other,
        })?;
    Ok(run)
}

/// Cancels a queued or running run.
pub async fn cancel_run(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<RunView> {
    show_run(db, actor, id).await?;
    require(actor, Role::Reviewer, "cancel a run")?;
    runs::cancel(db, id).await?;
    let run = runs::show(db, id).await?;
    record(db, actor, "run.cancel", &run, json!({})).await?;
    Ok(run)
}

/// Queues a failed or cancelled run again (it resumes where it stopped).
pub async fn retry_run(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<RunView> {
    show_run(db, actor, id).await?;
    require(actor, Role::Reviewer, "retry a run")?;
    runs::retry(db, id).await?;
    let run = runs::show(db, id).await?;
    record(db, actor, "run.retry", &run, json!({})).await?;
    Ok(run)
}

pub(crate) async fn record(
    db: &DatabaseConnection,
    actor: &Actor,
    action: &str,
    run: &RunView,
    detail: serde_json::Value,
) -> Result<()> {
    let target = format!("run:{}", run.id);
    audit::record(db, actor, action, &target, Some(&run.project), detail).await?;
    Ok(())
}
