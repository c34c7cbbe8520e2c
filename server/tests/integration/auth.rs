//! Auth: 401/403, logout, deactivation, revoked tokens, login redirects, rate limits, no signup.

use super::{bearer, body_text, get_with, Harness, PASSWORD};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use pairwise_server::config::ServeConfig;
use pairwise_store::{testing::TestDb, tokens, users};
use serde_json::json;

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
    let sfn = Request::post(<app::api::users::CreateUser as leptos::server_fn::ServerFn>::PATH)
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

/// Tokens expire: 90 days by default, shown with the last use; an expired token gets 401.
#[tokio::test]
async fn api_tokens_expire_and_show_their_expiry() {
    use pairwise_store::entities::api_token;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let h = Harness::new(TestDb::sqlite().await).await;
    let admin = h.t.db.clone();
    let user = users::find_by_username(&admin, "rev1")
        .await
        .expect("query")
        .expect("user");
    let (view, secret) = tokens::issue(&admin, user.id, "ci").await.expect("token");
    let expires = chrono::DateTime::parse_from_rfc3339(view.expires_at.as_deref().expect("expiry"))
        .expect("rfc3339");
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days();
    assert!((89..=90).contains(&days), "default expiry in {days} days");
    let me = || get_with("/api/v1/me", Some(("authorization", &bearer(&secret))));
    assert_eq!(h.json(me()).await.0, StatusCode::OK);
    let listed = tokens::list(&admin, Some(user.id)).await.expect("list");
    assert!(listed[0].last_used_at.is_some(), "the last use is recorded");

    let mut row: api_token::ActiveModel = api_token::Entity::find_by_id(view.id)
        .one(&admin)
        .await
        .expect("query")
        .expect("row")
        .into();
    row.expires_at = Set(Some(chrono::Utc::now() - chrono::Duration::seconds(1)));
    row.update(&admin).await.expect("expire");
    assert_eq!(h.json(me()).await.0, StatusCode::UNAUTHORIZED);

    let (never, _) = tokens::issue_expiring(&admin, user.id, "forever", 0)
        .await
        .expect("token");
    assert_eq!(never.expires_at, None);
    assert!(tokens::issue_expiring(&admin, user.id, "x", 100_000)
        .await
        .is_err());
    h.t.finish().await;
}
