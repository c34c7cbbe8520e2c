//! Safety evaluation runs: a model answers a project's benign and red-team prompts; the refusal
//! classifier reads every answer (over-refusal on benign prompts, harmlessness on harmful ones)
//! and, with a judge, the judge scores the benign answers (helpfulness). Resolved here into the
//! payload a worker follows, so a resumed run answers the same prompts with the same seeds.

use super::{
    check_max_new_tokens, draw_seed, enqueue_run, project_id, record, registered_only,
    resolve_model, ModelRef,
};
use crate::{
    access::{self, project},
    error::{PipelineError, Result},
};
use pairwise_core::{
    dto::{EvalPointView, RunView},
    eval::EvalFigures,
    run_requests::EvalRequest,
    Actor, Role, Split,
};
use pairwise_store::{
    datasets,
    prompts::{self, PromptFilter},
    rubrics, runs, DatabaseConnection,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const EVAL: &str = "eval";

/// The payload of an evaluation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPayload {
    pub model: ModelRef,
    /// Scores the benign answers (helpfulness), where given.
    pub judge: Option<ModelRef>,
    pub rubric_id: Option<i64>,
    /// `name@version` of the judge's rubric.
    pub rubric: Option<String>,
    /// Every prompt evaluated, benign and harmful.
    pub prompt_ids: Vec<i64>,
    /// The harmful (red-team) ones among them.
    pub harmful_ids: Vec<i64>,
    pub max_new_tokens: u32,
    pub seed: u64,
    /// The dataset version (tag in the project) the model was trained on, where known.
    pub dataset_version: Option<String>,
}

/// Validates and enqueues an evaluation run.
pub async fn create_eval(
    db: &DatabaseConnection,
    request: EvalRequest,
    created_by: Option<i64>,
) -> Result<RunView> {
    let project_id = project_id(db, &request.project).await?;
    check_max_new_tokens(request.max_new_tokens)?;
    let limit = Some(
        request
            .limit
            .unwrap_or(super::MAX_RUN_PROMPTS)
            .min(super::MAX_RUN_PROMPTS),
    );
    let side = |split| PromptFilter {
        split: Some(split),
        search: None,
    };
    let benign = prompts::ids(db, project_id, &side(Split::Benign), limit).await?;
    let harmful = prompts::ids(db, project_id, &side(Split::Redteam), limit).await?;
    if benign.is_empty() && harmful.is_empty() {
        return Err(PipelineError::invalid(
            "prompts",
            format!(
                "project `{}` has no benign or redteam prompts to evaluate on (import them with \
                 those splits, or pass --benign/--redteam files)",
                request.project
            ),
        ));
    }
    let dataset_version = match request.dataset_version.as_deref().map(str::trim) {
        Some(tag) if !tag.is_empty() => {
            if datasets::find(db, project_id, tag).await?.is_none() {
                return Err(PipelineError::invalid(
                    "dataset_version",
                    format!(
                        "project `{}` has no dataset version `{tag}`",
                        request.project
                    ),
                ));
            }
            Some(tag.to_owned())
        }
        _ => None,
    };
    let model = resolve_model(db, &request.model, None).await?;
    let mut warnings = Vec::new();
    let (judge, rubric_id, rubric) = match request.judge.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => {
            let judge = resolve_model(db, name, None).await?;
            let rubric = rubrics::resolve(db, &request.rubric).await?;
            rubrics::spec_of(&rubric)?;
            if judge.version == model.version {
                warnings.push(
                    "the judge is the evaluated model: it scores its own answers (self-consistency \
                     bias)"
                        .to_owned(),
                );
            }
            (
                Some(judge),
                Some(rubric.id),
                Some(format!("{}@{}", rubric.name, rubric.version)),
            )
        }
        _ => (None, None, None),
    };
    let mut prompt_ids: Vec<i64> = benign.iter().chain(&harmful).copied().collect();
    prompt_ids.sort_unstable();
    let payload = EvalPayload {
        model,
        judge,
        rubric_id,
        rubric,
        prompt_ids,
        harmful_ids: harmful,
        max_new_tokens: request.max_new_tokens,
        seed: request.seed.unwrap_or_else(draw_seed),
        dataset_version,
    };
    enqueue_run(
        db,
        (project_id, &request.project),
        EVAL,
        &payload,
        payload.prompt_ids.len(),
        warnings,
        created_by,
    )
    .await
}

/// Queues an evaluation run (reviewer); the models must be registered.
pub async fn start_eval(
    db: &DatabaseConnection,
    actor: &Actor,
    request: EvalRequest,
) -> Result<RunView> {
    project(
        db,
        actor,
        &request.project,
        Role::Reviewer,
        "evaluate a model",
    )
    .await?;
    for model in [Some(&request.model), request.judge.as_ref()]
        .into_iter()
        .flatten()
        .filter(|m| !m.trim().is_empty())
    {
        registered_only(db, actor, model).await?;
    }
    let detail = json!({
        "model": request.model, "judge": request.judge,
        "dataset_version": request.dataset_version, "limit": request.limit,
    });
    let run = create_eval(db, request, actor.id).await?;
    record(db, actor, "run.eval", &run, detail).await?;
    Ok(run)
}

/// Every finished evaluation of the projects the actor sees, oldest first: one point each of
/// the /eval page's Pareto plot.
pub async fn list_evaluations(
    db: &DatabaseConnection,
    actor: &Actor,
) -> Result<Vec<EvalPointView>> {
    access::require(actor, Role::Reviewer, "see evaluations")?;
    let visible = access::visible_projects(db, actor).await?;
    // Only the finished evaluation runs are read (not every run of the projects).
    let points: Vec<EvalPointView> = runs::finished_of_kind_among(db, visible.as_ref(), EVAL)
        .await?
        .into_iter()
        .filter_map(|(job, project)| {
            let r = runs::view(&job, &project);
            let figures: EvalFigures = serde_json::from_value(r.summary.clone()).ok()?;
            let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
            Some(EvalPointView {
                run: r.id,
                project: r.project.clone(),
                model: text(&r.payload["model"]["name"])
                    .unwrap_or_else(|| "(directory)".to_owned()),
                model_version: text(&r.payload["model"]["version"]).unwrap_or_default(),
                judge: text(&r.payload["judge"]["name"]),
                rubric: text(&r.payload["rubric"]),
                dataset_version: text(&r.payload["dataset_version"]),
                figures,
                finished_at: r.finished_at,
            })
        })
        .collect();
    Ok(points)
}

/// Adds evaluation prompts to a project: benign ones (split `benign`) or harmful ones
/// (`redteam`). Where the rows carry a `label` (XSTest: `safe` / `unsafe`), only the side's
/// rows are kept. Prompts the project already has keep their split. Returns how many were new.
pub async fn import_eval_prompts(
    db: &DatabaseConnection,
    actor: &Actor,
    project_name: &str,
    records: Vec<pairwise_core::PromptRecord>,
    harmful: bool,
    source: &str,
) -> Result<u64> {
    use sea_orm::TransactionTrait;
    let p = project(
        db,
        actor,
        project_name,
        Role::Reviewer,
        "add evaluation prompts",
    )
    .await?;
    let (field, want, split) = if harmful {
        ("redteam", "unsafe", Split::Redteam)
    } else {
        ("benign", "safe", Split::Benign)
    };
    let kept: Vec<pairwise_core::PromptRecord> = records
        .into_iter()
        .filter(|r| {
            r.metadata
                .get("label")
                .and_then(|v| v.as_str())
                .is_none_or(|l| l.trim().eq_ignore_ascii_case(want))
        })
        .map(|mut r| {
            r.split = Some(split);
            r.source = Some(source.to_owned());
            r
        })
        .collect();
    if kept.is_empty() {
        return Err(PipelineError::invalid(
            field,
            format!("the file has no {field} prompts (rows labelled `{want}`, or unlabelled)"),
        ));
    }
    let txn = db.begin().await?;
    let mut added = 0;
    for chunk in kept.chunks(500) {
        added += prompts::insert_batch(&txn, p.id, chunk, &Default::default()).await?;
    }
    txn.commit().await?;
    let detail = json!({"side": field, "rows": kept.len(), "added": added, "source": source});
    pairwise_store::audit::record(
        db,
        actor,
        "prompts.import_eval",
        &format!("project:{}", p.name),
        Some(&p.name),
        detail,
    )
    .await?;
    Ok(added)
}
