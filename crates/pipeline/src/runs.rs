//! Creating runs: a generation run over a project's prompts, or a judge run over its candidates.
//! Everything a worker needs is resolved and validated here and stored as the job's payload, so a
//! resumed run does exactly what the first attempt started (same prompts, same seeds).

use crate::error::{PipelineError, Result};
pub use pairwise_core::run_requests::{GenerateRequest, JudgeRequest, ReferenceRequest};
use pairwise_core::{
    dto::RunView,
    generation::{GenerationPath, PathPreset},
    judge::JudgeMode,
};
use pairwise_inference::{Device, ModelDir};
use pairwise_store::{
    candidates, models, projects,
    prompts::{self, PromptFilter},
    rubrics, runs, DatabaseConnection,
};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, path::PathBuf};

pub const GENERATE: &str = "generate";
pub const JUDGE: &str = "judge";

/// Most candidates per prompt one run may ask for.
pub const MAX_CANDIDATES: u32 = 64;
/// Most prompts one run may cover (the prompt ids live in the job's payload).
pub const MAX_RUN_PROMPTS: u64 = 100_000;

/// A model as a run uses it: where it is, which version it was when the run was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRef {
    /// The registered name, when it is registered.
    pub name: Option<String>,
    pub path: PathBuf,
    pub version: String,
    pub device: String,
    /// A model behind an OpenAI-compatible server (then `path` is empty).
    #[serde(default)]
    pub remote: Option<pairwise_inference::RemoteConfig>,
}

impl ModelRef {
    pub fn device(&self) -> Device {
        self.device.parse().unwrap_or(Device::Cpu)
    }
}

/// `NAME` of a registered model, or a model directory.
pub async fn resolve_model(
    db: &DatabaseConnection,
    name_or_dir: &str,
    device: Option<&str>,
) -> Result<ModelRef> {
    if let Some(m) = models::find(db, name_or_dir).await? {
        if let Some(remote) = &m.remote {
            let config: pairwise_inference::RemoteConfig = serde_json::from_str(remote)
                .map_err(|e| PipelineError::Internal(format!("model {}: {e}", m.name)))?;
            return Ok(ModelRef {
                name: Some(m.name),
                path: PathBuf::new(),
                version: m.version,
                device: "remote".into(),
                remote: Some(config),
            });
        }
        let path = PathBuf::from(&m.path);
        let version = open_version(path.clone()).await?;
        if models::record_version(db, m.id, &version).await? {
            tracing::info!(model = %m.name, %version, "model files changed: new version recorded");
        }
        return Ok(ModelRef {
            name: Some(m.name),
            path,
            version,
            device: device.unwrap_or(&m.device).to_owned(),
            remote: None,
        });
    }
    let path = PathBuf::from(name_or_dir);
    if !path.is_dir() {
        return Err(PipelineError::invalid(
            "model",
            format!("`{name_or_dir}` is neither a registered model nor a model directory"),
        ));
    }
    let path = path.canonicalize().unwrap_or(path);
    let version = open_version(path.clone()).await?;
    Ok(ModelRef {
        name: None,
        path,
        version,
        device: device.unwrap_or("cpu").to_owned(),
        remote: None,
    })
}

/// Opens a model directory (checks its files) and returns its content-hash version.
pub async fn open_version(path: PathBuf) -> Result<String> {
    tokio::task::spawn_blocking(move || ModelDir::open(&path).map(|d| d.version))
        .await
        .map_err(|e| PipelineError::Internal(e.to_string()))?
        .map_err(|e| PipelineError::invalid("model", e.to_string()))
}

/// The payload of a generation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratePayload {
    pub model: ModelRef,
    pub prompt_ids: Vec<i64>,
    pub n: u32,
    pub paths: Vec<GenerationPath>,
    pub presets: BTreeMap<GenerationPath, PathPreset>,
    pub max_new_tokens: u32,
    pub seed: u64,
}

pub(crate) async fn project_id(db: &DatabaseConnection, name: &str) -> Result<i64> {
    Ok(projects::find(db, name)
        .await?
        .ok_or_else(|| PipelineError::NotFound(format!("project `{name}`")))?
        .id)
}

/// Most new tokens of a generated text: 1–4096.
pub(crate) fn check_max_new_tokens(value: u32) -> Result<()> {
    if value == 0 || value > 4096 {
        return Err(PipelineError::invalid(
            "max_new_tokens",
            format!("must be between 1 and 4096 (got {value})"),
        ));
    }
    Ok(())
}

/// A run seed for a request that names none: random, never 0 (0 was once the silent default, so a
/// recorded 0 always means someone asked for it).
pub(crate) fn draw_seed() -> u64 {
    rand::random::<u64>().max(1)
}

/// Validates and enqueues a generation run.
pub async fn create_generation(
    db: &DatabaseConnection,
    request: GenerateRequest,
    created_by: Option<i64>,
) -> Result<RunView> {
    let project_id = project_id(db, &request.project).await?;
    if request.n == 0 || request.n > MAX_CANDIDATES {
        return Err(PipelineError::invalid(
            "n",
            format!("must be between 1 and {MAX_CANDIDATES} (got {})", request.n),
        ));
    }
    let mut paths = request.paths.clone();
    paths.dedup();
    if paths.is_empty() {
        return Err(PipelineError::invalid("paths", "choose at least one path"));
    }
    check_max_new_tokens(request.max_new_tokens)?;
    let mut presets = BTreeMap::new();
    for path in &paths {
        let preset = request
            .presets
            .get(path)
            .copied()
            .unwrap_or_else(|| path.default_preset());
        path.check_preset(&preset, request.confirm_high_temperature)
            .map_err(|m| PipelineError::invalid("presets", m))?;
        presets.insert(*path, preset);
    }
    let limit = request
        .limit
        .unwrap_or(MAX_RUN_PROMPTS)
        .min(MAX_RUN_PROMPTS);
    let filter = PromptFilter {
        split: request.split,
        search: request.search.clone(),
    };
    let prompt_ids = prompts::ids(db, project_id, &filter, Some(limit)).await?;
    if prompt_ids.is_empty() {
        return Err(PipelineError::invalid(
            "prompts",
            format!(
                "project `{}` has no prompts matching the filter",
                request.project
            ),
        ));
    }
    let model = resolve_model(db, &request.model, request.device.as_deref()).await?;
    let payload = GeneratePayload {
        model,
        n: request.n,
        paths,
        presets,
        max_new_tokens: request.max_new_tokens,
        seed: request.seed.unwrap_or_else(draw_seed),
        prompt_ids,
    };
    let total = payload.prompt_ids.len();
    enqueue_run(
        db,
        (project_id, &request.project),
        GENERATE,
        &payload,
        total,
        Vec::new(),
        created_by,
    )
    .await
}

/// Queues `payload` as a run of `kind` with `total` items in a project and returns the view that
/// every `start_*` use case answers with.
pub(crate) async fn enqueue_run<P: Serialize>(
    db: &DatabaseConnection,
    (project_id, project): (i64, &str),
    kind: &str,
    payload: &P,
    total: usize,
    warnings: Vec<String>,
    created_by: Option<i64>,
) -> Result<RunView> {
    let job = runs::enqueue(
        db,
        runs::NewJob {
            project_id,
            kind: kind.into(),
            payload: serde_json::to_value(payload)
                .map_err(|e| PipelineError::Internal(e.to_string()))?,
            total: total as i64,
            warnings,
            created_by,
        },
    )
    .await?;
    Ok(runs::view(&job, project))
}

/// The payload of a judge run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgePayload {
    pub model: ModelRef,
    pub rubric_id: i64,
    pub mode: JudgeMode,
    /// Judge the candidates of these generation runs.
    pub generation_runs: Vec<i64>,
    pub max_new_tokens: u32,
    /// Every judge prompt asks the judge to leave the answers' length out of its verdict.
    #[serde(default)]
    pub length_controlled: bool,
    /// Also judge up to this many of the project's gold items (the oldest), apart from pairs.
    #[serde(default)]
    pub gold_items: u32,
}

/// Validates and enqueues a judge run. A judge with the same version as a generator of the
/// candidates is allowed, with a warning recorded on the run (self-consistency bias).
pub async fn create_judge(
    db: &DatabaseConnection,
    request: JudgeRequest,
    created_by: Option<i64>,
) -> Result<RunView> {
    let project_id = project_id(db, &request.project).await?;
    let rubric = rubrics::resolve(db, &request.rubric).await?;
    rubrics::spec_of(&rubric)?;
    let runs =
        finished_generation_runs(db, project_id, &request.project, request.runs.clone()).await?;
    let stored = candidates::for_runs(db, project_id, &runs).await?;
    if stored.is_empty() {
        return Err(PipelineError::invalid(
            "runs",
            "those runs have no candidates",
        ));
    }
    let model = resolve_model(db, &request.model, request.device.as_deref()).await?;
    if model.remote.is_some() && request.mode == JudgeMode::Reward {
        return Err(PipelineError::invalid(
            "mode",
            "a remote model judges in json, prob or pairwise mode; reward models run locally",
        ));
    }
    let mut warnings = Vec::new();
    if stored.iter().any(|c| c.model_version == model.version) {
        warnings.push(format!(
            "the judge is the generator (same model version {}): self-consistency bias — its \
             scores favour its own style",
            &model.version[..12.min(model.version.len())]
        ));
    }
    let payload = JudgePayload {
        model,
        rubric_id: rubric.id,
        mode: request.mode,
        generation_runs: runs,
        max_new_tokens: request.max_new_tokens.clamp(8, 1024),
        length_controlled: request.length_controlled,
        gold_items: request.gold_items,
    };
    if request.length_controlled && request.mode == JudgeMode::Reward {
        return Err(PipelineError::invalid(
            "length_controlled",
            "a reward model reads no prompt to ask: length control is for json, prob and \
             pairwise judges",
        ));
    }
    enqueue_run(
        db,
        (project_id, &request.project),
        JUDGE,
        &payload,
        0,
        warnings,
        created_by,
    )
    .await
}

pub const REFERENCE: &str = "reference";

/// The payload of a reference-scoring run: the mean per-token log-probability of every candidate
/// of the generation runs under a reference model (hard-negative analysis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferencePayload {
    pub model: ModelRef,
    pub generation_runs: Vec<i64>,
}

/// Queues a reference-scoring run over a project's generation runs (default: every finished one).
pub async fn create_reference(
    db: &DatabaseConnection,
    project: &str,
    model: &str,
    runs: Vec<i64>,
    created_by: Option<i64>,
) -> Result<RunView> {
    let project_id = project_id(db, project).await?;
    let runs = finished_generation_runs(db, project_id, project, runs).await?;
    let model = resolve_model(db, model, None).await?;
    if let Some(config) = &model.remote {
        // Checked now rather than at the first item: a server that does not echo prompt
        // log-probs would otherwise fail the run later (never store a silent zero). Where the
        // key is only in the workers' environment, the workers check it instead.
        if let Ok(client) = pairwise_inference::RemoteModel::new(config.clone()) {
            client
                .with_max_attempts(2)
                .check_prompt_logprobs()
                .await
                .map_err(|e| PipelineError::invalid("model", e.to_string()))?;
        }
    }
    let prompts = candidates::for_runs(db, project_id, &runs)
        .await?
        .iter()
        .map(|c| c.prompt_id)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    enqueue_run(
        db,
        (project_id, project),
        REFERENCE,
        &ReferencePayload {
            model,
            generation_runs: runs,
        },
        prompts,
        Vec::new(),
        created_by,
    )
    .await
}

/// The given generation runs of the project (checked), or all its finished ones.
pub(crate) async fn finished_generation_runs(
    db: &DatabaseConnection,
    project_id: i64,
    project: &str,
    runs: Vec<i64>,
) -> Result<Vec<i64>> {
    let runs = if runs.is_empty() {
        runs::list(db, Some(project_id), 10_000)
            .await?
            .into_iter()
            .filter(|r| r.kind == GENERATE && r.status == runs::DONE)
            .map(|r| r.id)
            .collect::<Vec<_>>()
    } else {
        for id in &runs {
            let job = runs::get(db, *id).await?;
            if job.project_id != project_id || job.kind != GENERATE {
                return Err(PipelineError::invalid(
                    "runs",
                    format!("run {id} is not a generation run of `{project}`"),
                ));
            }
        }
        runs
    };
    if runs.is_empty() {
        return Err(PipelineError::invalid(
            "runs",
            format!("project `{project}` has no finished generation run"),
        ));
    }
    Ok(runs)
}

mod actions;
mod critique;
mod duel;
mod eval;
mod refusal_check;
pub use actions::{
    cancel_run, list_runs, retry_run, show_run, start_generation, start_judge, start_reference,
};
pub(crate) use actions::{record, registered_only};
pub use critique::{create_critique, critique_loops, start_critique, CritiquePayload, CRITIQUE};
pub(crate) use duel::tally_rows;
pub use duel::{create_duel, duel_view, start_duel, DuelPayload, DUEL, ROUND_GROUP};
pub use eval::{create_eval, import_eval_prompts, list_evaluations, start_eval, EvalPayload, EVAL};
pub use refusal_check::{
    create_refusal_check, list_refusal_checks, start_refusal_check, RefusalCheckPayload,
    RefusalCheckSummary, REFUSAL_CHECK,
};
