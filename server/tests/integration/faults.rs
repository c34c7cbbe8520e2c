//! Fault tests that prove nothing is lost: the real `pairwise serve` is killed with SIGKILL while
//! 20 annotators vote over HTTP, restarted on the same database and port, and every vote that
//! was sent but not acknowledged is sent again (same showing, same choice).
//
// Then the database must hold exactly the acknowledged votes: each with its choice, one per
// showing, one per annotator and item (planned repeats aside), and no vote that nobody was told
// about (a vote the first server stored but whose acknowledgement was lost is acknowledged by
// the retry, which the store answers idempotently).

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Request};
use hyper_util::rt::TokioIo;
use pairwise_core::{annotation::AnnotationSettings, ChatMessage, PairRecord, Role};
use pairwise_store::{
    annotation,
    entities::vote,
    members,
    pairs::{self, HashedPair, PairOrigin},
    projects,
    testing::TestDb,
    tokens, users,
};
use rand::{Rng, SeedableRng};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    process::Stdio,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

const ITEMS: usize = 300;
const ANNOTATORS: usize = 20;
/// How long the annotators vote before the server is killed.
const BEFORE_KILL: Duration = Duration::from_secs(2);
/// Acknowledged votes each annotator casts after the restart.
const VOTES_AFTER_RESTART: u32 = 5;
/// How long an annotator keeps retrying one request before the test fails.
const RETRY_FOR: Duration = Duration::from_secs(30);
const PROJECT: &str = "faults";
const CHOICES: [&str; 4] = ["a", "b", "tie", "both_bad"];

/// A project of [`ITEMS`] queued items (k = 3, planned repeats, a little gold) and
/// [`ANNOTATORS`] annotators with API tokens.
async fn seed(t: &TestDb) -> (i64, Vec<String>) {
    let db = &t.db;
    let p = projects::create(db, PROJECT, "SIGKILL test", None)
        .await
        .expect("project");
    let records: Vec<HashedPair> = (0..ITEMS)
        .map(|i| {
            HashedPair::from(PairRecord {
                prompt: vec![ChatMessage {
                    role: "user".into(),
                    content: format!("Question {i}: which answer is kinder?"),
                }],
                chosen: format!("A careful answer to question {i}."),
                rejected: format!("A short answer to {i}."),
                score_chosen: None,
                score_rejected: None,
                metadata: Default::default(),
            })
        })
        .collect();
    let origin = PairOrigin {
        strategy: "imported".into(),
        source: "faults.jsonl".into(),
        provenance: serde_json::json!({}),
    };
    pairs::insert_batch(db, p.id, &records, &origin)
        .await
        .expect("pairs");
    let fill = annotation::fill_from_pairs(db, p.id, u64::MAX, false, Some(11))
        .await
        .expect("fill");
    assert_eq!(fill.added, ITEMS as u64);
    annotation::gold_from_pairs(db, p.id, 6)
        .await
        .expect("gold");
    let settings = AnnotationSettings {
        overlap: 3,
        repeat_rate: 0.1,
        max_pending: 2,
        ..Default::default()
    };
    annotation::set_settings(db, p.id, &settings)
        .await
        .expect("settings");
    let mut secrets = Vec::new();
    for i in 0..ANNOTATORS {
        let u = users::create(db, &format!("fault{i}"), Role::Annotator, super::PASSWORD)
            .await
            .expect("annotator");
        members::set(db, p.id, u.id, "annotator")
            .await
            .expect("member");
        secrets.push(tokens::issue(db, u.id, "faults").await.expect("token").1);
    }
    (p.id, secrets)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn log_path(backend: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pairwise-faults-{backend}.log"))
}

/// Starts `pairwise serve` on `url` and `port` and waits until it accepts connections.
async fn serve(url: &str, port: u16, log: &PathBuf) -> tokio::process::Child {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_or(Stdio::null(), Stdio::from);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pairwise"))
        .args([
            "--database-url",
            url,
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--workers",
            "0",
        ])
        .env("PAIRWISE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("start pairwise serve");
    let started = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return child;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "pairwise serve exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One annotator's keep-alive HTTP/1.1 connection, opened again after the server died.
struct Client {
    port: u16,
    token: String,
    sender: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
}

impl Client {
    /// POSTs a form to a server function: the status and body, or an error when no answer came
    /// (connection refused, reset or closed before the response).
    async fn try_post(&mut self, path: &str, form: &str) -> anyhow::Result<(u16, Bytes)> {
        if self.sender.is_none() {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
            stream.set_nodelay(true)?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            self.sender = Some(sender);
        }
        let result = async {
            let sender = self.sender.as_mut().expect("connected");
            let req = Request::post(path)
                .header("host", "127.0.0.1")
                .header("authorization", format!("Bearer {}", self.token))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body(Full::new(Bytes::from(form.to_owned())))?;
            sender.ready().await?;
            let res = sender.send_request(req).await?;
            let status = res.status().as_u16();
            let body = res.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    /// POSTs until an answer that is not a lost request or a 5xx comes back (reconnecting, with
    /// backoff), for at most [`RETRY_FOR`]. Returns the answer and how many tries failed.
    async fn post(&mut self, path: &str, form: &str) -> Result<(u16, Bytes, u32), String> {
        let started = Instant::now();
        let mut failed = 0;
        let mut delay = Duration::from_millis(25);
        loop {
            let last = match self.try_post(path, form).await {
                Ok((status, body)) if status < 500 => return Ok((status, body, failed)),
                Ok((status, body)) => format!("{status}: {}", String::from_utf8_lossy(&body)),
                Err(e) => e.to_string(),
            };
            failed += 1;
            if started.elapsed() > RETRY_FOR {
                return Err(format!(
                    "{path} {form}: no answer after {failed} tries: {last}"
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }
}

/// What one annotator saw.
#[derive(Default)]
struct Tally {
    /// Acknowledged votes: assignment → choice.
    acked: BTreeMap<i64, &'static str>,
    /// Votes that had to be sent more than once (no answer to an earlier try).
    retried: Vec<i64>,
    /// Queue fetches or votes whose first try got no answer.
    failed_requests: u32,
    /// Acknowledged votes delivered a second time on purpose (a lost acknowledgement).
    duplicates: u32,
}

/// The annotator's last acknowledged vote is delivered again, as a client that never received
/// the acknowledgement would: it is acknowledged again (and stored once, which the database
/// checks show). The same showing with a different choice is a conflict.
async fn deliver_again(
    client: &mut Client,
    last: Option<(i64, String)>,
    t: &mut Tally,
) -> Result<(), String> {
    let Some((id, form)) = last else {
        return Ok(());
    };
    let (status, body, _) = client.post("/api/annotate/vote", &form).await?;
    let receipt: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if status != 200 || receipt["assignment"].as_i64() != Some(id) {
        return Err(format!("vote {form} delivered again: {status}: {receipt}"));
    }
    t.duplicates += 1;
    let choice = t.acked[&id];
    let other = CHOICES
        .iter()
        .find(|c| **c != choice)
        .expect("another choice");
    let changed = form.replace(&format!("choice={choice}&"), &format!("choice={other}&"));
    let (status, body, _) = client.post("/api/annotate/vote", &changed).await?;
    if status != 409 {
        return Err(format!(
            "vote {changed} after {form}: {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(())
}

async fn annotator(
    port: u16,
    token: String,
    seed: u64,
    restarted: Arc<AtomicBool>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
) -> Result<Tally, String> {
    let mut client = Client {
        port,
        token,
        sender: None,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut t = Tally::default();
    let mut after_restart = 0;
    let mut last = None;
    let started = Instant::now();
    loop {
        if restarted.load(Ordering::SeqCst) && after_restart >= VOTES_AFTER_RESTART {
            deliver_again(&mut client, last, &mut t).await?;
            return Ok(t);
        }
        if started.elapsed() > Duration::from_secs(90) {
            return Err("the annotator ran out of time".into());
        }
        let (status, body, failed) = client
            .post("/api/annotate/queue", &format!("project={PROJECT}&want=2"))
            .await?;
        t.failed_requests += failed;
        if status != 200 {
            return Err(format!(
                "queue {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        let queue: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let Some(id) = queue["items"][0]["assignment"].as_i64() else {
            if restarted.load(Ordering::SeqCst) {
                // Nothing left for this annotator: the rest is checked in the database.
                deliver_again(&mut client, last, &mut t).await?;
                return Ok(t);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let choice = CHOICES[rng.gen_range(0..CHOICES.len())];
        let form = format!(
            "assignment={id}&choice={choice}&duration_ms={}",
            rng.gen_range(800..9000)
        );
        // Sent; until it is acknowledged it is sent again as it is (same showing, same choice).
        let was_restarted = restarted.load(Ordering::SeqCst);
        in_flight.fetch_add(1, Ordering::SeqCst);
        let sent = client.post("/api/annotate/vote", &form).await;
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let (status, body, failed) = sent?;
        t.failed_requests += failed;
        if failed > 0 {
            t.retried.push(id);
        }
        if status != 200 {
            return Err(format!(
                "vote {form} after {failed} failed tries: {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        let receipt: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        if receipt["assignment"].as_i64() != Some(id) {
            return Err(format!("vote {form}: unexpected receipt {receipt}"));
        }
        t.acked.insert(id, choice);
        last = Some((id, form));
        if was_restarted {
            after_restart += 1;
        }
        // A little reading time, so that the kill finds votes both in flight and not.
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..15))).await;
    }
}

async fn killed_server_loses_no_acknowledged_vote(t: TestDb) {
    let clock = Instant::now();
    let backend = t.backend;
    let (project_id, secrets) = seed(&t).await;
    let port = free_port();
    let log = log_path(backend);
    let _ = std::fs::remove_file(&log);
    let mut server = serve(&t.url, port, &log).await;
    let seeded = clock.elapsed();

    let restarted = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = secrets
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            tokio::spawn(annotator(
                port,
                token,
                i as u64,
                restarted.clone(),
                in_flight.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(BEFORE_KILL).await;
    // Kill while a vote is on its way (on a slow machine every annotator may be between
    // votes at any given instant; waiting for one in flight keeps the test from proving
    // nothing).
    let deadline = Instant::now() + Duration::from_secs(10);
    while in_flight.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    server.start_kill().expect("SIGKILL");
    let status = server.wait().await.expect("reap the killed server");
    let killed_at = chrono::Utc::now();
    assert!(!status.success(), "{backend}: the server was killed");
    let stored_at_kill = vote::Entity::find()
        .filter(vote::Column::ProjectId.eq(project_id))
        .all(&t.db)
        .await
        .expect("votes")
        .len();
    // Down for a moment: requests fail with connection refused and are retried.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut server = serve(&t.url, port, &log).await;
    restarted.store(true, Ordering::SeqCst);

    let mut acked: BTreeMap<i64, &'static str> = BTreeMap::new();
    let mut retried = Vec::new();
    let mut failed_requests = 0;
    let mut duplicates = 0;
    let mut errors = Vec::new();
    for task in tasks {
        match task.await.expect("annotator task") {
            Ok(tally) => {
                for (id, choice) in tally.acked {
                    assert!(
                        acked.insert(id, choice).is_none(),
                        "{backend}: assignment {id} acknowledged to two annotators"
                    );
                }
                retried.extend(tally.retried);
                failed_requests += tally.failed_requests;
                duplicates += tally.duplicates;
            }
            Err(e) => errors.push(e),
        }
    }
    server.start_kill().expect("stop the server");
    let _ = server.wait().await;
    assert!(
        errors.is_empty(),
        "{backend}: {errors:?}\nserver log: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    let votes = vote::Entity::find()
        .filter(vote::Column::ProjectId.eq(project_id))
        .all(&t.db)
        .await
        .expect("votes");
    // Every acknowledged vote is stored, with its choice.
    let by_assignment: HashMap<i64, Vec<&vote::Model>> =
        votes.iter().fold(HashMap::new(), |mut m, v| {
            m.entry(v.assignment_id).or_default().push(v);
            m
        });
    for (id, choice) in &acked {
        let stored = by_assignment
            .get(id)
            .unwrap_or_else(|| panic!("{backend}: acknowledged vote on {id} is lost"));
        assert_eq!(stored[0].choice, *choice, "{backend}: assignment {id}");
    }
    // No showing has two votes.
    for (id, v) in &by_assignment {
        assert_eq!(
            v.len(),
            1,
            "{backend}: assignment {id} has {} votes",
            v.len()
        );
    }
    // No annotator has two votes on one item, except a planned (swapped) repeat.
    let mut per_item: HashMap<(i64, i64), (u32, u32)> = HashMap::new();
    for v in &votes {
        let e = per_item
            .entry((v.annotator_id, v.comparison_id))
            .or_default();
        if v.kind == "repeat" {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    for ((annotator, item), (first, repeats)) in &per_item {
        assert!(
            *first <= 1 && *repeats <= 1,
            "{backend}: annotator {annotator} has {first} votes and {repeats} repeats on item {item}"
        );
    }
    // Nothing stored that nobody was told about: a vote whose acknowledgement was lost in the
    // kill was acknowledged by its retry.
    assert_eq!(
        votes.len(),
        acked.len(),
        "{backend}: stored votes vs acknowledged showings"
    );
    let recovered = retried
        .iter()
        .filter(|id| {
            by_assignment
                .get(id)
                .is_some_and(|v| v[0].created_at < killed_at)
        })
        .count();
    assert_eq!(
        duplicates as usize, ANNOTATORS,
        "{backend}: every annotator delivered one vote twice"
    );
    assert!(
        !retried.is_empty(),
        "{backend}: no vote was in flight at the kill; the test proved nothing"
    );
    eprintln!(
        "{backend}: seeded and started in {:.1} s; {stored_at_kill} votes stored at the kill, \
         {} acknowledged in all; {} votes resent after the kill, {recovered} of them stored \
         before it (acknowledgement lost, retry answered idempotently); {duplicates} \
         acknowledged votes delivered again; {failed_requests} failed requests; {:.1} s in all",
        seeded.as_secs_f64(),
        acked.len(),
        retried.len(),
        clock.elapsed().as_secs_f64()
    );
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_server_killed_mid_votes_loses_no_acknowledged_vote() {
    killed_server_loses_no_acknowledged_vote(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_server_killed_mid_votes_loses_no_acknowledged_vote() {
    killed_server_loses_no_acknowledged_vote(TestDb::postgres().await).await;
}
