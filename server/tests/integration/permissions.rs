//! The permission matrix: every REST route of the OpenAPI document and every server function,
//! called by every kind of caller, compared with `server/tests/permissions.tsv`.
//!
//! Callers: anonymous; an annotator and a reviewer who are members of the project `perm`; an
//! annotator and a reviewer who are not; an admin. A route or server function without a row in
//! the table fails the test, as does a row without a route, so a new endpoint cannot ship
//! without its permissions being written down. Beyond the table, rules that must hold for every
//! endpoint are checked directly: anonymous callers get 401 (public endpoints aside), and a
//! non-member gets 403 or 404 from everything that belongs to the project.
//!
//! `PAIRWISE_RECORD_PERMISSIONS=1 cargo test -p server --test integration permission_matrix`
//! rewrites the table from what the server does (review the diff before committing it).

use super::{bearer, Harness};
use axum::{
    body::Body,
    http::{header, Method, Request},
};
use leptos::server_fn::ServerFn;
use pairwise_core::{Actor, Role};
use pairwise_store::{annotation, members, projects, testing::TestDb, tokens, users};
use std::collections::BTreeMap;

const TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/permissions.tsv");
const CALLERS: [&str; 6] = [
    "anonymous",
    "annotator-other",
    "annotator-member",
    "reviewer-other",
    "reviewer-member",
    "admin",
];

/// Endpoints anyone may call.
const PUBLIC: [&str; 5] = [
    "GET /health",
    "GET /api/v1/openapi.json",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/logout",
    "server-fn current_user",
];

struct Fixture {
    run: i64,
    prompt: i64,
    assignment: i64,
    token: i64,
    /// A vote (of `victim`) for the review probes.
    vote: i64,
}

/// A server function: its key in the table, its path, how its body is encoded, the body, and
/// whether it belongs to the project `perm`.
struct Fn {
    key: String,
    path: &'static str,
    json: bool,
    body: String,
    scoped: bool,
}

fn sf<T: ServerFn>(name: &str, body: &str, scoped: bool) -> Fn {
    Fn {
        key: format!("server-fn {name}"),
        path: T::PATH,
        json: false,
        body: body.to_owned(),
        scoped,
    }
}

fn server_fns(f: &Fixture) -> Vec<Fn> {
    use app::api::{
        annotation::*, audit::*, calibration::*, candidates::*, constitutions::*, datasets::*,
        evals::*, leaderboard::*, models::*, pairs::*, projects::*, prompts::*, review::*,
        rounds::*, rubrics::*, runs::*, users::*,
    };
    let a = f.assignment;
    let mut fns = vec![
        sf::<AnnotateProjects>("annotate_projects", "", false),
        sf::<FetchQueue>("fetch_queue", "project=perm&want=2", true),
        sf::<AnnotateVote>(
            "annotate_vote",
            &format!("assignment={a}&choice=a&duration_ms=900"),
            true,
        ),
        sf::<AnnotateUndo>("annotate_undo", &format!("assignment={a}"), true),
        sf::<AnnotateSkip>("annotate_skip", &format!("assignment={a}"), true),
        sf::<SetRedteamOptOut>("set_redteam_opt_out", "opt_out=false", false),
        sf::<SaveAnnotationSettings>(
            "save_annotation_settings",
            "project=perm&settings[overlap]=3&settings[repeat_rate]=0.1&settings[gold_rate]=0.05&settings[max_pending]=3&settings[lease_seconds]=600&settings[kappa_threshold]=0.4&settings[gate_fast_votes]=true",
            true,
        ),
        sf::<AuditEntries>("audit_entries", "query[limit]=10", false),
        sf::<Calibration>("calibration", "project=perm", true),
        sf::<RunKappaGate>("run_kappa_gate", "project=perm", true),
        sf::<BuildHumanPairs>("build_human_pairs", "project=perm&min_votes=2", true),
        sf::<FillQueue>("fill_queue", "project=perm&limit=1", true),
        sf::<GoldFromPairs>("gold_from_pairs", "project=perm&n=1", true),
        sf::<ReleaseQuarantine>("release_quarantine", "project=perm&id=999999", true),
        sf::<PromoteGold>("promote_gold", "project=perm&item=999999&answer=x", true),
        sf::<CandidatePage>("candidate_page", "project=perm&offset=0", true),
        sf::<ListVersions>("list_versions", "project=perm", true),
        sf::<Leaderboard>("leaderboard", "project=perm&by=path", true),
        sf::<ListReviewVotes>("list_review_votes", "project=perm&query[fast_only]=true", true),
        sf::<ReviewVotes>(
            "review_votes",
            &format!("project=perm&votes[0]={}&decision=accept", f.vote),
            true,
        ),
        sf::<PairCount>("pair_count", "project=perm", true),
        sf::<FreezeVersion>(
            "freeze_version",
            "project=perm&tag={caller}&sources=&min_margin=&max_margin=",
            true,
        ),
        sf::<DiffVersions>("diff_versions", "project=perm&from=v1&to=v1", true),
        sf::<ListPairs>(
            "list_pairs",
            "project=perm&offset=0&source=&strategy=&search=&min_margin=&max_margin=&length=&flag=",
            true,
        ),
        sf::<VersionReport>("version_report", "project=perm&tag=v1", true),
        sf::<ListModels>("list_models", "", false),
        sf::<RegisterModel>(
            "register_model",
            "name=m-{caller}&kind=generator&dir=/nonexistent&device=cpu",
            false,
        ),
        sf::<ListProjects>("list_projects", "", false),
        sf::<CreateProject>("create_project", "name=p-{caller}&description=", false),
        sf::<GetProject>("get_project", "name=perm", true),
        sf::<ListMembers>("list_members", "project=perm", true),
        sf::<SetMember>(
            "set_member",
            "project=perm&username=victim&role=annotator",
            true,
        ),
        sf::<RemoveMember>("remove_member", "project=perm&username=victim", true),
        sf::<ListPrompts>("list_prompts", "project=perm&offset=0", true),
        sf::<PromptFull>("prompt_full", &format!("project=perm&id={}", f.prompt), true),
        sf::<ListRubrics>("list_rubrics", "", false),
        sf::<SaveRubric>("save_rubric", "name=r-{caller}&spec=nonsense", false),
        sf::<RubricDiff>("rubric_diff", "a=x@1&b=x@2", false),
        sf::<ListConstitutions>("list_constitutions", "", false),
        sf::<SaveConstitution>("save_constitution", "name=c-{caller}&spec=nonsense", false),
        sf::<ConstitutionDiff>("constitution_diff", "a=default@1&b=default@1", false),
        sf::<StartCritique>(
            "start_critique",
            "project=perm&generator=nope&critic=nope&constitution=default&rounds=1&split=redteam&max_new_tokens=8",
            true,
        ),
        sf::<CritiqueLoops>("critique_loops", &format!("run={}&offset=0", f.run), true),
        sf::<ListEvaluations>("list_evaluations", "", false),
        sf::<ListRefusalChecks>("list_refusal_checks", "", false),
        sf::<StartEval>(
            "start_eval",
            "project=perm&model=nope&max_new_tokens=8",
            true,
        ),
        sf::<ListRounds>("list_rounds", "project=perm", true),
        sf::<SaveRound>("save_round", "project=perm&generator=nope", true),
        sf::<StartDuel>("start_duel", "project=perm&judge=nope", true),
        sf::<ListRuns>("list_runs", "", false),
        sf::<StartJudge>(
            "start_judge",
            "project=perm&model=nope&rubric=nope&mode=json",
            true,
        ),
        sf::<CancelRun>("cancel_run", &format!("id={}", f.run), true),
        sf::<RetryRun>("retry_run", &format!("id={}", f.run), true),
        sf::<CurrentUser>("current_user", "", false),
        sf::<ListUsers>("list_users", "", false),
        sf::<CreateUser>(
            "create_user",
            "username=u-{caller}&role=annotator&password=long-enough-password",
            false,
        ),
        sf::<SetUserRole>("set_user_role", "username=victim&role=annotator", false),
        sf::<SetUserActive>("set_user_active", "username=victim&active=true", false),
        sf::<ListTokens>("list_tokens", "", false),
        sf::<IssueToken>("issue_token", "username=victim&name=t", false),
        sf::<RevokeToken>("revoke_token", &format!("id={}", f.token), false),
    ];
    fns.push(Fn {
        key: "server-fn start_generation".into(),
        path: StartGeneration::PATH,
        json: true,
        body: r#"{"request":{"project":"perm","model":"nope"}}"#.into(),
        scoped: true,
    });
    fns.push(Fn {
        key: "server-fn build_pairs".into(),
        path: BuildPairs::PATH,
        json: true,
        body: format!(
            r#"{{"project":"perm","request":{{"judge_run":{},"strategy":"ranked","preview":true}}}}"#,
            f.run
        ),
        scoped: true,
    });
    fns
}

/// A form route: key, path, fields, file name, file content.
type Form = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
    &'static str,
);

/// The browser's multipart form routes (uploads outside the OpenAPI document): key, path in
/// project `perm`, the form's fields, and its file (name, content with `{caller}` replaced).
fn forms() -> Vec<Form> {
    vec![
        (
            "FORM POST /projects/{name}/import",
            "/projects/perm/import",
            vec![("split", "train")],
            "probe.jsonl",
            "{\"prompt\": \"a probe prompt from {caller}\"}\n",
        ),
        (
            "FORM POST /projects/{name}/build",
            "/projects/perm/build",
            vec![("builder", "math")],
            "gsm.jsonl",
            "{\"question\": \"{caller} has 2 apples and buys 2. How many?\", \"answer\": \"2 + 2 = <<2+2=4>>4 apples.\\n#### 4\"}\n",
        ),
        (
            "FORM POST /projects/{name}/import-pairs",
            "/projects/perm/import-pairs",
            vec![("format", "trl"), ("target", "pairs")],
            "pairs.jsonl",
            "{\"prompt\": \"probe from {caller}\", \"chosen\": \"a\", \"rejected\": \"b\"}\n",
        ),
        (
            "FORM POST /projects/{name}/import-pairs (gold)",
            "/projects/perm/import-pairs",
            vec![("format", "trl"), ("target", "gold")],
            "gold.jsonl",
            "{\"prompt\": \"gold probe from {caller}\", \"chosen\": \"a\", \"rejected\": \"b\"}\n",
        ),
    ]
}

const BOUNDARY: &str = "pairwise-permission-probe";
const FORM_TYPE: &str = "multipart/form-data; boundary=pairwise-permission-probe";

/// A multipart/form-data body with `fields` and one file part.
fn multipart(fields: &[(&str, &str)], file_name: &str, file: &str) -> String {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n{file}\r\n--{BOUNDARY}--\r\n"
    ));
    body
}

/// The REST routes of the OpenAPI document (plus `/health`), as `METHOD /path/{param}`.
fn rest_routes() -> Vec<(Method, String)> {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(pairwise_server::http::api::ApiDoc::openapi()).expect("openapi");
    let mut out = vec![(Method::GET, "/health".to_owned())];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("methods").keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            out.push((m, path.clone()));
        }
    }
    out
}

fn rest_request(f: &Fixture, method: &Method, template: &str, caller: &str) -> (String, String) {
    let id = if template.contains("/prompts/{id}") {
        f.prompt
    } else {
        f.run
    };
    let uri = template
        .replace("{name}", "perm")
        .replace("{tag}", "v1")
        .replace("{other}", "v1")
        .replace("{username}", "victim")
        .replace("{reference}", "default")
        .replace("{id}", &id.to_string());
    let uri = match uri.as_str() {
        u if u.ends_with("/export") => format!("{u}?format=trl"),
        u if u.ends_with("/prompts/import") => format!("{u}?format=jsonl"),
        u if u.ends_with("/pairs/import") || u.ends_with("/gold/import") => {
            format!("{u}?format=trl")
        }
        u => u.to_owned(),
    };
    let body = match (method.as_str(), template) {
        ("POST", "/api/v1/projects") => format!(r#"{{"name":"rp-{caller}"}}"#),
        ("POST", "/api/v1/models") => {
            format!(r#"{{"name":"rm-{caller}","kind":"generator","dir":"/nonexistent"}}"#)
        }
        ("POST", "/api/v1/projects/{name}/members") => {
            r#"{"username":"victim","role":"annotator"}"#.into()
        }
        ("POST", "/api/v1/projects/{name}/datasets") => format!(r#"{{"tag":"r-{caller}"}}"#),
        ("POST", "/api/v1/projects/{name}/prompts/import") => {
            format!("{{\"prompt\":\"from {caller}\"}}\n")
        }
        ("POST", "/api/v1/projects/{name}/pairs/build") => {
            format!(r#"{{"judge_run":{},"strategy":"extreme"}}"#, f.run)
        }
        ("POST", "/api/v1/projects/{name}/pairs/human") => r#"{"min_votes":2}"#.into(),
        (
            "POST",
            "/api/v1/projects/{name}/pairs/import" | "/api/v1/projects/{name}/gold/import",
        ) => {
            format!("{{\"prompt\":\"from {caller}\",\"chosen\":\"yes\",\"rejected\":\"no\"}}\n")
        }
        ("POST", "/api/v1/projects/{name}/queue/fill") => r#"{"limit":1,"seed":1}"#.into(),
        ("POST", "/api/v1/projects/{name}/gold/from-pairs") => r#"{"n":1}"#.into(),
        ("POST", "/api/v1/projects/{name}/review") => {
            format!(r#"{{"votes":[{}],"decision":"accept"}}"#, f.vote)
        }
        ("POST", "/api/v1/runs/generate") => r#"{"project":"perm","model":"nope"}"#.into(),
        ("POST", "/api/v1/runs/judge") => {
            r#"{"project":"perm","model":"nope","rubric":"nope","mode":"json"}"#.into()
        }
        ("POST", "/api/v1/runs/reference") => {
            r#"{"project":"perm","model":"nope","runs":[]}"#.into()
        }
        ("POST", "/api/v1/runs/eval") => r#"{"project":"perm","model":"nope"}"#.into(),
        ("POST", "/api/v1/runs/refusal-check") => {
            r#"{"project":"perm","judge":"nope","source":"x.csv","rows":[]}"#.into()
        }
        ("POST", "/api/v1/runs/duel") => {
            r#"{"project":"perm","judge":"nope","source":{"kind":"guards"}}"#.into()
        }
        ("POST", "/api/v1/projects/{name}/rounds") => r#"{"generator":"nope"}"#.into(),
        ("POST", "/api/v1/runs/critique") => {
            r#"{"project":"perm","generator":"nope","critic":"nope"}"#.into()
        }
        ("POST", "/api/v1/constitutions") => format!(
            r#"{{"name":"rc-{caller}","spec":{{"principles":[{{"name":"p","critique":"c","revision":"r"}}]}}}}"#
        ),
        ("POST", "/api/v1/runs/build") => {
            r#"{"project":"perm","builder":"math","input":"not json\n"}"#.into()
        }
        ("POST", "/api/v1/auth/login") => r#"{"username":"nobody","password":"wrong"}"#.into(),
        _ => String::new(),
    };
    (uri, body)
}

async fn fixture(h: &Harness) -> (Fixture, BTreeMap<&'static str, Option<String>>) {
    let db = &h.t.db;
    let p = projects::create(db, "perm", "", None)
        .await
        .expect("project");
    let cli = Actor::cli();
    let prompts = "{\"prompt\":\"one\"}\n{\"prompt\":\"two\"}\n";
    pairwise_pipeline::import_prompts(
        db,
        "perm",
        std::io::Cursor::new(prompts.as_bytes().to_vec()),
        &pairwise_pipeline::ImportOptions {
            format: pairwise_core::ImportFormat::Jsonl,
            defaults: Default::default(),
            actor: cli.clone(),
        },
        |_| {},
    )
    .await
    .expect("prompts");
    let pairs: String = (0..6)
        .map(|i| {
            serde_json::json!({"prompt": format!("q{i}"), "chosen": format!("good {i}"), "rejected": format!("bad {i}")})
                .to_string()
                + "\n"
        })
        .collect();
    pairwise_pipeline::import_pairs(
        db,
        "perm",
        std::io::Cursor::new(pairs.into_bytes()),
        pairwise_core::PairFormat::Trl,
        "perm.jsonl",
        &cli,
        |_| {},
    )
    .await
    .expect("pairs");
    annotation::fill_from_pairs(db, p.id, u64::MAX, false, Some(1))
        .await
        .expect("fill");
    let freeze = pairwise_core::requests::FreezeRequest {
        tag: "v1".into(),
        ..Default::default()
    };
    pairwise_pipeline::datasets::freeze_version(db, &cli, "perm", freeze)
        .await
        .expect("freeze");
    let run = pairwise_store::runs::enqueue(
        db,
        pairwise_store::runs::NewJob {
            project_id: p.id,
            kind: "judge".into(),
            payload: serde_json::json!({}),
            total: 0,
            warnings: Vec::new(),
            created_by: None,
        },
    )
    .await
    .expect("run");
    let prompt = pairwise_store::prompts::page(db, p.id, &Default::default(), 1, 0)
        .await
        .expect("prompts")
        .items[0]
        .id;
    for (name, role) in [
        ("ann2", Role::Annotator),
        ("rev2", Role::Reviewer),
        ("victim", Role::Annotator),
    ] {
        users::create(db, name, role, super::PASSWORD)
            .await
            .expect("user");
    }
    let id = |name: &'static str| async move {
        users::find_by_username(db, name)
            .await
            .expect("query")
            .expect("user")
            .id
    };
    members::set(db, p.id, id("ann1").await, "annotator")
        .await
        .expect("member");
    members::set(db, p.id, id("rev1").await, "reviewer")
        .await
        .expect("member");
    members::set(db, p.id, id("victim").await, "annotator")
        .await
        .expect("member");
    let showing = annotation::next(db, p.id, id("ann1").await, 1)
        .await
        .expect("queue");
    let victim = id("victim").await;
    let theirs = annotation::next(db, p.id, victim, 1).await.expect("queue");
    let vote = annotation::vote(
        db,
        victim,
        theirs[0].0.id,
        &annotation::NewVote {
            choice: "a".into(),
            duration_ms: 4000,
            ..Default::default()
        },
    )
    .await
    .expect("vote")
    .id;
    let (victim_token, _) = tokens::issue(db, id("victim").await, "t")
        .await
        .expect("token");
    let mut auth = BTreeMap::new();
    auth.insert("anonymous", None);
    for (caller, user) in [
        ("annotator-other", "ann2"),
        ("annotator-member", "ann1"),
        ("reviewer-other", "rev2"),
        ("reviewer-member", "rev1"),
        ("admin", "admin1"),
    ] {
        auth.insert(caller, Some(bearer(&h.token(user).await)));
    }
    let f = Fixture {
        run: run.id,
        prompt,
        assignment: showing[0].0.id,
        token: victim_token.id,
        vote,
    };
    (f, auth)
}

async fn call(
    h: &Harness,
    method: &Method,
    uri: &str,
    body: String,
    content_type: &str,
    auth: Option<&str>,
) -> u16 {
    let mut req = Request::builder().method(method.clone()).uri(uri);
    if !body.is_empty() {
        req = req.header(header::CONTENT_TYPE, content_type);
    }
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let res = h.send(req.body(Body::from(body)).expect("request")).await;
    res.status().as_u16()
}

#[tokio::test]
async fn permission_matrix() {
    let h = Harness::new(TestDb::sqlite().await).await;
    let (f, auth) = fixture(&h).await;
    let mut observed: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    let mut scoped: BTreeMap<String, bool> = BTreeMap::new();

    // Every server function the binary registers has a probe.
    let fns = server_fns(&f);
    let probed: std::collections::BTreeSet<&str> = fns.iter().map(|f| f.path).collect();
    for (path, _) in leptos::server_fn::axum::server_fn_paths() {
        assert!(
            probed.contains(path),
            "server function {path} has no probe in permissions.rs (and no row in permissions.tsv)"
        );
    }
    let mut calls = Vec::new();
    for sfn in &fns {
        let ct = if sfn.json {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        calls.push((
            sfn.key.clone(),
            Method::POST,
            sfn.path.to_owned(),
            ct,
            sfn.scoped,
            None,
        ));
    }
    for (method, template) in rest_routes() {
        let key = format!("{method} {template}");
        let scoped = template.contains("{name}") || template.contains("/runs/{id}");
        calls.push((
            key,
            method,
            template.clone(),
            "application/json",
            scoped,
            Some(template),
        ));
    }
    let forms = forms();
    for (key, path, ..) in &forms {
        calls.push((
            (*key).to_owned(),
            Method::POST,
            (*path).to_owned(),
            FORM_TYPE,
            true,
            None,
        ));
    }
    calls.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, method, path, ct, is_scoped, template) in calls {
        let mut row = Vec::new();
        for caller in CALLERS {
            if let Some((_, _, fields, file_name, file)) = forms.iter().find(|f| f.0 == key) {
                let body = multipart(fields, file_name, &file.replace("{caller}", caller));
                row.push(call(&h, &method, &path, body, ct, auth[caller].as_deref()).await);
                continue;
            }
            let (uri, body) = match &template {
                Some(t) => rest_request(&f, &method, t, caller),
                None => {
                    let body = fns
                        .iter()
                        .find(|s| s.key == key)
                        .map(|s| s.body.replace("{caller}", caller))
                        .unwrap_or_default();
                    (path.clone(), body)
                }
            };
            let status = call(&h, &method, &uri, body, ct, auth[caller].as_deref()).await;
            row.push(status);
        }
        scoped.insert(key.clone(), is_scoped);
        observed.insert(key, row);
    }

    let render = |m: &BTreeMap<String, Vec<u16>>| -> String {
        let mut out = format!("# endpoint\t{}\n", CALLERS.join("\t"));
        for (k, v) in m {
            let v: Vec<String> = v.iter().map(u16::to_string).collect();
            out.push_str(&format!("{k}\t{}\n", v.join("\t")));
        }
        out
    };
    if std::env::var_os("PAIRWISE_RECORD_PERMISSIONS").is_some() {
        std::fs::write(TABLE, render(&observed)).expect("write the table");
    }

    // Rules every endpoint obeys, whatever the table says.
    for (key, row) in &observed {
        if !PUBLIC.contains(&key.as_str()) {
            assert_eq!(row[0], 401, "{key}: anonymous callers must get 401");
        }
        if scoped[key] {
            for (i, caller) in CALLERS.iter().enumerate() {
                if caller.ends_with("-other") {
                    assert!(
                        matches!(row[i], 403 | 404),
                        "{key}: {caller} (not a member) got {}",
                        row[i]
                    );
                }
            }
        }
        assert!(
            row.iter().all(|s| *s < 500),
            "{key}: a server error in {row:?}"
        );
    }

    // A member's upload is done, not refused: its redirect carries no error.
    for (key, path, fields, file_name, file) in &forms {
        let body = multipart(fields, file_name, &file.replace("{caller}", "again"));
        let req = Request::post(*path)
            .header(header::CONTENT_TYPE, FORM_TYPE)
            .header(
                header::AUTHORIZATION,
                auth["reviewer-member"].as_deref().unwrap_or_default(),
            )
            .body(Body::from(body))
            .expect("request");
        let res = h.send(req).await;
        let to = res
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            res.status().is_redirection() && !to.is_empty() && !to.contains("error"),
            "{key}: {} → {to}",
            res.status()
        );
    }

    // What the lists give non-members: nothing of `perm`.
    for (uri, caller) in [
        ("/api/v1/runs", "reviewer-other"),
        ("/api/v1/projects", "reviewer-other"),
    ] {
        let req = super::get_with(
            uri,
            Some(("authorization", auth[caller].as_deref().unwrap_or_default())),
        );
        let (_, body, _) = h.json(req).await;
        assert!(
            !body.to_string().contains("\"perm\""),
            "{uri} shows `perm` to {caller}: {body}"
        );
    }
    for caller in ["annotator-other", "reviewer-other"] {
        let req = Request::post(<app::api::annotation::AnnotateProjects as ServerFn>::PATH)
            .header(
                header::AUTHORIZATION,
                auth[caller].as_deref().unwrap_or_default(),
            )
            .body(Body::empty())
            .expect("request");
        let (status, body, _) = h.json(req).await;
        assert_eq!(
            (status.as_u16(), body),
            (200, serde_json::json!([])),
            "{caller}"
        );
    }

    // The table kept in the repository.
    let table = std::fs::read_to_string(TABLE).expect("server/tests/permissions.tsv");
    let expected: BTreeMap<String, Vec<u16>> = table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut cells = l.split('\t');
            let key = cells.next().expect("key").to_owned();
            let row = cells.map(|c| c.trim().parse().expect("status")).collect();
            (key, row)
        })
        .collect();
    for key in observed.keys() {
        assert!(
            expected.contains_key(key),
            "{key} has no row in server/tests/permissions.tsv"
        );
    }
    for key in expected.keys() {
        assert!(
            observed.contains_key(key),
            "permissions.tsv has a row for {key}, which no longer exists"
        );
    }
    let mut diffs = Vec::new();
    for (key, row) in &observed {
        if expected[key] != *row {
            diffs.push(format!("{key}: expected {:?}, got {row:?}", expected[key]));
        }
    }
    assert!(
        diffs.is_empty(),
        "statuses differ from server/tests/permissions.tsv (callers {CALLERS:?}):\n{}",
        diffs.join("\n")
    );
    h.t.finish().await;
}
