//! Dataset versions through the API: freeze, diff and download, and nothing can change them.

use super::{bearer, body_text, get_with, Harness};
use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
};
use http_body_util::BodyExt;
use pairwise_store::{projects, testing::TestDb};
use serde_json::{json, Value};

#[tokio::test]
async fn reviewers_freeze_diff_and_download_versions_that_nothing_can_change() {
    for t in TestDb::all().await {
        let h = Harness::new(t).await;
        projects::create(&h.t.db, "ds", "", None)
            .await
            .expect("project");
        h.members("ds").await;
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
