//! Prompt import end to end against real SQLite and PostgreSQL.

use pairwise_core::Actor;
use pairwise_core::{ImportFormat, Split};
use pairwise_pipeline::{import_prompts, ImportError, ImportOptions};
use pairwise_store::{projects, prompts, prompts::InsertDefaults, testing::TestDb};
use std::io::BufReader;

fn xstest() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/xstest/xstest_prompts.csv")
}

fn options(format: ImportFormat) -> ImportOptions {
    ImportOptions {
        format,
        defaults: InsertDefaults::default(),
        actor: Actor::cli(),
    }
}

#[tokio::test]
async fn xstest_csv_imports_all_450_prompts_and_a_second_import_only_counts_duplicates() {
    for t in TestDb::all().await {
        projects::create(&t.db, "xstest", "", None)
            .await
            .expect("project");
        let file = std::fs::File::open(xstest()).expect("shared/data/xstest/xstest_prompts.csv");
        let mut opts = options(ImportFormat::Csv);
        opts.defaults.split = Some(Split::Benign);
        let mut batches = 0;
        let report = import_prompts(&t.db, "xstest", BufReader::new(file), &opts, |_| {
            batches += 1
        })
        .await
        .expect("import");
        assert_eq!(
            (report.records, report.inserted, report.duplicates),
            (450, 450, 0),
            "{}",
            t.backend
        );
        assert!(batches >= 1);
        let page = prompts::page(&t.db, 1, &Default::default(), 1, 0)
            .await
            .expect("page");
        assert_eq!(page.items[0].split, Split::Benign);
        assert!(
            page.items[0].metadata.get("type").is_some(),
            "other CSV columns are kept as metadata"
        );

        let file = std::fs::File::open(xstest()).expect("file");
        let again = import_prompts(&t.db, "xstest", BufReader::new(file), &opts, |_| ())
            .await
            .expect("import");
        assert_eq!((again.inserted, again.duplicates), (0, 450));
        t.finish().await;
    }
}

#[tokio::test]
async fn a_bad_line_three_writes_nothing_and_names_the_line() {
    for t in TestDb::all().await {
        let project = projects::create(&t.db, "p", "", None)
            .await
            .expect("project");
        let good = "{\"prompt\":\"kept before\"}\n";
        import_prompts(
            &t.db,
            "p",
            good.as_bytes(),
            &options(ImportFormat::Jsonl),
            |_| (),
        )
        .await
        .expect("seed");

        // More than one batch of good lines after the bad one proves the rollback covers them all.
        let mut input = String::from("{\"prompt\":\"a\"}\n{\"prompt\":\"b\"}\n{\"prompt\": 42}\n");
        for i in 0..1200 {
            input.push_str(&format!("{{\"prompt\":\"p{i}\"}}\n"));
        }
        let err = import_prompts(
            &t.db,
            "p",
            std::io::Cursor::new(input.clone().into_bytes()),
            &options(ImportFormat::Jsonl),
            |_| (),
        )
        .await
        .expect_err("line 3 is bad");
        assert!(
            matches!(err, ImportError::Parse(ref e) if e.line == 3 && e.field.as_deref() == Some("prompt"))
        );
        assert!(err.to_string().contains("line 3"), "{err}");
        assert_eq!(
            prompts::count(&t.db, project.id).await.expect("count"),
            1,
            "{}",
            t.backend
        );

        let late = format!("{input}{{\"prompt\": }}\n").replacen(
            "{\"prompt\": 42}",
            "{\"prompt\":\"c\"}",
            1,
        );
        let err = import_prompts(
            &t.db,
            "p",
            std::io::Cursor::new(late.into_bytes()),
            &options(ImportFormat::Jsonl),
            |_| (),
        )
        .await
        .expect_err("last line is bad");
        assert!(err.to_string().starts_with("line 1204"), "{err}");
        assert_eq!(
            prompts::count(&t.db, project.id).await.expect("count"),
            1,
            "a failure after flushed batches still rolls back"
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn importing_into_a_missing_project_is_an_error() {
    let t = TestDb::sqlite().await;
    let err = import_prompts(
        &t.db,
        "nope",
        "".as_bytes(),
        &options(ImportFormat::Jsonl),
        |_| (),
    )
    .await
    .expect_err("missing");
    assert!(
        err.to_string().contains("project `nope` not found"),
        "{err}"
    );
    t.finish().await;
}

/// Raw UltraFeedback rows (rated completions) become pairs by the extreme or the margin strategy
/// over their mean aspect ratings, with the ratings as the pair's scores; a row whose ratings all
/// tie makes none, and an unrated completion names its line and field with nothing stored.
#[tokio::test]
async fn raw_ultrafeedback_rows_become_extreme_or_margin_pairs() {
    use pairwise_core::PairFormat;
    let completion = |model: &str, response: &str, ratings: [&str; 4]| {
        serde_json::json!({
            "model": model,
            "response": response,
            "annotations": {
                "helpfulness": {"Rating": ratings[0]},
                "honesty": {"Rating": ratings[1]},
                "instruction_following": {"Rating": ratings[2]},
                "truthfulness": {"Rating": ratings[3]},
            },
        })
    };
    let rows = [
        serde_json::json!({"source": "sharegpt", "instruction": "Say hi.", "completions": [
            completion("a", "Hi!", ["5", "5", "5", "5"]),
            completion("b", "Hello there.", ["4", "5", "4", "4"]),
            completion("c", "No.", ["1", "1", "1", "1"]),
        ]}),
        serde_json::json!({"source": "flan", "instruction": "2+2?", "completions": [
            completion("a", "4", ["5", "5", "5", "5"]),
            completion("b", "Four.", ["5", "5", "5", "5"]),
        ]}),
    ];
    let file: String = rows.iter().map(|r| format!("{r}\n")).collect();
    for t in TestDb::all().await {
        let db = &t.db;
        for (name, format, pairs) in [
            ("uf-extreme", PairFormat::UltrafeedbackRaw, 1),
            ("uf-margin", PairFormat::UltrafeedbackRawMargin, 1),
        ] {
            let p = projects::create(db, name, "", None).await.expect("project");
            let report = pairwise_pipeline::import_pairs(
                db,
                name,
                std::io::Cursor::new(file.clone().into_bytes()),
                format,
                "ultrafeedback.jsonl",
                &Actor::cli(),
                |_| {},
            )
            .await
            .expect("import");
            assert_eq!(report.inserted, pairs, "{name} {}", t.backend);
            let page = pairwise_store::pairs::page(db, p.id, &Default::default(), 10, 0)
                .await
                .expect("pairs");
            let pair = &page.items[0];
            if format == PairFormat::UltrafeedbackRaw {
                assert_eq!(
                    (pair.chosen.as_str(), pair.rejected.as_str()),
                    ("Hi!", "No.")
                );
                assert_eq!(pair.margin, Some(4.0));
            } else {
                assert_eq!(
                    (pair.chosen.as_str(), pair.rejected.as_str()),
                    ("Hi!", "Hello there.")
                );
                assert_eq!(pair.margin, Some(0.75));
            }
        }
        let bad = format!(
            "{}\n{}\n",
            rows[0],
            serde_json::json!({"instruction": "x", "completions": [{"response": "y"}]})
        );
        let err = pairwise_pipeline::import_pairs(
            db,
            "uf-extreme",
            std::io::Cursor::new(bad.into_bytes()),
            PairFormat::UltrafeedbackRaw,
            "bad.jsonl",
            &Actor::cli(),
            |_| {},
        )
        .await
        .expect_err("unrated");
        assert!(
            err.to_string()
                .starts_with("line 2: field `completions[0]`"),
            "{err}"
        );
        t.finish().await;
    }
}
