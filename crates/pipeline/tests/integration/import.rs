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
