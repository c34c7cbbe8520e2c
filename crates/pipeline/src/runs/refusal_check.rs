//! Refusal classifier checks: the rule-based classifier, and the rules with a judge model
//! deciding refusal vs compliance, measured against human labels (XSTest's labelled
//! completions). A run of its own so a judged check shows progress on /runs and its figures
//! stay on /eval beside the evaluations they qualify.

use super::{enqueue_run, project_id, record, registered_only, resolve_model, ModelRef};
use crate::{
    access::{self, project},
    error::{PipelineError, Result},
};
use pairwise_core::{
    dto::{RefusalCheckView, RunView},
    refusal::{Labelled, RefusalEval},
    run_requests::RefusalCheckRequest,
    Actor, Role,
};
use pairwise_store::{runs, DatabaseConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const REFUSAL_CHECK: &str = "refusal_check";

/// Most rows one check reads (the rows travel in the run's payload).
pub const MAX_CHECK_ROWS: usize = 20_000;

/// The payload of a refusal classifier check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusalCheckPayload {
    pub judge: Option<ModelRef>,
    pub source: String,
    pub rows: Vec<Labelled>,
}

/// The summary of a finished check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusalCheckSummary {
    pub rules: RefusalEval,
    pub with_judge: Option<RefusalEval>,
}

/// Validates and enqueues a refusal classifier check.
pub async fn create_refusal_check(
    db: &DatabaseConnection,
    request: RefusalCheckRequest,
    created_by: Option<i64>,
) -> Result<RunView> {
    let project_id = project_id(db, &request.project).await?;
    if request.rows.is_empty() {
        return Err(PipelineError::invalid("rows", "no labelled answers"));
    }
    if request.rows.len() > MAX_CHECK_ROWS {
        return Err(PipelineError::invalid(
            "rows",
            format!("more than {MAX_CHECK_ROWS} labelled answers"),
        ));
    }
    let judge = match request.judge.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => Some(resolve_model(db, name, None).await?),
        _ => None,
    };
    let payload = RefusalCheckPayload {
        judge,
        source: request.source.trim().to_owned(),
        rows: request.rows,
    };
    enqueue_run(
        db,
        (project_id, &request.project),
        REFUSAL_CHECK,
        &payload,
        payload.rows.len(),
        Vec::new(),
        created_by,
    )
    .await
}

/// Queues a refusal classifier check (reviewer); a judge must be registered.
pub async fn start_refusal_check(
    db: &DatabaseConnection,
    actor: &Actor,
    request: RefusalCheckRequest,
) -> Result<RunView> {
    project(
        db,
        actor,
        &request.project,
        Role::Reviewer,
        "check the refusal classifier",
    )
    .await?;
    if let Some(judge) = request.judge.as_deref().filter(|j| !j.trim().is_empty()) {
        registered_only(db, actor, judge).await?;
    }
    let detail =
        json!({"judge": request.judge, "source": request.source, "rows": request.rows.len()});
    let run = create_refusal_check(db, request, actor.id).await?;
    record(db, actor, "run.refusal_check", &run, detail).await?;
    Ok(run)
}

/// Every finished refusal classifier check of the projects the actor sees, oldest first.
pub async fn list_refusal_checks(
    db: &DatabaseConnection,
    actor: &Actor,
) -> Result<Vec<RefusalCheckView>> {
    access::require(actor, Role::Reviewer, "see refusal classifier checks")?;
    let visible = access::visible_projects(db, actor).await?;
    let mut out = Vec::new();
    for (job, project) in runs::finished_of_kind_among(db, visible.as_ref(), REFUSAL_CHECK).await? {
        let Ok(summary) = serde_json::from_str::<RefusalCheckSummary>(&job.summary) else {
            continue;
        };
        let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
        let judge = payload["judge"].as_object().map(|j| {
            let version = j["version"].as_str().unwrap_or_default();
            format!(
                "{}@{}",
                j["name"].as_str().unwrap_or("(directory)"),
                version.get(..12).unwrap_or(version)
            )
        });
        out.push(RefusalCheckView {
            run: job.id,
            project,
            source: payload["source"].as_str().unwrap_or_default().to_owned(),
            judge,
            rules: summary.rules,
            with_judge: summary.with_judge,
            finished_at: job
                .finished_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        });
    }
    out.sort_by_key(|v| v.run);
    Ok(out)
}
