//! The REST API: projects and prompt pages, health and the OpenAPI document.

use super::{bearer, get_with, Harness};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use pairwise_store::testing::TestDb;
use serde_json::json;

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
        h.members("demo").await;
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
async fn health_and_openapi_describe_the_server() {
    let h = Harness::new(TestDb::sqlite().await).await;
    // Anonymous callers and non-admins learn the status alone.
    let (status, body, _) = h.json(get_with("/health", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
    let rev = bearer(&h.token("rev1").await);
    let (_, body, _) = h
        .json(get_with("/health", Some(("authorization", &rev))))
        .await;
    assert_eq!(body, json!({"status": "ok"}));
    let admin = bearer(&h.token("admin1").await);
    let (status, body, _) = h
        .json(get_with("/health", Some(("authorization", &admin))))
        .await;
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

#[tokio::test]
async fn an_offset_past_every_row_is_an_empty_page_not_a_panic() {
    for t in TestDb::all().await {
        let h = Harness::new(t).await;
        pairwise_store::projects::create(&h.t.db, "p", "", None)
            .await
            .expect("project");
        h.members("p").await;
        let rev = bearer(&h.token("rev1").await);
        let cookie = h.login("rev1").await;
        for offset in ["18446744073709551615", "9223372036854775808", "5"] {
            let uri = format!("/api/v1/projects/p/prompts?offset={offset}");
            let (status, page, _) = h.json(get_with(&uri, Some(("authorization", &rev)))).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {page}");
            assert_eq!(page["items"], json!([]), "{uri}");
            for page_uri in [
                format!("/projects/p/prompts?offset={offset}"),
                format!("/projects/p/datasets?offset={offset}"),
                format!("/projects/p/candidates?offset={offset}"),
            ] {
                let res = h.send(get_with(&page_uri, Some(("cookie", &cookie)))).await;
                assert_eq!(res.status(), StatusCode::OK, "{page_uri}");
            }
        }
        h.t.finish().await;
    }
}

/// Pairs and gold through the REST API: the HH-RLHF file as it ships (gzip) and as Parquet (a
/// TRL export of it, read from its Arrow arrays) make the same version; a bad line is a 422 that
/// names it, with nothing stored; a gold set becomes silent gold items.
#[tokio::test]
async fn pairs_and_gold_import_through_the_api() {
    use pairwise_core::ExportFormat;
    for t in TestDb::all().await {
        let h = Harness::new(t).await;
        let db = &h.t.db;
        for name in ["gz", "pq"] {
            pairwise_store::projects::create(db, name, "", None)
                .await
                .expect("project");
            h.members(name).await;
        }
        let rev = bearer(&h.token("rev1").await);
        let post = |path: &str, body: Vec<u8>| {
            Request::post(path)
                .header("authorization", &rev)
                .body(Body::from(body))
                .expect("request")
        };
        let hh = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/data/hh-rlhf/harmless-base-test.jsonl.gz"),
        )
        .expect("the HH-RLHF file (make setup)");
        let (status, report, _) = h
            .json(post(
                "/api/v1/projects/gz/pairs/import?format=hh-rlhf&source=harmless-base",
                hh,
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(
            report,
            json!({"rows": 2312, "inserted": 2312, "duplicates": 0})
        );
        let gz = pairwise_store::projects::require(db, "gz")
            .await
            .expect("gz");
        let v1 = pairwise_store::datasets::freeze(db, gz.id, "v1", &Default::default(), None)
            .await
            .expect("freeze");
        let mut parquet = Vec::new();
        pairwise_pipeline::parquet_io::export_version_parquet(
            db,
            "gz",
            "v1",
            ExportFormat::TrlConversational,
            &mut parquet,
        )
        .await
        .expect("export");
        let (status, report, _) = h
            .json(post("/api/v1/projects/pq/pairs/import?format=trl", parquet))
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["inserted"], 2312);
        let pq = pairwise_store::projects::require(db, "pq")
            .await
            .expect("pq");
        let back = pairwise_store::datasets::freeze(db, pq.id, "v1", &Default::default(), None)
            .await
            .expect("freeze");
        assert_eq!(back.content_hash, v1.content_hash, "{}", h.t.backend);

        let broken = b"{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}\n{\"prompt\":\"a2\",\"chosen\":1,\"rejected\":\"c\"}\n".to_vec();
        let (status, body, _) = h
            .json(post("/api/v1/projects/pq/pairs/import?format=trl", broken))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("line 2"), "{body}");
        assert!(message.contains("chosen"), "{body}");
        assert_eq!(
            pairwise_store::pairs::count(db, pq.id)
                .await
                .expect("count"),
            2312,
            "the failed import added nothing"
        );

        let gold = b"{\"prompt\":\"2+2?\",\"chosen\":\"4\",\"rejected\":\"5\"}\n".to_vec();
        let (status, report, _) = h
            .json(post("/api/v1/projects/pq/gold/import?format=trl", gold))
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["inserted"], 1);
        let items = pairwise_store::annotation::calibration_data(db, pq.id)
            .await
            .expect("items")
            .items;
        assert_eq!(items.values().filter(|i| i.gold.is_some()).count(), 1);
        h.t.finish().await;
    }
}
