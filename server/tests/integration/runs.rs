//! Runs over HTTP: only registered models run, and the live-progress stream ends with its user.

use super::{bearer, get_with, Harness};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use http_body_util::BodyExt;
use pairwise_core::Role;
use pairwise_store::{testing::TestDb, users};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_run_names_a_registered_model_never_a_server_path() {
    let h = Harness::new(TestDb::sqlite().await).await;
    pairwise_store::projects::create(&h.t.db, "p", "", None)
        .await
        .expect("project");
    h.members("p").await;
    let rev = bearer(&h.token("rev1").await);
    for (route, body) in [
        (
            "/api/v1/runs/generate",
            json!({"project": "p", "model": "/etc"}),
        ),
        (
            "/api/v1/runs/judge",
            json!({"project": "p", "model": "/etc", "mode": "json"}),
        ),
        (
            "/api/v1/runs/reference",
            json!({"project": "p", "model": "/tmp"}),
        ),
    ] {
        let req = Request::post(route)
            .header("authorization", &rev)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        let (status, body, _) = h.json(req).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{route}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("not a registered model"), "{message}");
        assert!(
            !message.contains("onnx") && !message.contains("missing"),
            "{message}"
        );
    }
    h.t.finish().await;
}

#[tokio::test]
async fn the_live_progress_stream_ends_when_its_user_is_deactivated_or_demoted() {
    let h = Harness::new(TestDb::sqlite().await).await;
    users::create(&h.t.db, "rev2", Role::Reviewer, super::PASSWORD)
        .await
        .expect("second reviewer");
    for (name, change) in [("rev1", "deactivate"), ("rev2", "demote")] {
        let token = bearer(&h.token(name).await);
        let res = h
            .send(get_with(
                "/api/v1/runs/events",
                Some(("authorization", &token)),
            ))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let mut body = res.into_body();
        let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("the first event comes at once")
            .expect("a frame")
            .expect("data");
        assert!(first.is_data());
        match change {
            "deactivate" => users::set_active(&h.t.db, name, false).await,
            _ => users::set_role(&h.t.db, name, Role::Annotator).await,
        }
        .expect("change the user");
        // After the change the stream ends (keep-alive comments may come before the end).
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(frame) = body.frame().await {
                frame.expect("frame");
            }
        })
        .await;
        assert!(
            ended.is_ok(),
            "{name}: the stream is still open after {change}"
        );
    }
    h.t.finish().await;
}
