//! Helpers shared by the run topics: the tiny test model, a project with prompts, a worker.

use pairwise_core::PromptRecord;
use pairwise_pipeline::{Worker, WorkerOptions};
use pairwise_store::{projects, prompts, DatabaseConnection};
use std::time::Duration;

/// HH-RLHF harmless-base test split (2,312 pairs) in the shared data.
pub(crate) fn hh_file() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/hh-rlhf/harmless-base-test.jsonl.gz")
}

pub(crate) fn tiny() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/tiny")
        .display()
        .to_string()
}

pub(crate) async fn project_with_prompts(db: &DatabaseConnection, texts: &[&str]) {
    let p = projects::create(db, "gen", "", None)
        .await
        .expect("project");
    let records: Vec<PromptRecord> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| PromptRecord {
            line: i as u64 + 1,
            external_id: None,
            text: (*t).to_owned(),
            messages: None,
            source: None,
            domain: None,
            split: None,
            metadata: Default::default(),
            hash: pairwise_core::stable_hash(t),
        })
        .collect();
    prompts::insert_batch(db, p.id, &records, &Default::default())
        .await
        .expect("prompts");
}

pub(crate) fn worker(db: &DatabaseConnection, id: &str) -> Worker {
    Worker::new(
        db.clone(),
        WorkerOptions {
            id: id.into(),
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(10),
            threads: 1,
        },
    )
}

/// A new annotator `name` votes on every item the queue gives them; `decide` picks the key
/// pressed (`a` = left) and the time taken from the showing and its item.
pub(crate) async fn vote_through_queue(
    db: &DatabaseConnection,
    project_id: i64,
    name: &str,
    decide: impl Fn(
        &pairwise_store::entities::assignment::Model,
        &pairwise_store::entities::comparison::Model,
    ) -> (&'static str, i64),
) {
    use pairwise_store::{annotation, users};
    let u = users::create(
        db,
        name,
        pairwise_core::Role::Annotator,
        "a long enough password",
    )
    .await
    .expect("user");
    loop {
        let next = annotation::next(db, project_id, u.id, 1)
            .await
            .expect("next");
        let Some((a, c)) = next.first() else { break };
        let (choice, duration_ms) = decide(a, c);
        let vote = annotation::NewVote {
            choice: choice.into(),
            dimensions: Default::default(),
            rationale: String::new(),
            duration_ms,
        };
        annotation::vote(db, u.id, a.id, &vote).await.expect("vote");
    }
}
