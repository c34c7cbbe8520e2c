//! The HTTP surface through `router.oneshot(request)`: auth, roles, the REST API and the security
//! baseline, against real SQLite and PostgreSQL databases.

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    routing::get,
    Router,
};
use http_body_util::BodyExt;
use pairwise_core::Role;
use pairwise_server::{config::ServeConfig, http, serve};
use pairwise_store::{projects, testing::TestDb, tokens, users};
use serde_json::{json, Value};
use tower::ServiceExt;

mod adapters;

const PASSWORD: &str = "integration-password";

struct Harness {
    router: Router,
    t: TestDb,
}

impl Harness {
    async fn new(t: TestDb) -> Self {
        Self::with_config(t, ServeConfig::default()).await
    }

    async fn with_config(t: TestDb, config: ServeConfig) -> Self {
        let state = serve::state(t.db.clone(), &config);
        let routes = http::routes(&state).route("/boom", get(boom));
        let router = http::with_layers(routes, state, &config);
        users::create(&t.db, "admin1", Role::Admin, PASSWORD)
            .await
            .expect("admin");
        users::create(&t.db, "rev1", Role::Reviewer, PASSWORD)
            .await
            .expect("reviewer");
        users::create(&t.db, "ann1", Role::Annotator, PASSWORD)
            .await
            .expect("annotator");
        Self { router, t }
    }

    async fn send(&self, req: Request<Body>) -> axum::response::Response {
        self.router.clone().oneshot(req).await.expect("infallible")
    }

    async fn json(&self, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let res = self.send(req).await;
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (parts.status, value, parts.headers)
    }

    /// Logs in through the JSON API and returns the session cookie.
    async fn login(&self, user: &str) -> String {
        let req = Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": user, "password": PASSWORD}).to_string(),
            ))
            .expect("request");
        let res = self.send(req).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {user}");
        cookie(&res)
    }

    async fn token(&self, user: &str) -> String {
        let u = users::find_by_username(&self.t.db, user)
            .await
            .expect("query")
            .expect("user");
        tokens::issue(&self.t.db, u.id, "test")
            .await
            .expect("token")
            .1
    }
}

fn cookie(res: &axum::response::Response) -> String {
    let set = res
        .headers()
        .get(header::SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .expect("ascii");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    set.split(';').next().expect("pair").to_owned()
}

fn get_with(uri: &str, auth: Option<(&str, &str)>) -> Request<Body> {
    let mut req = Request::get(uri);
    if let Some((name, value)) = auth {
        req = req.header(name, value);
    }
    req.body(Body::empty()).expect("request")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn body_text(res: axum::response::Response) -> String {
    String::from_utf8(
        res.into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec(),
    )
    .expect("utf-8")
}

#[tokio::test]
async fn anonymous_calls_get_401_and_annotators_403_as_json() {
    for t in TestDb::all().await {
        let h = Harness::new(t).await;
        let (status, body, headers) = h.json(get_with("/api/v1/users", None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", h.t.backend);
        assert_eq!(body["error"]["code"], "unauthenticated");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");

        let ann = h.token("ann1").await;
        let (status, body, _) = h
            .json(get_with(
                "/api/v1/users",
                Some(("authorization", &bearer(&ann))),
            ))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "forbidden");

        let admin = h.token("admin1").await;
        let (status, body, _) = h
            .json(get_with(
                "/api/v1/users",
                Some(("authorization", &bearer(&admin))),
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.as_array().map(Vec::len), Some(3));
        assert!(
            body.to_string().find("argon2").is_none(),
            "hashes never leave the server"
        );

        let (status, _, _) = h
            .json(get_with(
                "/api/v1/me",
                Some(("authorization", "Bearer pw_not-a-token")),
            ))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        h.t.finish().await;
    }
}

#[tokio::test]
async fn projects_and_prompt_pages_through_the_api() {
    for t in TestDb::all().await {
        let h = Harness::new(t).await;
        let admin = bearer(&h.token("admin1").await);
        let rev = bearer(&h.token("rev1").await);
        let create = |auth: &str, name: &str| {
            Request::post("/api/v1/projects")
                .header("authorization", auth)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"name": name, "description": "d"}).to_string(),
                ))
                .expect("request")
        };
        let (status, _, _) = h.json(create(&rev, "nope")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "only admins create projects");
        let (status, body, _) = h.json(create(&admin, "demo")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, _, _) = h.json(create(&admin, "demo")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, body, _) = h.json(create(&admin, "Bad Name")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("name"));

        let lines: String = (0..120)
            .map(|i| format!("{{\"prompt\":\"question {i}\"}}\n"))
            .collect();
        let import = |body: String| {
            Request::post("/api/v1/projects/demo/prompts/import?format=jsonl&split=eval")
                .header("authorization", &rev)
                .body(Body::from(body))
                .expect("request")
        };
        let (status, report, _) = h.json(import(lines.clone())).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(
            report,
            json!({"records": 120, "inserted": 120, "duplicates": 0})
        );

        let broken =
            "{\"prompt\":\"new a\"}\n{\"prompt\":\"new b\"}\n{\"prompt\": [1]}\n".to_owned();
        let (status, body, _) = h.json(import(broken)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with("line 3: field `prompt`"),
            "{body}"
        );

        let (status, page, _) = h
            .json(get_with(
                "/api/v1/projects/demo/prompts?limit=50&offset=100",
                Some(("authorization", &rev)),
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["total"], 120, "the failed import added nothing");
        assert_eq!(page["items"].as_array().map(Vec::len), Some(20));
        assert_eq!(page["items"][0]["split"], "eval");

        let ann = bearer(&h.token("ann1").await);
        let (status, _, _) = h
            .json(get_with(
                "/api/v1/projects/demo/prompts",
                Some(("authorization", &ann)),
            ))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = h
            .json(get_with(
                "/api/v1/projects/missing/prompts",
                Some(("authorization", &rev)),
            ))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        h.t.finish().await;
    }
}

#[tokio::test]
async fn logout_and_deactivation_end_sessions_and_tokens() {
    let h = Harness::new(TestDb::sqlite().await).await;
    let first = h.login("rev1").await;
    let second = h.login("rev1").await;
    let me = |c: &str| get_with("/api/v1/me", Some(("cookie", c)));
    assert_eq!(h.json(me(&first)).await.0, StatusCode::OK);

    let logout = Request::post("/api/v1/auth/logout")
        .header("cookie", &first)
        .body(Body::empty())
        .expect("request");
    assert_eq!(h.send(logout).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.json(me(&first)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.json(me(&second)).await.0,
        StatusCode::UNAUTHORIZED,
        "logout ends every session of the user"
    );

    let third = h.login("rev1").await;
    let token = h.token("rev1").await;
    users::set_active(&h.t.db, "rev1", false)
        .await
        .expect("deactivate");
    assert_eq!(h.json(me(&third)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.json(get_with(
            "/api/v1/me",
            Some(("authorization", &bearer(&token)))
        ))
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    h.t.finish().await;
}

#[tokio::test]
async fn a_revoked_token_fails_on_the_next_request() {
    let h = Harness::new(TestDb::sqlite().await).await;
    let u = users::find_by_username(&h.t.db, "admin1")
        .await
        .expect("query")
        .expect("user");
    let (view, secret) = tokens::issue(&h.t.db, u.id, "script").await.expect("token");
    let call = || get_with("/api/v1/me", Some(("authorization", &bearer(&secret))));
    let (status, body, _) = h.json(call()).await;
    assert_eq!(
        (status, body["username"].as_str()),
        (StatusCode::OK, Some("admin1"))
    );
    tokens::revoke(&h.t.db, view.id).await.expect("revoke");
    assert_eq!(h.json(call()).await.0, StatusCode::UNAUTHORIZED);
    let listed = tokens::list(&h.t.db, Some(u.id)).await.expect("list");
    assert!(
        listed
            .iter()
            .all(|t| !t.prefix.is_empty() && t.prefix.len() < secret.len()),
        "only a prefix is kept"
    );
    h.t.finish().await;
}

#[tokio::test]
async fn login_form_redirects_only_inside_the_site_and_guesses_fail() {
    let h = Harness::new(TestDb::sqlite().await).await;
    let form = |user: &str, password: &str, next: &str| {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "username={user}&password={password}&next={}",
                urlencoding::encode(next)
            )))
            .expect("request")
    };
    let res = h.send(form("admin1", PASSWORD, "/projects?x=1")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/projects?x=1");
    let res = h.send(form("admin1", PASSWORD, "//evil.example/x")).await;
    assert_eq!(res.headers()[header::LOCATION], "/");
    let res = h
        .send(form("admin1", PASSWORD, "https://evil.example"))
        .await;
    assert_eq!(res.headers()[header::LOCATION], "/");
    for (user, password) in [
        ("admin", "admin"),
        ("admin1", "admin"),
        ("admin1", "password"),
        ("root", "root"),
    ] {
        let res = h.send(form(user, password, "/")).await;
        let location = res.headers()[header::LOCATION]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            location.starts_with("/login?error=1"),
            "{user}/{password} → {location}"
        );
        assert!(res
            .headers()
            .get(header::SET_COOKIE)
            .is_none_or(|c| !c.to_str().unwrap_or("").contains("Max-Age")));
    }
    h.t.finish().await;
}

#[tokio::test]
async fn login_attempts_are_rate_limited() {
    let config = ServeConfig {
        login_per_minute: 3,
        ..ServeConfig::default()
    };
    let h = Harness::with_config(TestDb::sqlite().await, config).await;
    let attempt = || {
        Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": "admin1", "password": "wrong password"}).to_string(),
            ))
            .expect("request")
    };
    for _ in 0..3 {
        assert_eq!(h.json(attempt()).await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, body, _) = h.json(attempt()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "too_many_requests");
    h.t.finish().await;
}

#[tokio::test]
async fn every_response_has_an_enforcing_csp_and_nosniff() {
    let h = Harness::new(TestDb::sqlite().await).await;
    let cookie = h.login("admin1").await;
    for (uri, auth) in [
        ("/login", None),
        ("/projects", Some(("cookie", cookie.as_str()))),
        ("/no-such-page", None),
        ("/api/v1/me", None),
        ("/health", None),
        ("/api/v1/openapi.json", None),
    ] {
        let res = h.send(get_with(uri, auth)).await;
        let csp = res
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap_or_else(|| panic!("CSP on {uri}"));
        assert!(
            csp.to_str().expect("ascii").contains("default-src 'self'"),
            "{uri}"
        );
        assert!(res
            .headers()
            .get("content-security-policy-report-only")
            .is_none());
        assert_eq!(
            res.headers()[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff",
            "{uri}"
        );
    }
    let page = h.send(get_with("/login", None)).await;
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii")
        .to_owned();
    let html = body_text(page).await;
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a nonce in the page CSP");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the CSP nonce"
    );
    h.t.finish().await;
}

#[tokio::test]
async fn oversized_bodies_get_413_declared_or_streamed() {
    let config = ServeConfig {
        max_body_mb: 1,
        ..ServeConfig::default()
    };
    let h = Harness::with_config(TestDb::sqlite().await, config).await;
    projects::create(&h.t.db, "p", "", None)
        .await
        .expect("project");
    let rev = bearer(&h.token("rev1").await);
    let big = "{\"prompt\":\"x\"}\n".repeat(80_000); // ~1.2 MiB
    let declared = Request::post("/api/v1/projects/p/prompts/import?format=jsonl")
        .header("authorization", &rev)
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big.clone()))
        .expect("request");
    assert_eq!(
        h.send(declared).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // No Content-Length: the limit trips while the body streams.
    let chunks: Vec<Result<String, std::io::Error>> = big
        .as_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok(String::from_utf8_lossy(c).into_owned()))
        .collect();
    let streamed = Request::post("/api/v1/projects/p/prompts/import?format=jsonl")
        .header("authorization", &rev)
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .expect("request");
    let (status, body, _) = h.json(streamed).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(
        pairwise_store::prompts::count(&h.t.db, 1)
            .await
            .expect("count"),
        0
    );
    h.t.finish().await;
}

#[tokio::test]
async fn a_panicking_handler_returns_500_and_the_server_keeps_serving() {
    let h = Harness::new(TestDb::sqlite().await).await;
    let (status, body, headers) = h.json(get_with("/boom", None)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"]["code"], "internal");
    assert!(
        !body.to_string().contains("exploded"),
        "the cause is logged, not shown"
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h.json(get_with("/health", None)).await.0, StatusCode::OK);
    h.t.finish().await;
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let h = Harness::new(TestDb::sqlite().await).await;
    let cookie = h.login("admin1").await;
    let post = |headers: &[(&str, &str)]| {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/projects")
            .header("cookie", &cookie);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"name": "csrf"}).to_string()))
            .expect("request")
    };
    assert_eq!(
        h.send(post(&[("sec-fetch-site", "cross-site")]))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.send(post(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:3000")
        ]))
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.send(post(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
            ("sec-fetch-site", "same-origin")
        ]))
        .await
        .status(),
        StatusCode::CREATED
    );
    h.t.finish().await;
}

#[tokio::test]
async fn there_is_no_self_signup() {
    let h = Harness::new(TestDb::sqlite().await).await;
    let signup = Request::post("/api/v1/users")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"username": "me", "password": "0123456789abc", "role": "admin"}).to_string(),
        ))
        .expect("request");
    assert!(matches!(
        h.send(signup).await.status(),
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED
    ));
    // The admin-only server function refuses anonymous callers too.
    let sfn = Request::post(<app::api::CreateUser as leptos::server_fn::ServerFn>::PATH)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from("username=me&role=admin&password=0123456789abc"))
        .expect("request");
    let res = h.send(sfn).await;
    let text = body_text(res).await;
    assert!(text.contains("Unauthenticated"), "{text}");
    assert_eq!(users::count(&h.t.db).await.expect("count"), 3);
    h.t.finish().await;
}

#[tokio::test]
async fn user_text_in_pages_is_escaped() {
    let h = Harness::new(TestDb::sqlite().await).await;
    projects::create(&h.t.db, "xss", "</script><script>alert(1)</script>", None)
        .await
        .expect("project");
    let cookie = h.login("admin1").await;
    let html = body_text(
        h.send(get_with("/projects", Some(("cookie", &cookie))))
            .await,
    )
    .await;
    assert!(
        html.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the description is escaped text"
    );
    assert!(!html.contains("<script>alert(1)"));
    h.t.finish().await;
}

#[tokio::test]
async fn pages_need_login_and_the_right_role() {
    let h = Harness::new(TestDb::sqlite().await).await;
    let browser = Request::get("/users")
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .body(Body::empty())
        .expect("request");
    let res = h.send(browser).await;
    let status = res.status();
    let headers = res.headers().clone();
    assert!(
        status.is_redirection(),
        "{status} {headers:?} {}",
        body_text(res).await
    );
    assert_eq!(headers[header::LOCATION], "/login?next=%2Fusers");
    let ann = h.login("ann1").await;
    let res = h.send(get_with("/users", Some(("cookie", &ann)))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(body_text(res).await.contains("403"));
    let admin = h.login("admin1").await;
    assert_eq!(
        h.send(get_with("/users", Some(("cookie", &admin))))
            .await
            .status(),
        StatusCode::OK
    );
    h.t.finish().await;
}

#[tokio::test]
async fn health_and_openapi_describe_the_server() {
    let h = Harness::new(TestDb::sqlite().await).await;
    let (status, body, _) = h.json(get_with("/health", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert!(body["migration"]
        .as_str()
        .unwrap_or_default()
        .starts_with("m2026"));
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        body["inference"]["status"], "ok",
        "make setup installs the ONNX Runtime library"
    );
    assert_eq!(body["inference"]["providers"][0], "cpu");
    let (status, doc, _) = h.json(get_with("/api/v1/openapi.json", None)).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/projects",
        "/api/v1/projects/{name}/prompts",
        "/api/v1/auth/login",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    h.t.finish().await;
}

async fn boom() -> &'static str {
    panic!("handler exploded")
}

#[tokio::test]
async fn reviewers_freeze_diff_and_download_versions_that_nothing_can_change() {
    for t in TestDb::all().await {
        let h = Harness::new(t).await;
        projects::create(&h.t.db, "ds", "", None)
            .await
            .expect("project");
        let rows: String = (0..7)
            .map(|i| {
                format!(
                    "{{\"prompt\":\"q{i}\",\"chosen\":\"good {i}\",\"rejected\":\"bad {i}\"}}\n"
                )
            })
            .collect();
        pairwise_pipeline::import_pairs(
            &h.t.db,
            "ds",
            std::io::Cursor::new(rows.into_bytes()),
            pairwise_core::PairFormat::Trl,
            "unit",
            &pairwise_core::Actor::cli(),
            |_| (),
        )
        .await
        .expect("import");
        let rev = bearer(&h.token("rev1").await);
        let ann = bearer(&h.token("ann1").await);
        let freeze = |auth: &str, body: Value| {
            Request::post("/api/v1/projects/ds/datasets")
                .header("authorization", auth)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("request")
        };
        assert_eq!(
            h.json(freeze(&ann, json!({"tag": "v1"}))).await.0,
            StatusCode::FORBIDDEN
        );
        let (status, v1, _) = h.json(freeze(&rev, json!({"tag": "v1"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{v1}");
        assert_eq!(v1["pair_count"], 7);
        assert_eq!(
            h.json(freeze(&rev, json!({"tag": "v1"}))).await.0,
            StatusCode::CONFLICT,
            "{}",
            h.t.backend
        );
        let (status, body, _) = h.json(freeze(&rev, json!({"tag": "bad tag!"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (_, v2, _) = h
            .json(freeze(
                &rev,
                json!({"tag": "v2", "recipe": {"sources": ["elsewhere"]}}),
            ))
            .await;
        assert_eq!(
            (v2["pair_count"].as_u64(), v2["parent"].as_str()),
            (Some(0), Some("v1"))
        );

        for method in [Method::DELETE, Method::PUT, Method::PATCH] {
            let req = Request::builder()
                .method(method.clone())
                .uri("/api/v1/projects/ds/datasets/v1")
                .header("authorization", &rev)
                .body(Body::empty())
                .expect("request");
            assert_eq!(
                h.send(req).await.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method}"
            );
        }
        let (_, again, _) = h
            .json(get_with(
                "/api/v1/projects/ds/datasets/v1",
                Some(("authorization", &rev)),
            ))
            .await;
        assert_eq!(again["content_hash"], v1["content_hash"]);

        let (_, diff, _) = h
            .json(get_with(
                "/api/v1/projects/ds/datasets/v1/diff/v2",
                Some(("authorization", &rev)),
            ))
            .await;
        assert_eq!(
            (diff["removed"].as_u64(), diff["added"].as_u64()),
            (Some(7), Some(0))
        );

        let res = h
            .send(get_with(
                "/api/v1/projects/ds/datasets/v1/export?format=kto",
                Some(("authorization", &rev)),
            ))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()[header::CONTENT_DISPOSITION],
            "attachment; filename=\"ds-v1-kto.jsonl\""
        );
        let text = body_text(res).await;
        assert_eq!(text.lines().count(), 14, "two KTO rows per pair");
        let res = h
            .send(get_with(
                "/api/v1/projects/ds/datasets/v1/export?format=parquet-ish",
                Some(("authorization", &rev)),
            ))
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = h
            .send(get_with(
                "/api/v1/projects/ds/datasets/v1/export?format=trl&container=parquet",
                Some(("authorization", &rev)),
            ))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()[header::CONTENT_DISPOSITION],
            "attachment; filename=\"ds-v1-trl.parquet\""
        );
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        assert!(
            bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"),
            "a Parquet file"
        );
        let res = h
            .send(get_with(
                "/api/v1/projects/ds/datasets/v1/export?format=trl&container=zip",
                Some(("authorization", &rev)),
            ))
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        h.t.finish().await;
    }
}

/// Standalone `pairwise worker` processes against one database: one is killed with SIGKILL in the
/// middle of a generation run, another takes the run over after the lease lapses, and the run
/// ends with exactly prompts × N candidates.
mod workers {
    use pairwise_core::PromptRecord;
    use pairwise_pipeline::{create_generation, GenerateRequest};
    use pairwise_store::{candidates, jobs, projects, prompts, testing::TestDb};
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
                jobs::get(&t.db, run.id).await.expect("job").status,
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
            let job = jobs::get(&t.db, run.id).await.expect("job");
            assert_eq!(
                (job.status.as_str(), job.attempts),
                ("done", 2),
                "{}",
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
}
