//! One action, three adapters: the same user actions taken through the server functions (as the
//! browser does), the REST API and the `pairwise` binary store the same rows and one audit entry
//! each, naming the actor.

use super::Harness;
use app::api::{datasets::FreezeVersion, projects::CreateProject, runs::StartGeneration};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use leptos::server_fn::ServerFn;
use pairwise_core::{requests::RegisterModel, run_requests::GenerateRequest, Actor};
use pairwise_store::{audit, datasets, projects, runs, testing::TestDb};
use serde_json::{json, Value};
use std::process::Command;

const PROMPTS: &str = "{\"prompt\": \"What is 2 + 2?\"}\n{\"prompt\": \"Name a prime.\"}\n{\"prompt\": \"Say hi.\"}\n";
/// Actions every adapter takes, in order.
const ACTIONS: [&str; 4] = [
    "project.create",
    "prompts.import",
    "run.generate",
    "dataset.freeze",
];

fn tiny() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models/tiny")
        .display()
        .to_string()
}

fn generation(project: &str) -> GenerateRequest {
    let mut request = GenerateRequest::new(project, "tiny");
    request.n = 2;
    request.max_new_tokens = 8;
    request.limit = Some(2);
    request
}

/// A same-origin browser request with the session cookie.
fn browser(uri: &str, cookie: &str, content_type: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header("cookie", cookie)
        .header("origin", "http://127.0.0.1:3000")
        .header("host", "127.0.0.1:3000")
        .header("sec-fetch-site", "same-origin")
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT, "application/json")
        .body(Body::from(body))
        .expect("request")
}

fn api(uri: &str, token: &str, content_type: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("request")
}

/// Runs the real binary against the test database; returns its standard output.
fn pairwise(url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pairwise"))
        .args(["--database-url", url])
        .args(args)
        .env("PAIRWISE_LOG", "warn")
        .output()
        .expect("run pairwise");
    assert!(
        out.status.success(),
        "pairwise {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

async fn through_the_server_functions(h: &Harness) {
    let cookie = h.login("admin1").await;
    let call =
        |path: &str, content_type: &str, body: String| browser(path, &cookie, content_type, body);
    let form = "application/x-www-form-urlencoded";
    let res = h
        .send(call(
            CreateProject::PATH,
            form,
            "name=web&description=same".into(),
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "create_project");
    // The browser's prompt import is a multipart form post (large files stream).
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jsonl\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n{PROMPTS}\r\n--{boundary}--\r\n"
    );
    let res = h
        .send(call(
            "/projects/web/import",
            &format!("multipart/form-data; boundary={boundary}"),
            body,
        ))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "import form");
    let body = json!({"request": generation("web")}).to_string();
    let res = h
        .send(call(StartGeneration::PATH, "application/json", body))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "start_generation");
    let body = "project=web&tag=v1&sources=&min_margin=&max_margin=&kappa_gate=on".into();
    let res = h.send(call(FreezeVersion::PATH, form, body)).await;
    assert_eq!(res.status(), StatusCode::OK, "freeze_version");
}

async fn through_the_rest_api(h: &Harness) {
    let token = h.token("admin1").await;
    let json_type = "application/json";
    let steps = [
        (
            "/api/v1/projects",
            json!({"name": "rest", "description": "same"}).to_string(),
            json_type,
        ),
        (
            "/api/v1/projects/rest/prompts/import?format=jsonl",
            PROMPTS.to_owned(),
            "application/x-ndjson",
        ),
        (
            "/api/v1/runs/generate",
            serde_json::to_string(&generation("rest")).expect("json"),
            json_type,
        ),
        (
            "/api/v1/projects/rest/datasets",
            json!({"tag": "v1"}).to_string(),
            json_type,
        ),
    ];
    for (uri, body, content_type) in steps {
        let (status, value, _) = h.json(api(uri, &token, content_type, body)).await;
        assert!(status.is_success(), "{uri}: {status} {value}");
    }
}

fn through_the_cli(url: &str) {
    let file = std::env::temp_dir().join(format!("pairwise-adapters-{}.jsonl", std::process::id()));
    std::fs::write(&file, PROMPTS).expect("prompts file");
    let file = file.display().to_string();
    pairwise(
        url,
        &[
            "project",
            "create",
            "--name",
            "cli",
            "--description",
            "same",
        ],
    );
    pairwise(url, &["import", "prompts", &file, "--project", "cli"]);
    pairwise(
        url,
        &[
            "run",
            "generate",
            "--project",
            "cli",
            "--model",
            "tiny",
            "--n",
            "2",
            "--max-new-tokens",
            "8",
            "--limit",
            "2",
        ],
    );
    pairwise(
        url,
        &["dataset", "freeze", "--project", "cli", "--tag", "v1"],
    );
    std::fs::remove_file(&file).ok();
}

/// What an adapter left behind, without ids, times and the drawn seed.
async fn stored(t: &TestDb, project: &str) -> Value {
    let p = projects::get_view(&t.db, project).await.expect("project");
    let runs = runs::list(&t.db, Some(p.id), 10).await.expect("runs");
    assert_eq!(runs.len(), 1, "{project}: one run");
    let run = &runs[0];
    let seed = run.seed.expect("a recorded seed");
    assert_ne!(seed, 0, "{project}: a run without a seed gets a random one");
    let mut payload = run.payload.clone();
    payload["seed"] = Value::Null;
    payload["model"]["version"] = Value::Null;
    // Prompt ids differ per project; the number of prompts must not.
    payload["prompt_ids"] = json!(payload["prompt_ids"].as_array().map(Vec::len));
    let version = datasets::get_view(&t.db, p.id, "v1")
        .await
        .expect("version");
    json!({
        "description": p.description,
        "prompts": p.prompt_count,
        "run": {"kind": run.kind, "status": run.status, "total": run.total, "payload": payload},
        "version": {"pairs": version.pair_count, "recipe": version.recipe},
    })
}

#[tokio::test]
async fn the_same_actions_through_server_functions_rest_and_cli_store_the_same_rows_and_one_audit_entry_each(
) {
    for t in TestDb::all().await {
        let url = t.url.clone();
        let h = Harness::new(t).await;
        let model = RegisterModel {
            remote: None,
            name: "tiny".into(),
            kind: "generator".into(),
            dir: tiny(),
            device: "cpu".into(),
        };
        pairwise_pipeline::models::register_model(&h.t.db, &Actor::cli(), model)
            .await
            .expect("register tiny");
        through_the_server_functions(&h).await;
        through_the_rest_api(&h).await;
        through_the_cli(&url);

        let web = stored(&h.t, "web").await;
        for project in ["rest", "cli"] {
            let other = stored(&h.t, project).await;
            assert_eq!(
                serde_json::to_string(&web)
                    .expect("json")
                    .replace("\"web\"", "\"P\""),
                serde_json::to_string(&other)
                    .expect("json")
                    .replace(&format!("\"{project}\""), "\"P\""),
                "{project} differs from the browser's rows"
            );
        }
        for (project, actor) in [("web", "admin1"), ("rest", "admin1"), ("cli", "cli")] {
            for action in ACTIONS {
                let filter = audit::AuditFilter {
                    action: Some(action.into()),
                    project: Some(project.into()),
                    ..Default::default()
                };
                let page = audit::page(&h.t.db, &filter, 10, 0).await.expect("audit");
                assert_eq!(page.total, 1, "{project}: one {action} entry");
                assert_eq!(
                    page.items[0].actor.as_deref(),
                    Some(actor),
                    "{project} {action}"
                );
            }
        }

        // The log reads back over REST with the same filters (admin only).
        let token = h.token("admin1").await;
        let get = |uri: &str, token: &str| {
            Request::get(uri)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request")
        };
        let (status, page, _) = h
            .json(get("/api/v1/audit?action=run.generate", &token))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut actors: Vec<&str> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| e["actor"].as_str().expect("actor"))
            .collect();
        actors.sort_unstable();
        assert_eq!(actors, ["admin1", "admin1", "cli"]);
        let (status, page, _) = h
            .json(get("/api/v1/audit?actor=cli&action=run.", &token))
            .await;
        assert_eq!((status, page["total"].as_u64()), (StatusCode::OK, Some(1)));
        let (status, body, _) = h.json(get("/api/v1/audit?since=yesterday", &token)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.to_string().contains("since"), "{body}");
        let reviewer = h.token("rev1").await;
        let (status, _, _) = h.json(get("/api/v1/audit", &reviewer)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // The run status shows the drawn seed; `--as` acts as that user, with their role.
        let cli_run = runs::list(&h.t.db, None, 10)
            .await
            .expect("runs")
            .into_iter()
            .find(|r| r.project == "cli")
            .expect("cli run");
        let status: Value = serde_json::from_str(&pairwise(
            &url,
            &["run", "status", &cli_run.id.to_string(), "--json"],
        ))
        .expect("status json");
        assert_eq!(status["seed"].as_u64(), cli_run.seed);
        let out = Command::new(env!("CARGO_BIN_EXE_pairwise"))
            .args([
                "--database-url",
                &url,
                "--as",
                "ann1",
                "project",
                "create",
                "--name",
                "nope",
            ])
            .output()
            .expect("run pairwise");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("needs the admin role"));
        assert!(projects::find(&h.t.db, "nope")
            .await
            .expect("query")
            .is_none());
        // Reviewers act in the projects they are members of.
        pairwise(
            &url,
            &[
                "project",
                "member",
                "add",
                "--project",
                "cli",
                "--user",
                "rev1",
                "--role",
                "reviewer",
            ],
        );
        pairwise(
            &url,
            &[
                "--as",
                "rev1",
                "dataset",
                "freeze",
                "--project",
                "cli",
                "--tag",
                "v2",
            ],
        );
        let filter = audit::AuditFilter {
            actor: Some("rev1".into()),
            ..Default::default()
        };
        assert_eq!(
            audit::page(&h.t.db, &filter, 10, 0)
                .await
                .expect("audit")
                .total,
            1
        );
        h.t.finish().await;
    }
}
