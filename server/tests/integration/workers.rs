//! Standalone `pairwise worker` processes: a worker killed mid-run is finished by another, exactly.
//
// Standalone `pairwise worker` processes against one database: one is killed with SIGKILL in the
// middle of a generation run, another takes the run over after the lease lapses, and the run
// ends with exactly prompts × N candidates.

use pairwise_core::PromptRecord;
use pairwise_pipeline::{create_generation, GenerateRequest};
use pairwise_store::{candidates, projects, prompts, runs, testing::TestDb};
use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const PROMPTS: usize = 60;
const N: u32 = 4;

fn worker(url: &str, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_pairwise"))
        .args([
            "--database-url",
            url,
            "worker",
            "--lease-secs",
            "1",
            "--threads",
            "1",
        ])
        .args(extra)
        .env("PAIRWISE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(std::env::temp_dir().join("pairwise-worker-test.log"))
                .map_or(Stdio::null(), Stdio::from),
        )
        .spawn()
        .expect("start pairwise worker")
}

#[tokio::test]
async fn a_killed_worker_run_is_finished_by_another_with_no_duplicate_or_missing_candidates() {
    for t in TestDb::all().await {
        let project = projects::create(&t.db, "kill", "", None)
            .await
            .expect("project");
        let records: Vec<PromptRecord> = (0..PROMPTS)
            .map(|i| {
                let text = format!("Question {i}: explain item {i} in detail.");
                PromptRecord {
                    line: i as u64 + 1,
                    external_id: None,
                    hash: pairwise_core::stable_hash(&text),
                    text,
                    messages: None,
                    source: None,
                    domain: None,
                    split: None,
                    metadata: Default::default(),
                }
            })
            .collect();
        prompts::insert_batch(&t.db, project.id, &records, &Default::default())
            .await
            .expect("prompts");
        let mut request = GenerateRequest::new(
            "kill",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../models/tiny"),
        );
        request.n = N;
        request.max_new_tokens = 64;
        let run = create_generation(&t.db, request, None).await.expect("run");
        let total = PROMPTS as u64 * u64::from(N);

        let mut first = worker(&t.url, &[]);
        let started = Instant::now();
        let reached = loop {
            let n = candidates::count_for_job(&t.db, run.id)
                .await
                .expect("count");
            if n >= 2 * u64::from(N) {
                break true;
            }
            if started.elapsed() > Duration::from_secs(120) {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        first.kill().expect("SIGKILL");
        first.wait().expect("reap");
        assert!(
            reached,
            "the worker never started: {}",
            std::fs::read_to_string(std::env::temp_dir().join("pairwise-worker-test.log"))
                .unwrap_or_default()
        );
        let at_kill = candidates::count_for_job(&t.db, run.id)
            .await
            .expect("count");
        assert!(
            at_kill < total,
            "{}: the run finished before the kill ({at_kill} candidates); make it longer",
            t.backend
        );
        assert_eq!(
            runs::get(&t.db, run.id).await.expect("job").status,
            "running"
        );

        // After the dead worker's lease lapses, a second worker continues the run.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let status = tokio::task::spawn_blocking({
            let url = t.url.clone();
            move || worker(&url, &["--exit-when-idle"]).wait()
        })
        .await
        .expect("join")
        .expect("second worker");
        assert!(status.success());
        let job = runs::get(&t.db, run.id).await.expect("job");
        assert_eq!(job.status, "done", "{}", t.backend);
        // The run was planned once. The dead worker held at most one chunk when it died (none
        // if the kill fell between two chunks); that chunk was claimed a second time.
        use pairwise_store::entities::job_chunk;
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let retaken = job_chunk::Entity::find()
            .filter(job_chunk::Column::JobId.eq(run.id))
            .filter(job_chunk::Column::Attempts.eq(2))
            .count(&t.db)
            .await
            .expect("chunks");
        assert!(
            job.attempts == 1 && retaken <= 1,
            "{}: {retaken}",
            t.backend
        );
        let stored = candidates::for_runs(&t.db, project.id, &[run.id])
            .await
            .expect("candidates");
        assert_eq!(stored.len() as u64, total, "{}", t.backend);
        let keys: std::collections::BTreeSet<(i64, i32)> =
            stored.iter().map(|c| (c.prompt_id, c.idx)).collect();
        assert_eq!(keys.len() as u64, total, "no duplicates");
        assert_eq!(job.done, PROMPTS as i64);
        t.finish().await;
    }
}
