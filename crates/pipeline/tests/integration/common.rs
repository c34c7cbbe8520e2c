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
