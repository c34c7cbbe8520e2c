//! Critique → revision loop runs (Constitutional AI): validated and resolved here into the
//! payload a worker follows, so a resumed run uses the same models, constitution version,
//! principles and seeds.

use super::{
    check_max_new_tokens, draw_seed, enqueue_run, project_id, record, registered_only,
    resolve_model, ModelRef,
};
use crate::{
    access::project,
    error::{PipelineError, Result},
};
use pairwise_core::{
    constitution::MAX_ROUNDS,
    dto::{CritiqueLoopView, RunView},
    run_requests::CritiqueRequest,
    Actor, Role, Split,
};
use pairwise_store::{
    constitutions, critiques,
    prompts::{self, PromptFilter},
    DatabaseConnection,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const CRITIQUE: &str = "critique";

/// The `split` that runs the loop on the built-in false-premise probes (item 4 of the
/// sycophancy guards): their prompts are added to the project as red-team prompts (source
/// `probes:false-premise`) where it lacks them, and the loop answers, critiques and revises
/// them — the constitution's honesty-over-politeness principle asks to correct the premise.
pub const PROBES: &str = "probes";

/// Adds the built-in false-premise probes' prompts to a project (those it has are kept) and
/// returns their ids.
async fn add_probes(db: &DatabaseConnection, project_id: i64) -> Result<Vec<i64>> {
    let lines: String = pairwise_core::builders::guards::read_items(
        crate::builders::guards::FALSE_PREMISE_PROBES.as_bytes(),
    )
    .map(|item| {
        item.map(|i| {
            json!({"prompt": i.prompt, "split": "redteam", "domain": "sycophancy",
                   "source": "probes:false-premise"})
            .to_string()
                + "\n"
        })
    })
    .collect::<std::result::Result<_, _>>()
    .map_err(|e| PipelineError::Internal(format!("built-in probes: {e}")))?;
    let records =
        pairwise_core::PromptReader::new(lines.as_bytes(), pairwise_core::ImportFormat::Jsonl)
            .map_err(|e| PipelineError::Internal(format!("built-in probes: {e}")))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| PipelineError::Internal(format!("built-in probes: {e}")))?;
    prompts::insert_batch(db, project_id, &records, &Default::default()).await?;
    let hashes: Vec<String> = records.iter().map(|r| r.hash.clone()).collect();
    Ok(prompts::ids_by_hash(db, project_id, &hashes).await?)
}

/// The payload of a critique loop run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CritiquePayload {
    pub generator: ModelRef,
    pub critic: ModelRef,
    pub reviser: ModelRef,
    pub constitution_id: i64,
    /// `name@version`, for provenance.
    pub constitution: String,
    pub rounds: u32,
    pub max_new_tokens: u32,
    pub seed: u64,
    pub prompt_ids: Vec<i64>,
}

/// Validates and enqueues a critique loop run. A critic with the generator's version is
/// allowed, with a warning recorded on the run (it grades its own answers).
pub async fn create_critique(
    db: &DatabaseConnection,
    request: CritiqueRequest,
    created_by: Option<i64>,
) -> Result<RunView> {
    let project_id = project_id(db, &request.project).await?;
    if request.rounds == 0 || request.rounds > MAX_ROUNDS {
        return Err(PipelineError::invalid(
            "rounds",
            format!(
                "must be between 1 and {MAX_ROUNDS} (got {})",
                request.rounds
            ),
        ));
    }
    check_max_new_tokens(request.max_new_tokens)?;
    let probes = request.split.trim() == PROBES;
    let split = match request.split.trim() {
        "" | "all" | PROBES => None,
        s => Some(
            s.parse::<Split>()
                .map_err(|e| PipelineError::invalid("split", e))?,
        ),
    };
    let constitution = constitutions::resolve(db, &request.constitution)
        .await
        .map_err(|e| match e {
            pairwise_store::StoreError::NotFound(what) => {
                PipelineError::invalid("constitution", format!("{what} does not exist"))
            }
            other => other.into(),
        })?;
    constitutions::spec_of(&constitution)?;
    let filter = PromptFilter {
        split,
        search: None,
    };
    let limit = request
        .limit
        .unwrap_or(super::MAX_RUN_PROMPTS)
        .min(super::MAX_RUN_PROMPTS);
    let prompt_ids = if probes {
        let mut ids = add_probes(db, project_id).await?;
        ids.truncate(limit as usize);
        ids
    } else {
        prompts::ids(db, project_id, &filter, Some(limit)).await?
    };
    if prompt_ids.is_empty() {
        return Err(PipelineError::invalid(
            "split",
            format!(
                "project `{}` has no {} prompts",
                request.project,
                split.map_or("", |s| s.as_str())
            ),
        ));
    }
    let generator = resolve_model(db, &request.generator, None).await?;
    let critic = resolve_model(db, &request.critic, None).await?;
    let reviser = match &request.reviser {
        Some(name) if !name.trim().is_empty() => resolve_model(db, name, None).await?,
        _ => generator.clone(),
    };
    let mut warnings = Vec::new();
    if critic.version == generator.version || critic.version == reviser.version {
        warnings.push(format!(
            "the critic is the {} (same model version {}): it critiques its own answers, so \
             it tends to find them fine",
            if critic.version == generator.version {
                "generator"
            } else {
                "reviser"
            },
            &critic.version[..12.min(critic.version.len())]
        ));
    }
    let payload = CritiquePayload {
        generator,
        critic,
        reviser,
        constitution_id: constitution.id,
        constitution: format!("{}@{}", constitution.name, constitution.version),
        rounds: request.rounds,
        max_new_tokens: request.max_new_tokens,
        seed: request.seed.unwrap_or_else(draw_seed),
        prompt_ids,
    };
    let total = payload.prompt_ids.len();
    enqueue_run(
        db,
        (project_id, &request.project),
        CRITIQUE,
        &payload,
        total,
        warnings,
        created_by,
    )
    .await
}

/// Queues a critique loop run (reviewer); the models must be registered.
pub async fn start_critique(
    db: &DatabaseConnection,
    actor: &Actor,
    request: CritiqueRequest,
) -> Result<RunView> {
    project(
        db,
        actor,
        &request.project,
        Role::Reviewer,
        "start a critique loop",
    )
    .await?;
    for model in [
        Some(&request.generator),
        Some(&request.critic),
        request.reviser.as_ref(),
    ]
    .into_iter()
    .flatten()
    .filter(|m| !m.trim().is_empty())
    {
        registered_only(db, actor, model).await?;
    }
    let detail = json!({
        "generator": request.generator, "critic": request.critic,
        "reviser": request.reviser, "constitution": request.constitution, "rounds": request.rounds,
    });
    let run = create_critique(db, request, actor.id).await?;
    record(db, actor, "run.critique", &run, detail).await?;
    Ok(run)
}

/// The loops of a critique run, in prompt order: principle, every critique and revision, how
/// each ended, and the pair's hash (reviewers of the run's project).
pub async fn critique_loops(
    db: &DatabaseConnection,
    actor: &Actor,
    run: i64,
    offset: u64,
    limit: u64,
) -> Result<Vec<CritiqueLoopView>> {
    let view = super::show_run(db, actor, run).await?;
    if view.kind != CRITIQUE {
        return Err(PipelineError::invalid(
            "run",
            format!("run {run} is a {} run, not a critique loop", view.kind),
        ));
    }
    Ok(critiques::for_job(db, run, offset, limit.clamp(1, 500)).await?)
}
