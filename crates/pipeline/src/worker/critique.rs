//! Critique → revision loop runs (Constitutional AI): per prompt, the generator answers; the
//! critic critiques the answer against the principle drawn for the prompt; while it reports a
//! violation (or a verdict it cannot read), the reviser rewrites the answer, for up to the run's
//! rounds. The loop, with every critique and revision, and its pair (chosen = final revision,
//! rejected = original) are stored in one transaction per prompt, so a resumed run continues
//! after the prompts already done.

use super::{
    payload,
    prompts::{messages_of, request_text},
    storable,
    verdicts::Backend,
    Progress, Worker,
};
use crate::{
    error::{PipelineError, Result},
    runs::{CritiquePayload, ModelRef},
};
use pairwise_core::{
    constitution::{
        critique_prompt, read_verdict, revision_prompt, ConstitutionSpec, LoopEnd, LoopStep,
        Verdict, ANSWER_TEMPERATURE, CRITIC_TEMPERATURE, REVISER_TEMPERATURE,
    },
    decoding::Sampling,
    generation::candidate_seed,
    ChatMessage, PairRecord,
};
use pairwise_inference::{DecodingParams, Engine};
use pairwise_store::{
    constitutions,
    critiques::{self, NewLoop},
    entities::{job, prompt},
    pairs::{HashedPair, PairOrigin},
    prompts,
};
use serde_json::json;
use std::{collections::HashMap, sync::Arc};

/// The three roles of a loop.
struct Roles {
    generator: Backend,
    critic: Backend,
    reviser: Backend,
}

impl Worker {
    /// Runs the loops of the chunk's prompts not stored yet; returns the generator's version.
    pub(super) async fn critique(
        &mut self,
        job: &job::Model,
        progress: &Progress,
    ) -> Result<String> {
        let payload: CritiquePayload = payload(job)?;
        let spec =
            constitutions::spec_of(&constitutions::get(&self.db, payload.constitution_id).await?)?;
        let done = critiques::done_prompts(&self.db, job.id, progress.range()).await?;
        let todo = progress.pending(&payload.prompt_ids, &done);
        if todo.is_empty() {
            return Ok(payload.generator.version.clone());
        }
        let roles = self.roles(&payload).await?;
        for chunk in todo.chunks(64) {
            let loaded: HashMap<i64, prompt::Model> = prompts::get_many(&self.db, chunk)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
            for prompt_id in chunk {
                progress.check()?;
                let Some(prompt) = loaded.get(prompt_id) else {
                    // Deleted since the run was made: nothing to critique.
                    self.advance(progress, 1, 0).await?;
                    continue;
                };
                let (new, pair) = progress
                    .stoppable(one_loop(job, &payload, &spec, &roles, prompt))
                    .await?;
                let tokens = new.tokens;
                critiques::store(&self.db, new, pair).await?;
                self.advance(progress, 1, tokens).await?;
            }
        }
        Ok(payload.generator.version.clone())
    }

    /// The summary of a finished loop run, read from its stored loops.
    pub(super) async fn critique_summary(&self, job: &job::Model) -> Result<serde_json::Value> {
        let payload: CritiquePayload = payload(job)?;
        let mut summary = critiques::summary(&self.db, job.id).await?;
        summary["constitution"] = json!(payload.constitution);
        summary["rounds"] = json!(payload.rounds);
        Ok(summary)
    }

    /// A backend per role: models shared between roles are loaded once; the first local model
    /// is this worker's cached engine, another one is loaded for this chunk alone.
    async fn roles(&mut self, payload: &CritiquePayload) -> Result<Roles> {
        let mut loaded: Vec<(String, Backend)> = Vec::new();
        let mut local_cached = false;
        let mut backends = Vec::with_capacity(3);
        for model in [&payload.generator, &payload.critic, &payload.reviser] {
            let key = model_key(model);
            if let Some((_, backend)) = loaded.iter().find(|(k, _)| *k == key) {
                backends.push(backend.clone());
                continue;
            }
            let backend = if model.remote.is_some() || !local_cached {
                local_cached |= model.remote.is_none();
                self.backend(model).await?
            } else {
                let (path, device, threads) =
                    (model.path.clone(), model.device(), self.options.threads);
                let engine =
                    tokio::task::spawn_blocking(move || Engine::load(&path, device, threads))
                        .await
                        .map_err(|e| PipelineError::Internal(e.to_string()))??;
                Backend::Local(Arc::new(std::sync::Mutex::new(engine)))
            };
            loaded.push((key, backend.clone()));
            backends.push(backend);
        }
        let reviser = backends.pop().expect("three roles");
        let critic = backends.pop().expect("three roles");
        let generator = backends.pop().expect("three roles");
        Ok(Roles {
            generator,
            critic,
            reviser,
        })
    }
}

fn model_key(model: &ModelRef) -> String {
    serde_json::to_string(&(&model.path, &model.device, &model.version, &model.remote))
        .unwrap_or_default()
}

fn params(temperature: f32, max_new_tokens: u32, seed: u64) -> DecodingParams {
    DecodingParams {
        sampling: Sampling {
            temperature,
            top_p: 0.95,
            ..Sampling::default()
        },
        max_new_tokens,
        seed,
        stop: Vec::new(),
    }
}

fn user(content: String) -> Vec<ChatMessage> {
    vec![ChatMessage {
        role: "user".into(),
        content,
    }]
}

fn who(model: &ModelRef) -> serde_json::Value {
    json!({"name": model.name, "version": model.version})
}

/// One prompt's loop: the answer, the critiques and revisions, and the pair where it made one.
async fn one_loop(
    job: &job::Model,
    payload: &CritiquePayload,
    spec: &ConstitutionSpec,
    roles: &Roles,
    prompt: &prompt::Model,
) -> Result<(NewLoop, Option<(HashedPair, PairOrigin)>)> {
    let messages = messages_of(prompt);
    let request = request_text(prompt);
    let principle = spec.principle_for(payload.seed, prompt.id);
    let max = payload.max_new_tokens;
    let answer_seed = candidate_seed(payload.seed, prompt.id, 0);
    let (original, _, mut tokens) = roles
        .generator
        .complete(
            messages.clone(),
            params(ANSWER_TEMPERATURE, max, answer_seed),
        )
        .await?;
    let original = storable(original.trim().to_owned());
    let mut current = original.clone();
    let mut steps = Vec::new();
    let mut settled = false;
    for round in 1..=payload.rounds {
        let critic_seed = candidate_seed(payload.seed, prompt.id, 2 * round - 1);
        let (critique, _, t) = roles
            .critic
            .complete(
                user(critique_prompt(principle, &request, &current)),
                params(CRITIC_TEMPERATURE, max, critic_seed),
            )
            .await?;
        tokens += t;
        let critique = storable(critique.trim().to_owned());
        let verdict = read_verdict(&critique);
        if verdict == Verdict::NoViolation {
            steps.push(LoopStep {
                round,
                critique,
                verdict,
                revision: None,
                critic_seed,
                reviser_seed: None,
            });
            settled = true;
            break;
        }
        let reviser_seed = candidate_seed(payload.seed, prompt.id, 2 * round);
        let (revision, _, t) = roles
            .reviser
            .complete(
                user(revision_prompt(principle, &request, &current, &critique)),
                params(REVISER_TEMPERATURE, max, reviser_seed),
            )
            .await?;
        tokens += t;
        let revision = storable(revision.trim().to_owned());
        steps.push(LoopStep {
            round,
            critique,
            verdict,
            revision: Some(revision.clone()),
            critic_seed,
            reviser_seed: Some(reviser_seed),
        });
        current = revision;
    }
    let revisions = steps.iter().filter(|s| s.revision.is_some()).count() as u32;
    let end = LoopEnd::of(&original, &current, revisions, settled);
    let sampling = |temperature: f32| json!({"temperature": temperature, "top_p": 0.95, "max_new_tokens": max});
    let provenance = json!({
        "run": job.id,
        "constitution": payload.constitution,
        "principle": principle.name,
        "generator": who(&payload.generator),
        "critic": who(&payload.critic),
        "reviser": who(&payload.reviser),
        "params": {
            "answer": sampling(ANSWER_TEMPERATURE),
            "critic": sampling(CRITIC_TEMPERATURE),
            "reviser": sampling(REVISER_TEMPERATURE),
        },
        "run_seed": payload.seed,
        "answer_seed": answer_seed,
        "revisions": revisions,
        "max_rounds": payload.rounds,
        "end": end.as_str(),
    });
    let pair = end.makes_pair().then(|| {
        let record = PairRecord {
            prompt: messages,
            chosen: current.clone(),
            rejected: original.clone(),
            score_chosen: None,
            score_rejected: None,
            metadata: Default::default(),
        };
        (
            HashedPair::from(record),
            PairOrigin {
                strategy: "constitution".into(),
                source: format!("constitution:{}", payload.constitution),
                provenance: provenance.clone(),
            },
        )
    });
    let new = NewLoop {
        project_id: job.project_id,
        job_id: job.id,
        prompt_id: prompt.id,
        constitution_id: payload.constitution_id,
        principle: principle.name.clone(),
        original,
        final_text: current,
        revisions,
        end,
        steps,
        provenance,
        tokens,
    };
    Ok((new, pair))
}
