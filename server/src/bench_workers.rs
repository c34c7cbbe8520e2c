//! `pairwise bench workers`: one generation run processed by one worker process and by two, side
//! by side in one invocation on one database (a new PostgreSQL database on the server of
//! `--database-url`, or a temporary SQLite file). Each configuration gets its own run of the same
//! prompts and seed; the benchmark checks that every run ends done with exactly prompts × N
//! candidates, none twice, and the same texts whoever generated them. Writes JSON under
//! `bench/results/`.
//!
//! Also [`Scratch`], the fresh database every benchmark runs in.

use anyhow::{bail, ensure, Context};
use clap::Args;
use pairwise_core::PromptRecord;
use pairwise_store::{candidates, projects, prompts, runs, DatabaseConnection};
use serde_json::json;
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

/// A fresh, migrated database for one benchmark: a new database on the PostgreSQL server of a
/// `postgres://` URL (dropped by [`Scratch::finish`]), or else a temporary SQLite file.
pub struct Scratch {
    pub url: String,
    pub backend: &'static str,
    pub db: DatabaseConnection,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    pub async fn new(database_url: &str) -> anyhow::Result<Self> {
        if database_url.starts_with("postgres") {
            let admin = pairwise_store::connect(database_url)
                .await
                .with_context(|| format!("cannot open {database_url}"))?;
            let name = format!("pairwise_bench_{:016x}", rand::random::<u64>());
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("CREATE DATABASE {name}"),
            )
            .await
            .context("creating the benchmark database")?;
            admin.close().await.ok();
            let (base, query) = match database_url.split_once('?') {
                Some((base, query)) => (base, format!("?{query}")),
                None => (database_url, String::new()),
            };
            let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
            let url = format!("{base}/{name}{query}");
            let db = pairwise_store::connect(&url).await?;
            pairwise_store::migrate(&db).await?;
            return Ok(Self {
                url,
                backend: "postgres",
                db,
                postgres: Some((database_url.to_owned(), name)),
                _dir: None,
            });
        }
        let dir = tempfile::tempdir()?;
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        let db = pairwise_store::connect(&url).await?;
        pairwise_store::migrate(&db).await?;
        Ok(Self {
            url,
            backend: "sqlite",
            db,
            postgres: None,
            _dir: Some(dir),
        })
    }

    /// Closes the pool and drops the PostgreSQL database (the SQLite file goes with its
    /// directory).
    pub async fn finish(self) -> anyhow::Result<()> {
        self.db.close().await.ok();
        if let Some((admin_url, name)) = self.postgres {
            let admin = pairwise_store::connect(&admin_url).await?;
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await?;
            admin.close().await.ok();
        }
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct BenchWorkersArgs {
    /// The generator (an ONNX model directory).
    #[arg(long, default_value = "models/tiny")]
    pub model: PathBuf,
    /// Prompts in the run.
    #[arg(long, default_value_t = 48)]
    pub prompts: usize,
    /// Candidates per prompt.
    #[arg(long, default_value_t = 8)]
    pub n: u32,
    #[arg(long, default_value_t = 64)]
    pub max_new_tokens: u32,
    /// ONNX Runtime threads of each worker when two share the machine.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Where to write the JSON (default: bench/results/workers-<backend>.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One configuration: `workers` processes with `threads` ONNX Runtime threads each.
struct Config {
    name: &'static str,
    workers: usize,
    threads: usize,
}

pub async fn run(args: BenchWorkersArgs, database_url: &str) -> anyhow::Result<()> {
    ensure!(
        args.model.join("model.onnx").exists(),
        "--model {}: no model.onnx there (make setup-models)",
        args.model.display()
    );
    let scratch = Scratch::new(database_url).await?;
    let result = measure(&args, &scratch).await;
    scratch.finish().await?;
    let result = result?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "bench/results/workers-{}.json",
            result["backend"].as_str().unwrap_or("db")
        ))
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&result)? + "\n")?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    eprintln!("written to {}", out.display());
    Ok(())
}

async fn measure(args: &BenchWorkersArgs, scratch: &Scratch) -> anyhow::Result<serde_json::Value> {
    let db = &scratch.db;
    let project = projects::create(db, "bench", "worker scale-out benchmark", None).await?;
    let records: Vec<PromptRecord> = (0..args.prompts)
        .map(|i| {
            let text = format!(
                "Question {i}: explain, step by step, how to plan a week of meals for {} people \
                 on a budget.",
                i % 7 + 2
            );
            PromptRecord {
                line: i as u64 + 1,
                external_id: None,
                hash: pairwise_core::stable_hash(&text),
                text,
                messages: None,
                source: Some("bench".into()),
                domain: None,
                split: None,
                metadata: Default::default(),
            }
        })
        .collect();
    prompts::insert_batch(db, project.id, &records, &Default::default()).await?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let configs = [
        Config {
            name: "one_worker",
            workers: 1,
            threads: args.threads,
        },
        Config {
            name: "two_workers",
            workers: 2,
            threads: args.threads,
        },
        Config {
            name: "one_worker_all_cores",
            workers: 1,
            threads: cores,
        },
    ];
    let model = std::fs::canonicalize(&args.model)?.display().to_string();
    let mut measured = serde_json::Map::new();
    let mut texts: Option<Vec<(i64, i32, String)>> = None;
    for config in &configs {
        let mut request = pairwise_core::run_requests::GenerateRequest::new("bench", &model);
        request.n = args.n;
        request.max_new_tokens = args.max_new_tokens;
        request.seed = Some(2024);
        let run = pairwise_pipeline::create_generation(db, request, None).await?;
        let (seconds, exits) = workers(&scratch.url, config).await?;
        let view = runs::show(db, run.id).await?;
        ensure!(
            view.status == "done",
            "{}: the run ended {} ({:?})",
            config.name,
            view.status,
            view.error
        );
        let stored = candidates::for_runs(db, project.id, &[run.id]).await?;
        let expected = args.prompts * args.n as usize;
        let keys: std::collections::BTreeSet<(i64, i32)> =
            stored.iter().map(|c| (c.prompt_id, c.idx)).collect();
        ensure!(
            stored.len() == expected && keys.len() == expected,
            "{}: {} candidates ({} distinct) for {expected} planned",
            config.name,
            stored.len(),
            keys.len()
        );
        let these: Vec<(i64, i32, String)> = stored
            .iter()
            .map(|c| (c.prompt_id, c.idx, c.text.clone()))
            .collect();
        let same_texts = texts.get_or_insert_with(|| these.clone()) == &these;
        ensure!(
            same_texts,
            "{}: texts differ from the first configuration's",
            config.name
        );
        eprintln!(
            "{}: {seconds:.2} s, {:.0} tokens/s ({exits})",
            config.name,
            view.tokens as f64 / seconds
        );
        measured.insert(
            config.name.into(),
            json!({
                "workers": config.workers,
                "threads_per_worker": config.threads,
                "seconds": seconds,
                "tokens": view.tokens,
                "tokens_per_s": view.tokens as f64 / seconds,
                "candidates": stored.len(),
                "duplicates": stored.len() - keys.len(),
                "worker_exits": exits,
            }),
        );
    }
    let secs = |name: &str| measured[name]["seconds"].as_f64().unwrap_or(f64::NAN);
    Ok(json!({
        "benchmark": "workers",
        "backend": scratch.backend,
        "model": args.model.display().to_string(),
        "prompts": args.prompts,
        "n": args.n,
        "max_new_tokens": args.max_new_tokens,
        "configs": measured,
        "two_over_one": secs("one_worker") / secs("two_workers"),
        "two_over_one_all_cores": secs("one_worker_all_cores") / secs("two_workers"),
        "same_texts_in_every_configuration": true,
        "machine": { "cpus": cores },
        "note": "wall time from starting the worker processes until the last exits (start-up and model load included); each configuration is its own run of the same prompts and seed in one database",
    }))
}

/// Starts `config.workers` worker processes on `url` and waits until all exit (each exits once
/// nothing is queued or being planned); returns the wall time and how they ended.
async fn workers(url: &str, config: &Config) -> anyhow::Result<(f64, String)> {
    let exe = std::env::current_exe().context("locating the pairwise binary")?;
    let started = Instant::now();
    let mut children = Vec::new();
    for _ in 0..config.workers {
        children.push(
            tokio::process::Command::new(&exe)
                .args([
                    "--database-url",
                    url,
                    "worker",
                    "--exit-when-idle",
                    "--threads",
                    &config.threads.to_string(),
                ])
                .env("PAIRWISE_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .context("starting a worker")?,
        );
    }
    let mut exits = Vec::new();
    for child in children {
        let output = tokio::time::timeout(Duration::from_secs(1800), child.wait_with_output())
            .await
            .context("a worker ran for 30 minutes")??;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            bail!("a worker failed: {stderr}");
        }
        // "run 3: Done(…)" → "run 3: Done"
        exits.push(
            stderr
                .lines()
                .filter(|l| l.starts_with("run "))
                .map(|l| l.split('(').next().unwrap_or(l).to_owned())
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    Ok((started.elapsed().as_secs_f64(), exits.join(" | ")))
}
