//! The HTTP surface through `router.oneshot(request)`: auth, roles, the REST API and the security
//! baseline, against real SQLite and PostgreSQL databases.

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    routing::get,
    Router,
};
use http_body_util::BodyExt;
use pairwise_core::Role;
use pairwise_server::{config::ServeConfig, http, serve};
use pairwise_store::{testing::TestDb, tokens, users};
use serde_json::{json, Value};
use tower::ServiceExt;

mod adapters;
mod api;
mod auth;
mod datasets;
mod faults;
mod flood;
mod permissions;
mod rank;
mod remote;
mod runs;
mod security;
mod workers;

pub(crate) const PASSWORD: &str = "integration-password";

pub(crate) struct Harness {
    router: Router,
    pub(crate) t: TestDb,
}

impl Harness {
    pub(crate) async fn new(t: TestDb) -> Self {
        Self::with_config(t, ServeConfig::default()).await
    }

    pub(crate) async fn with_config(t: TestDb, config: ServeConfig) -> Self {
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

    pub(crate) async fn send(&self, req: Request<Body>) -> axum::response::Response {
        self.router.clone().oneshot(req).await.expect("infallible")
    }

    pub(crate) async fn json(
        &self,
        req: Request<Body>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let res = self.send(req).await;
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (parts.status, value, parts.headers)
    }

    /// Logs in through the JSON API and returns the session cookie.
    pub(crate) async fn login(&self, user: &str) -> String {
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

    /// Makes `rev1` a reviewer and `ann1` an annotator of `project` (members see only their
    /// projects).
    pub(crate) async fn members(&self, project: &str) {
        let p = pairwise_store::projects::require(&self.t.db, project)
            .await
            .expect("project");
        for (user, role) in [("rev1", "reviewer"), ("ann1", "annotator")] {
            let u = users::find_by_username(&self.t.db, user)
                .await
                .expect("query")
                .expect("user");
            pairwise_store::members::set(&self.t.db, p.id, u.id, role)
                .await
                .expect("member");
        }
    }

    pub(crate) async fn token(&self, user: &str) -> String {
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

pub(crate) fn get_with(uri: &str, auth: Option<(&str, &str)>) -> Request<Body> {
    let mut req = Request::get(uri);
    if let Some((name, value)) = auth {
        req = req.header(name, value);
    }
    req.body(Body::empty()).expect("request")
}

pub(crate) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub(crate) async fn body_text(res: axum::response::Response) -> String {
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

async fn boom() -> &'static str {
    panic!("handler exploded")
}
