//! Domain builders: pairs whose negatives are made on purpose — math errors injected into
//! reference solutions, code run in a sandbox against its tests, tool-call trajectories checked
//! against their schemas, reward-hacking guards (padded, hedging, premise-agreeing answers) — stored in a project like imported pairs (atomic, audited, with the
//! builder, its input and its options as provenance) and written as TRL JSONL.

pub mod agent;
pub mod agent_fix;
pub mod code;
pub mod guards;
pub mod jobs;
pub mod math;
pub mod sandbox;

use crate::import::{Import, ImportAudit, ImportError};
use pairwise_core::{dto::PairImportReport, Actor, PairRecord, Role};
use pairwise_store::{
    pairs::{self, HashedPair, PairOrigin},
    DatabaseConnection,
};

/// Rows per INSERT, as for imports.
const BATCH: usize = 2000;

/// Which builder made a set of pairs, recorded as the pairs' strategy (`math`, `code`,
/// `agent`) and provenance.
#[derive(Debug, Clone)]
pub struct Built {
    pub builder: &'static str,
    /// The input's name (a file name).
    pub source: String,
    /// Builder options and input hash, stored as the pairs' provenance.
    pub provenance: serde_json::Value,
    pub pairs: Vec<PairRecord>,
}

/// Stores built pairs in `project`, all or nothing; pairs already there (same hash) are
/// counted as duplicates. Needs the reviewer role, like a pair import.
pub async fn store_pairs(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &str,
    built: Built,
) -> Result<PairImportReport, ImportError> {
    let project = crate::access::project(db, actor, project, Role::Reviewer, "build pairs").await?;
    store_in(db, actor, &project, built).await
}

/// [`store_pairs`] into a project already checked (a queued build, checked when queued).
pub(crate) async fn store_in(
    db: &DatabaseConnection,
    actor: &Actor,
    project: &pairwise_store::entities::project::Model,
    built: Built,
) -> Result<PairImportReport, ImportError> {
    let origin = PairOrigin {
        strategy: built.builder.to_string(),
        source: built.source,
        provenance: built.provenance,
    };
    let records = built.pairs;
    let mut import = Import::start(db, false, move |tx| {
        let mut batch = Vec::with_capacity(BATCH);
        for record in records {
            batch.push(HashedPair::from(record));
            if batch.len() == BATCH
                && tx
                    .blocking_send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))))
                    .is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Ok(batch));
        }
    })
    .await?;
    while let Some(batch) = import.next_batch().await? {
        let inserted = pairs::insert_batch(import.txn(), project.id, &batch, &origin).await?;
        import.count(batch.len(), inserted);
    }
    let action = match built.builder {
        "math" => "pairs.build_math",
        "code" => "pairs.build_code",
        "guards" => "pairs.build_guards",
        _ => "pairs.build_agent",
    };
    let entry = ImportAudit {
        actor,
        action,
        project: &project.name,
    };
    let report = |t: crate::import::Tally| PairImportReport {
        rows: t.rows,
        inserted: t.inserted,
        duplicates: t.rows - t.inserted,
    };
    let tally = import
        .finish(entry, |t| serde_json::json!(report(t)))
        .await?;
    Ok(report(tally))
}

/// A one-turn prompt.
pub(crate) fn user_prompt(text: &str) -> Vec<pairwise_core::ChatMessage> {
    vec![pairwise_core::ChatMessage {
        role: "user".into(),
        content: text.to_string(),
    }]
}

/// Builds the pairs of a JSONL file of tool-call trajectories: each faulty trajectory with a
/// correction that re-checks clean is a pair (see [`agent`]). With a `generator`, a faulty
/// trajectory without a correction gets one from the model (see [`agent_fix`]), kept only if it
/// re-checks clean; `progress` gets the trajectories done.
pub async fn build_agent(
    input: &[u8],
    source: &str,
    generator: Option<&pairwise_inference::RemoteModel>,
    progress: impl Fn(usize),
) -> Result<(Built, agent::AgentSummary), AgentBuildError> {
    let trajectories: Vec<agent::Trajectory> =
        agent::read_trajectories(input).collect::<Result<_, _>>()?;
    let mut summary = agent::AgentSummary::default();
    let mut pairs = Vec::new();
    let mut generated = GeneratedCounts::default();
    for (done, t) in trajectories.iter().enumerate() {
        let findings = agent::check(t);
        let mut t = t.clone();
        let mut origin = "supplied";
        if let (Some(model), false, None) = (generator, findings.is_empty(), &t.correction) {
            generated.asked += 1;
            match agent_fix::generate_correction(model, &t).await? {
                agent_fix::Generated::Clean(correction) => {
                    generated.clean += 1;
                    t.correction = Some(correction);
                    origin = "generator";
                }
                agent_fix::Generated::Refused(why) => {
                    tracing::info!(trajectory = %t.id, %why, "generated correction refused");
                    generated.refused += 1;
                }
            }
        }
        let outcome = agent::build(&t);
        summary.add(&findings, &outcome);
        if let Ok(Some(mut pair)) = outcome {
            pair.metadata
                .insert("correction_origin".into(), serde_json::json!(origin));
            if origin == "generator" {
                if let Some(model) = generator {
                    pair.metadata
                        .insert("generator".into(), serde_json::json!(model.version()));
                }
            }
            pairs.push(pair);
        }
        progress(done + 1);
    }
    let built = Built {
        builder: "agent",
        source: source.to_string(),
        provenance: serde_json::json!({
            "builder": "agent",
            "builder_version": 1,
            "input": source,
            "input_sha256": pairwise_core::stable_hash(input),
            "loop_threshold": agent::LOOP_THRESHOLD,
            "generator": generator.map(|m| m.version()),
        }),
        pairs,
    };
    summary.generated = (generator.is_some()).then_some(generated);
    Ok((built, summary))
}

/// Corrections asked of a generator, and how many re-checked clean.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GeneratedCounts {
    pub asked: usize,
    pub clean: usize,
    pub refused: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentBuildError {
    #[error(transparent)]
    Input(#[from] agent::AgentInputError),
    #[error("the generator failed: {0}")]
    Generator(#[from] pairwise_inference::RemoteError),
}
