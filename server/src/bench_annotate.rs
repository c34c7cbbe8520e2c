//! `pairwise bench annotate`: a load test of the annotation queue over HTTP. A fresh SQLite
//! database gets a project of synthetic pairs, queued as items (k annotators each, swapped
//! repeats, silent gold) and N annotator accounts with API tokens; `pairwise serve` runs as a
//! child process; N simulated annotators (one keep-alive HTTP/1.1 connection each) fetch their
//! queue and vote as fast as the server answers for the given time. Then the database is checked:
//! no item holds more than k main votes, and the stored votes equal the acknowledged ones.
//! Reports p50/p95/p99 latency of votes and queue fetches; writes JSON under `bench/results/`.

use anyhow::{bail, Context};
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Request};
use hyper_util::rt::TokioIo;
use pairwise_core::{annotation::AnnotationSettings, ChatMessage, PairRecord, Role};
use pairwise_store::{
    annotation,
    pairs::{self, HashedPair, PairOrigin},
    projects, tokens, users,
};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

#[derive(Debug, Args)]
pub struct BenchAnnotateArgs {
    /// Simulated annotators, each on its own connection.
    #[arg(long, default_value_t = 50)]
    pub annotators: usize,
    /// How long they vote.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Items in the project (imported pairs).
    #[arg(long, default_value_t = 5000)]
    pub items: usize,
    /// Annotators per item (k).
    #[arg(long, default_value_t = 3)]
    pub overlap: i32,
    #[arg(long, default_value_t = 3199)]
    pub port: u16,
    /// Mean pause of a simulated annotator between votes (uniform in 0..2×), reading time.
    /// Real annotators take 5–30 s per comparison; 0 makes a closed loop that saturates the
    /// machine and measures throughput instead of latency at a realistic load.
    #[arg(long, default_value_t = 1000)]
    pub think_ms: u64,
    /// Where to write the JSON (default: bench/results/annotate-load.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn summary(mut ms: Vec<f64>) -> Value {
    ms.sort_by(f64::total_cmp);
    json!({
        "n": ms.len(),
        "p50_ms": percentile(&ms, 50.0),
        "p95_ms": percentile(&ms, 95.0),
        "p99_ms": percentile(&ms, 99.0),
        "max_ms": ms.last(),
    })
}

struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    token: String,
}

impl Client {
    async fn connect(port: u16, token: String) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Self { sender, token })
    }

    /// POSTs a form to a server function; (status, body).
    async fn post(&mut self, path: &str, form: &str) -> anyhow::Result<(u16, Bytes)> {
        let req = Request::post(path)
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(Full::new(Bytes::from(form.to_owned())))?;
        self.sender.ready().await?;
        let res = self.sender.send_request(req).await?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

#[derive(Default)]
struct Tally {
    acked: u64,
    vote_ms: Vec<f64>,
    queue_ms: Vec<f64>,
    errors: Vec<String>,
    empty_queues: u64,
}

async fn annotator(
    port: u16,
    token: String,
    until: Instant,
    seed: u64,
    think_ms: u64,
) -> anyhow::Result<Tally> {
    let mut client = Client::connect(port, token).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut t = Tally::default();
    while Instant::now() < until {
        let start = Instant::now();
        let (status, body) = client
            .post("/api/annotate/queue", "project=load&want=2")
            .await?;
        t.queue_ms.push(start.elapsed().as_secs_f64() * 1e3);
        if status != 200 {
            t.errors.push(format!(
                "queue {status}: {}",
                String::from_utf8_lossy(&body)
            ));
            continue;
        }
        let queue: Value = serde_json::from_slice(&body)?;
        let Some(id) = queue["items"][0]["assignment"].as_i64() else {
            t.empty_queues += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let choice = ["a", "b", "tie", "both_bad"][rng.gen_range(0..4)];
        let form = format!(
            "assignment={id}&choice={choice}&duration_ms={}",
            rng.gen_range(800..9000)
        );
        let start = Instant::now();
        let (status, body) = client.post("/api/annotate/vote", &form).await?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if status == 200 {
            t.acked += 1;
            t.vote_ms.push(ms);
            if think_ms > 0 {
                let pause = rng.gen_range(0..2 * think_ms);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
        } else {
            t.errors
                .push(format!("vote {status}: {}", String::from_utf8_lossy(&body)));
        }
    }
    Ok(t)
}

/// Runs the load test in a fresh database (see [`crate::bench_workers::Scratch`]).
pub async fn run(args: BenchAnnotateArgs, database_url: &str) -> anyhow::Result<()> {
    let scratch = crate::bench_workers::Scratch::new(database_url).await?;
    let result = load(args, &scratch).await;
    scratch.finish().await?;
    result
}

async fn load(
    args: BenchAnnotateArgs,
    scratch: &crate::bench_workers::Scratch,
) -> anyhow::Result<()> {
    let (url, db) = (&scratch.url, &scratch.db);
    let p = projects::create(db, "load", "annotation load test", None).await?;
    let records: Vec<HashedPair> = (0..args.items)
        .map(|i| {
            HashedPair::from(PairRecord {
                prompt: vec![ChatMessage {
                    role: "user".into(),
                    content: format!(
                        "Question {i}: what is a kind and correct answer to request {}?",
                        i * 7919 % 100_003
                    ),
                }],
                chosen: format!("A careful, complete answer to question {i}, with reasons."),
                rejected: format!("A short answer to {i}."),
                score_chosen: None,
                score_rejected: None,
                metadata: Default::default(),
            })
        })
        .collect();
    let origin = PairOrigin {
        strategy: "imported".into(),
        source: "synthetic".into(),
        provenance: json!({}),
    };
    for chunk in records.chunks(500) {
        pairs::insert_batch(db, p.id, chunk, &origin).await?;
    }
    annotation::fill_from_pairs(db, p.id, u64::MAX, false, Some(1)).await?;
    annotation::gold_from_pairs(db, p.id, (args.items / 50) as u64).await?;
    let settings = AnnotationSettings {
        overlap: args.overlap,
        ..Default::default()
    };
    annotation::set_settings(db, p.id, &settings).await?;
    let mut secrets = Vec::new();
    for i in 0..args.annotators {
        let password: String = format!("load-annotator-password-{i}-{}", rand::random::<u64>());
        let u = users::create(db, &format!("load{i}"), Role::Annotator, &password).await?;
        pairwise_store::members::set(db, p.id, u.id, "annotator").await?;
        secrets.push(tokens::issue(db, u.id, "load").await?.1);
    }
    eprintln!(
        "{} items, {} annotators; starting the server",
        args.items, args.annotators
    );

    let exe = std::env::current_exe().context("locating the pairwise binary")?;
    let mut server = tokio::process::Command::new(exe)
        .args([
            "--database-url",
            url,
            "serve",
            "--addr",
            &format!("127.0.0.1:{}", args.port),
            "--workers",
            "0",
        ])
        .env("PAIRWISE_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .context("starting pairwise serve")?;
    let ready = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", args.port))
            .await
            .is_ok()
        {
            break;
        }
        if ready.elapsed() > Duration::from_secs(60) {
            bail!("the server did not start on port {}", args.port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let until = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = secrets
        .into_iter()
        .enumerate()
        .map(|(i, token)| tokio::spawn(annotator(args.port, token, until, i as u64, args.think_ms)))
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await??;
        all.acked += t.acked;
        all.vote_ms.extend(t.vote_ms);
        all.queue_ms.extend(t.queue_ms);
        all.errors.extend(t.errors);
        all.empty_queues += t.empty_queues;
    }
    let elapsed = started.elapsed().as_secs_f64();
    server.kill().await.ok();

    let (items, stored, max_main) = annotation::vote_counts(db, p.id).await?;
    // A run in which nobody could vote (every fetch refused) measured nothing.
    let ok = all.acked > 0 && stored == all.acked && max_main <= args.overlap as u64;
    let result = json!({
        "bench": "annotate-load",
        "database": scratch.backend,
        "annotators": args.annotators,
        "think_ms_mean": args.think_ms,
        "seconds": elapsed,
        "items": items,
        "overlap_k": args.overlap,
        "votes_acknowledged": all.acked,
        "votes_stored": stored,
        "max_main_votes_on_one_item": max_main,
        "votes_per_second": all.acked as f64 / elapsed,
        "vote_latency": summary(all.vote_ms.clone()),
        "queue_latency": summary(all.queue_ms.clone()),
        "errors": all.errors.len(),
        "first_errors": all.errors.iter().take(5).collect::<Vec<_>>(),
        "empty_queue_polls": all.empty_queues,
        "checks_pass": ok,
        "goal": "p99 vote latency < 10 ms",
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    });
    let out = args.out.unwrap_or_else(|| {
        let suffix = if scratch.backend == "sqlite" {
            String::new()
        } else {
            format!("-{}", scratch.backend)
        };
        PathBuf::from(format!("bench/results/annotate-load{suffix}.json"))
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&result)?)?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    if !ok {
        bail!("load check failed: {stored} votes stored for {} acknowledged, at most {max_main} main votes on one item (k = {})", all.acked, args.overlap);
    }
    Ok(())
}
