//! The security baseline: CSP, body limits, panics, cross-site posts, escaping and page guards.

use super::{bearer, body_text, get_with, Harness};
use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
};
use pairwise_server::config::ServeConfig;
use pairwise_store::{projects, testing::TestDb};
use serde_json::json;

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
    // Every rendered page (the main module's, a lazily loaded part's, the 404) gets a CSP from
    // the one writer, the security-headers layer, with the nonce its own scripts carry.
    for (uri, auth) in [
        ("/login", None),
        ("/projects", Some(("cookie", cookie.as_str()))),
        ("/no-such-page", None),
    ] {
        let page = h.send(get_with(uri, auth)).await;
        let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii")
            .to_owned();
        let html = body_text(page).await;
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .unwrap_or_else(|| panic!("a nonce in the CSP of {uri}"));
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "the hydration script of {uri} carries the CSP nonce"
        );
    }
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
    h.members("p").await;
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
async fn the_audit_log_and_run_actions_follow_their_roles() {
    let h = Harness::new(TestDb::sqlite().await).await;
    for (user, page, api) in [
        ("ann1", StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        ("rev1", StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        ("admin1", StatusCode::OK, StatusCode::OK),
    ] {
        let cookie = h.login(user).await;
        let res = h.send(get_with("/audit", Some(("cookie", &cookie)))).await;
        assert_eq!(res.status(), page, "{user}: /audit page");
        let token = bearer(&h.token(user).await);
        let res = h
            .send(get_with("/api/v1/audit", Some(("authorization", &token))))
            .await;
        assert_eq!(res.status(), api, "{user}: GET /api/v1/audit");
    }
    // Run actions are reviewer actions: an annotator is refused by the use case itself.
    let ann = bearer(&h.token("ann1").await);
    for (route, body) in [
        ("/api/v1/runs/generate", r#"{"project": "p", "model": "m"}"#),
        (
            "/api/v1/runs/judge",
            r#"{"project": "p", "model": "m", "mode": "json"}"#,
        ),
        (
            "/api/v1/runs/reference",
            r#"{"project": "p", "model": "m"}"#,
        ),
        ("/api/v1/runs/1/cancel", ""),
        ("/api/v1/runs/1/retry", ""),
    ] {
        let req = Request::post(route)
            .header("authorization", &ann)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("request");
        assert_eq!(h.send(req).await.status(), StatusCode::FORBIDDEN, "{route}");
    }
    h.t.finish().await;
}

/// The audit's 150 MB prompt line, scaled: one line over the record cap is refused naming it,
/// before it is held whole, and nothing is stored; long prompts are listed cut (the page stays
/// small) with the whole text one request away.
#[tokio::test]
async fn an_oversized_prompt_line_is_refused_and_long_prompts_are_listed_cut() {
    let h = Harness::new(TestDb::sqlite().await).await;
    projects::create(&h.t.db, "big", "", None)
        .await
        .expect("project");
    h.members("big").await;
    let rev = bearer(&h.token("rev1").await);
    let import = |body: Vec<u8>| {
        Request::post("/api/v1/projects/big/prompts/import?format=jsonl")
            .header("authorization", &rev)
            .body(Body::from(body))
            .expect("request")
    };
    let mut hostile = b"{\"prompt\":\"fine\"}\n{\"prompt\":\"".to_vec();
    hostile.extend(std::iter::repeat_n(b'x', 20 << 20));
    hostile.extend(b"\"}\n");
    let (status, body, _) = h.json(import(hostile)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.to_string().contains("line 2") || body["line"] == 2,
        "the error names the line: {body}"
    );
    let (_, page, _) = h
        .json(get_with(
            "/api/v1/projects/big/prompts",
            Some(("authorization", &rev)),
        ))
        .await;
    assert_eq!(page["total"], 0, "nothing stored");

    // Ten prompts of 900 KB each: the list is a page of previews.
    let long = format!("{}end", "word ".repeat(180_000));
    let lines: String = (0..10)
        .map(|i| json!({"prompt": format!("{i} {long}")}).to_string() + "\n")
        .collect();
    let (status, report, _) = h.json(import(lines.into_bytes())).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let res = h
        .send(get_with(
            "/projects/big/prompts",
            Some(("authorization", &rev)),
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = body_text(res).await;
    assert!(html.len() < 200_000, "the page is {} bytes", html.len());
    assert!(html.contains("Show all"));
    let (_, page, _) = h
        .json(get_with(
            "/api/v1/projects/big/prompts?limit=10",
            Some(("authorization", &rev)),
        ))
        .await;
    let first = &page["items"][0];
    assert_eq!(first["truncated"], true);
    let id = first["id"].as_i64().expect("id");
    let (status, whole, _) = h
        .json(get_with(
            &format!("/api/v1/projects/big/prompts/{id}"),
            Some(("authorization", &rev)),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(whole["text"].as_str().map(str::len), Some(long.len() + 2));
    assert_eq!(whole["truncated"], false);
    h.t.finish().await;
}
