//! Remote models against a real OpenAI-compatible server: llama.cpp's (PyPI
//! `llama-cpp-python[server]`, started by `scripts/llama_server.sh`, installed by `make setup`)
//! serving SmolLM2-135M-Instruct. Registration checks the server, generation and judge runs go
//! through it, the API key is stored nowhere, a server killed mid-run is waited out, and 429s
//! from a proxy are retried without losing an item.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const SECRET: &str = "sk-pairwise-test-a8f3c0e1d9";
const KEY_VAR: &str = "PAIRWISE_TEST_REMOTE_KEY";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

struct Llama {
    child: Child,
    port: u16,
}

impl Llama {
    async fn start(port: u16) -> Self {
        let root = repo_root();
        assert!(
            root.join(".tools/llama-venv/bin/python").exists(),
            "llama.cpp's server is not installed: run `make setup` (or scripts/llama_server.sh --install-only)"
        );
        let child = Command::new(root.join("scripts/llama_server.sh"))
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(std::env::temp_dir().join(format!("llama-{port}.log")))
                    .map_or(Stdio::null(), Stdio::from),
            )
            .spawn()
            .expect("start the llama.cpp server");
        let deadline = Instant::now() + Duration::from_secs(120);
        while get(port, "/v1/models").await.is_none() {
            assert!(
                Instant::now() < deadline,
                "the llama.cpp server did not start"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Self { child, port }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Llama {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `GET path` on 127.0.0.1:port; the body if the status is 200.
async fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.starts_with("HTTP/1.1 200")
        .then(|| text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned())
}

fn pairwise(url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pairwise"))
        .args(["--database-url", url])
        .args(args)
        .env("PAIRWISE_LOG", "warn")
        .env(KEY_VAR, SECRET)
        .output()
        .expect("run pairwise");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(url: &str, args: &[&str]) -> String {
    let (success, stdout, stderr) = pairwise(url, args);
    assert!(success, "pairwise {args:?}: {stderr}");
    stdout
}

/// The JSON object a `--wait --json` command prints last.
fn json_of(stdout: &str) -> serde_json::Value {
    let start = stdout.find('{').expect("json output");
    serde_json::from_str(&stdout[start..]).expect("json")
}

/// A proxy that answers every third request with 429 (`Retry-After: 0`) and forwards the rest.
async fn flaky_proxy(upstream: u16) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let refused = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = refused.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let (seen, refused) = (seen.clone(), counter.clone());
            tokio::spawn(async move {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                if n % 3 == 2 {
                    refused.fetch_add(1, Ordering::SeqCst);
                    // Read the request head before answering, as a server would.
                    let mut buf = [0u8; 4096];
                    let _ = client.read(&mut buf).await;
                    let _ = client
                        .write_all(
                            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        )
                        .await;
                    return;
                }
                if let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (port, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_generation_and_judging_through_a_real_llama_cpp_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("remote.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let port = free_port();
    let mut llama = Llama::start(port).await;
    let base = format!("http://127.0.0.1:{port}/v1");

    ok(&url, &["project", "create", "--name", "p"]);
    let prompts = dir.path().join("prompts.jsonl");
    std::fs::write(
        &prompts,
        [
            "What is the capital of France?",
            "Name a primary colour.",
            "What is 2 + 2?",
            "Say hello in Spanish.",
            "What do bees make?",
        ]
        .iter()
        .map(|p| serde_json::json!({"prompt": p}).to_string() + "\n")
        .collect::<String>(),
    )
    .expect("prompts");
    ok(
        &url,
        &[
            "import",
            "prompts",
            &prompts.display().to_string(),
            "--project",
            "p",
        ],
    );

    // Registration checks the server: a model it does not serve is refused, naming it.
    let (success, _, stderr) = pairwise(
        &url,
        &[
            "model",
            "add",
            "--name",
            "nope",
            "--kind",
            "generator",
            "--remote",
            &base,
            "--remote-model",
            "not-served",
        ],
    );
    assert!(!success && stderr.contains("not-served"), "{stderr}");
    let (success, _, stderr) = pairwise(
        &url,
        &[
            "model",
            "add",
            "--name",
            "down",
            "--kind",
            "generator",
            "--remote",
            "http://127.0.0.1:9/v1",
            "--remote-model",
            "smollm2-135m",
        ],
    );
    assert!(!success && stderr.contains("unreachable"), "{stderr}");
    for (name, kind) in [("rgen", "generator"), ("rjudge", "judge")] {
        ok(
            &url,
            &[
                "model",
                "add",
                "--name",
                name,
                "--kind",
                kind,
                "--remote",
                &base,
                "--remote-model",
                "smollm2-135m",
                "--api-key-env",
                KEY_VAR,
            ],
        );
    }

    // Agent corrections written by the served model under the tools' JSON Schema: the fixture's
    // faulty trajectories without their corrections get one each, and every one kept re-checks
    // clean (the grammar keeps a 135M model to known tools and typed arguments).
    let fixture = repo_root().join("crates/pipeline/tests/fixtures/agent/trajectories.jsonl");
    let stripped = dir.path().join("uncorrected.jsonl");
    let lines: String = std::fs::read_to_string(&fixture)
        .expect("fixture")
        .lines()
        .map(|l| {
            let mut t: serde_json::Value = serde_json::from_str(l).expect("json");
            t.as_object_mut().expect("object").remove("correction");
            t.to_string() + "\n"
        })
        .collect();
    std::fs::write(&stripped, lines).expect("write");
    let out = dir.path().join("agent-pairs.jsonl");
    let built = json_of(&ok(
        &url,
        &[
            "build",
            "agent",
            "--input",
            &stripped.display().to_string(),
            "--generator",
            "rgen",
            "--out",
            &out.display().to_string(),
            "--json",
        ],
    ));
    let generated = &built["generated"];
    let faulty = built["trajectories"].as_u64().expect("n")
        - built["by_verdict"]["clean"].as_u64().unwrap_or(0);
    assert_eq!(generated["asked"].as_u64(), Some(faulty), "{built}");
    assert!(generated["clean"].as_u64().expect("clean") >= 1, "{built}");
    assert_eq!(built["pairs"], generated["clean"], "{built}");
    for line in std::fs::read_to_string(&out).expect("pairs").lines() {
        let pair: serde_json::Value = serde_json::from_str(line).expect("pair");
        assert_eq!(pair["metadata"]["correction_origin"], "generator");
        assert!(
            pair["chosen"].as_str().expect("chosen").contains("call "),
            "{pair}"
        );
    }

    let started = Instant::now();
    let summary = json_of(&ok(
        &url,
        &[
            "run",
            "generate",
            "--project",
            "p",
            "--model",
            "rgen",
            "--n",
            "4",
            "--limit",
            "5",
            "--max-new-tokens",
            "32",
            "--wait",
            "--json",
        ],
    ));
    eprintln!(
        "remote generation: {:?} for 20 candidates",
        started.elapsed()
    );
    assert_eq!(summary["status"], "done", "{summary}");
    assert_eq!(
        (summary["done"].as_u64(), summary["total"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(summary["candidates"], 20, "{summary}");
    let generation_run = summary["id"].as_i64().expect("id").to_string();

    // 429s from a proxy in front of the server: retried (Retry-After honoured), nothing lost.
    let (proxy, refused) = flaky_proxy(port).await;
    let proxied = format!("http://127.0.0.1:{proxy}/v1");
    ok(
        &url,
        &[
            "model",
            "add",
            "--name",
            "rflaky",
            "--kind",
            "generator",
            "--remote",
            &proxied,
            "--remote-model",
            "smollm2-135m",
            "--concurrency",
            "2",
        ],
    );
    let flaky = json_of(&ok(
        &url,
        &[
            "run",
            "generate",
            "--project",
            "p",
            "--model",
            "rflaky",
            "--n",
            "2",
            "--limit",
            "5",
            "--max-new-tokens",
            "8",
            "--wait",
            "--json",
        ],
    ));
    assert_eq!(flaky["status"], "done", "{flaky}");
    assert_eq!(flaky["candidates"], 10, "{flaky}");
    let flaky_run = flaky["id"].as_i64().expect("id").to_string();
    assert!(refused.load(Ordering::SeqCst) > 0, "the proxy refused some");

    // The judge in every mode a server can serve (pairwise on the first run, the per-candidate
    // modes on the smaller one).
    for (mode, run) in [
        ("pairwise", &generation_run),
        ("json", &flaky_run),
        ("prob", &flaky_run),
    ] {
        let started = Instant::now();
        let judged = json_of(&ok(
            &url,
            &[
                "run",
                "judge",
                "--project",
                "p",
                "--model",
                "rjudge",
                "--rubric",
                "default",
                "--mode",
                mode,
                "--runs",
                run,
                "--wait",
                "--json",
            ],
        ));
        eprintln!("remote {mode} judge: {:?}: {judged}", started.elapsed());
        assert_eq!(judged["status"], "done", "{mode}: {judged}");
        if mode == "pairwise" {
            assert!(judged["inconsistency_rate"].is_number(), "{judged}");
        }
        if mode == "json" {
            // Constrained to the rubric's schema (llama-cpp-python takes `json_object` with a
            // `schema` after refusing `json_schema`): the verdicts parse, where free text from
            // this 135M model failed 70–90% of the time.
            let rate = judged["parse_failure_rate"].as_f64().expect("rate");
            assert!(rate <= 0.2, "{judged}");
            let warnings = judged["warnings"].to_string();
            assert!(!warnings.contains("response_format"), "{judged}");
        }
    }

    // Reference scoring from the server's echoed prompt log-probs, and how far they agree with
    // local ONNX Runtime scoring of the same text by the demo model (converted from the same
    // GGUF; 4-bit on the server, fp32 here): a report, not an equality test.
    ok(
        &url,
        &[
            "model",
            "add",
            "--name",
            "rref",
            "--kind",
            "reference",
            "--remote",
            &base,
            "--remote-model",
            "smollm2-135m",
        ],
    );
    // llama-cpp-python 0.3.36 echoes each token with the next position's log-prob: the run is
    // refused at its start, naming why, instead of storing wrong reference scores.
    let (success, _, stderr) = pairwise(
        &url,
        &[
            "run",
            "reference",
            "--project",
            "p",
            "--model",
            "rref",
            "--runs",
            &generation_run,
            "--wait",
            "--json",
        ],
    );
    assert!(!success && stderr.contains("misaligned"), "{stderr}");
    report_reference_agreement(&url, &base).await;
    report_greedy_agreement(&url, &base).await;

    // The key is named, never stored.
    let listed = ok(&url, &["model", "list", "--json"]);
    assert!(listed.contains("rgen") && !listed.contains(SECRET));
    let bytes = std::fs::read(&file).expect("database file");
    let wal = std::fs::read(dir.path().join("remote.db-wal")).unwrap_or_default();
    for blob in [&bytes, &wal] {
        assert!(
            !blob.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the API key is in the database file"
        );
    }

    // The server killed mid-run and restarted: the run finishes with exactly prompts × N.
    let queued = json_of(&ok(
        &url,
        &[
            "run",
            "generate",
            "--project",
            "p",
            "--model",
            "rgen",
            "--n",
            "4",
            "--limit",
            "5",
            "--max-new-tokens",
            "24",
            "--json",
        ],
    ));
    let id = queued["id"].as_i64().expect("id");
    let mut worker = Command::new(env!("CARGO_BIN_EXE_pairwise"))
        .args(["--database-url", &url, "worker", "--exit-when-idle"])
        .env("PAIRWISE_LOG", "warn")
        .env(KEY_VAR, SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = json_of(&ok(&url, &["run", "status", &id.to_string(), "--json"]));
        if status["done"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the run did not start: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    llama.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _llama = Llama::start(llama.port).await;
    let exit = tokio::task::spawn_blocking(move || worker.wait())
        .await
        .expect("join")
        .expect("worker exit");
    assert!(exit.success());
    let status = json_of(&ok(&url, &["run", "status", &id.to_string(), "--json"]));
    assert_eq!(status["status"], "done", "{status}");
    assert_eq!(status["summary"]["candidates"], 20, "{status}");
}

/// A client of the served model.
fn client(base: &str) -> pairwise_inference::RemoteModel {
    pairwise_inference::RemoteModel::new(pairwise_inference::RemoteConfig {
        base_url: base.to_owned(),
        model: "smollm2-135m".into(),
        api_key_env: None,
        concurrency: 4,
        timeout_secs: 60,
    })
    .expect("client")
}

/// Scores every stored candidate's answer after the plain-text prompt remotely and locally (the
/// demo model), and writes the agreement to `bench/results/remote-reference-agreement.json`.
async fn report_reference_agreement(url: &str, base: &str) {
    use pairwise_store::{candidates, prompts};
    let demo = repo_root().join("models/demo");
    if !demo.join("model.onnx").exists() {
        eprintln!("no local demo model: the agreement report is skipped");
        return;
    }
    let db = pairwise_store::connect(url).await.expect("db");
    let stored = candidates::for_runs(&db, 1, &[1])
        .await
        .expect("candidates");
    let client = client(base);
    let mut engine = pairwise_inference::Engine::load(&demo, pairwise_inference::Device::Cpu, 2)
        .expect("demo model");
    let (mut remote, mut local) = (Vec::new(), Vec::new());
    for c in &stored {
        let p = prompts::get_many(&db, &[c.prompt_id])
            .await
            .expect("prompt");
        let prompt = format!("user: {}\n\nassistant: ", p[0].text);
        let (r, n) = client
            .answer_logprob(&prompt, &c.text)
            .await
            .expect("remote");
        let l = engine
            .score(
                &pairwise_inference::PromptInput::Raw(prompt.clone()),
                std::slice::from_ref(&c.text),
            )
            .expect("local")[0]
            .clone();
        if n > 0 && l.count > 0 && r.is_finite() && l.mean.is_finite() {
            remote.push(r);
            local.push(l.mean);
        }
    }
    assert!(!remote.is_empty(), "nothing was scored on both sides");
    let n = remote.len() as f64;
    let (mr, ml) = (
        remote.iter().sum::<f64>() / n,
        local.iter().sum::<f64>() / n,
    );
    let cov: f64 = remote
        .iter()
        .zip(&local)
        .map(|(r, l)| (r - mr) * (l - ml))
        .sum();
    let (vr, vl): (f64, f64) = (
        remote.iter().map(|r| (r - mr).powi(2)).sum(),
        local.iter().map(|l| (l - ml).powi(2)).sum(),
    );
    let pearson = cov / (vr.sqrt() * vl.sqrt());
    let mad = remote
        .iter()
        .zip(&local)
        .map(|(r, l)| (r - l).abs())
        .sum::<f64>()
        / n;
    let report = serde_json::json!({
        "what": "mean per-token log-prob of 20 SmolLM2 answers after a plain-text prompt: llama.cpp server (GGUF Q4_1, echo+logprobs) vs local ONNX Runtime (demo model, fp32)",
        "pairs": remote.len(),
        "pearson": pearson,
        "mean_abs_diff_nats": mad,
        "mean_remote": mr,
        "mean_local": ml,
        "machine": "2-core CPU VM",
    });
    eprintln!("reference agreement: {report}");
    let out = repo_root().join("bench/results/remote-reference-agreement.json");
    let _ = std::fs::write(
        out,
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    );
    assert!(pearson.is_finite());
}

/// Greedy answers to the project's prompts from the server (GGUF Q4_1) and from local ONNX
/// Runtime (the demo model, fp32, converted from the same checkpoint), both through the model's
/// chat template; writes how far they agree to `bench/results/remote-greedy-agreement.json`.
/// Different runtimes and precisions: a report, not an equality test.
async fn report_greedy_agreement(url: &str, base: &str) {
    use pairwise_inference::{chat_template::Message, DecodingParams, PromptInput};
    let demo = repo_root().join("models/demo");
    if !demo.join("model.onnx").exists() {
        eprintln!("no local demo model: the greedy agreement report is skipped");
        return;
    }
    let db = pairwise_store::connect(url).await.expect("db");
    let page = pairwise_store::prompts::page(&db, 1, &Default::default(), 8, 0)
        .await
        .expect("prompts")
        .items;
    let client = client(base);
    let mut engine = pairwise_inference::Engine::load(&demo, pairwise_inference::Device::Cpu, 2)
        .expect("demo model");
    let params = DecodingParams::greedy(32);
    let mut rows = Vec::new();
    for p in &page {
        let turns = vec![Message::new("user", p.text.clone())];
        let remote = client
            .chat(&turns, &params, &Default::default())
            .await
            .expect("remote")
            .choices
            .remove(0)
            .text;
        let ids = engine
            .encode_prompt(&PromptInput::Chat(turns))
            .expect("encode");
        let local = engine
            .generate(&ids, std::slice::from_ref(&params), |_| ())
            .expect("local")
            .candidates
            .remove(0)
            .text;
        let (r, l): (Vec<char>, Vec<char>) = (remote.chars().collect(), local.chars().collect());
        let common = r.iter().zip(&l).take_while(|(a, b)| a == b).count();
        rows.push(serde_json::json!({
            "prompt": p.text.chars().take(80).collect::<String>(),
            "identical": remote.trim() == local.trim(),
            "common_prefix_chars": common,
            "shared_prefix_share": common as f64 / r.len().max(l.len()).max(1) as f64,
            "remote": remote,
            "local": local,
        }));
    }
    assert!(!rows.is_empty(), "no prompts");
    let n = rows.len() as f64;
    let identical = rows.iter().filter(|r| r["identical"] == true).count();
    let prefix = rows
        .iter()
        .map(|r| r["shared_prefix_share"].as_f64().unwrap_or(0.0))
        .sum::<f64>()
        / n;
    let report = serde_json::json!({
        "what": "greedy answers (32 tokens) to the same prompts: llama.cpp server (GGUF Q4_1) vs local ONNX Runtime (demo model, fp32), both through SmolLM2's chat template",
        "prompts": rows.len(),
        "identical": identical,
        "identical_share": identical as f64 / n,
        "mean_shared_prefix_share": prefix,
        "rows": rows,
        "machine": "2-core CPU VM",
    });
    eprintln!(
        "greedy agreement: {identical}/{} identical, mean shared prefix {prefix:.2}",
        rows.len()
    );
    let out = repo_root().join("bench/results/remote-greedy-agreement.json");
    let _ = std::fs::write(
        out,
        serde_json::to_string_pretty(&report).unwrap_or_default(),
    );
}
