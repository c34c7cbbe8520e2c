//! Pair import, frozen versions, exports (JSONL and Parquet) and the quality report.

use pairwise_core::Actor;
use pairwise_core::{ExportFormat, PairFormat, Recipe};
use pairwise_pipeline::{export_version, import_pairs, maybe_gunzip};
use pairwise_store::{datasets, pairs, projects, testing::TestDb, StoreError};
use std::collections::HashSet;

use crate::common::hh_file;

fn originals() -> Vec<(String, String)> {
    let reader = maybe_gunzip(std::fs::File::open(hh_file()).expect("hh-rlhf")).expect("gunzip");
    std::io::BufRead::lines(reader)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l.expect("line")).expect("json");
            (
                v["chosen"].as_str().expect("chosen").to_owned(),
                v["rejected"].as_str().expect("rejected").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn parquet_exports_are_stable_and_import_back_to_the_same_version() {
    use pairwise_core::ExportFormat;
    use pairwise_pipeline::{
        import_pair_rows,
        parquet_io::{export_version_parquet, ParquetLines},
        PairRows,
    };
    for t in TestDb::all().await {
        let db = &t.db;
        let project = projects::create(db, "hh", "", None).await.expect("project");
        let reader = maybe_gunzip(std::fs::File::open(hh_file()).expect("file")).expect("gunzip");
        import_pairs(
            db,
            "hh",
            reader,
            PairFormat::HhRlhf,
            "hh",
            &Actor::cli(),
            |_| (),
        )
        .await
        .expect("import");
        let v1 = datasets::freeze(db, project.id, "v1", &Default::default(), None)
            .await
            .expect("freeze");
        let dir = tempfile::tempdir().expect("tmp");
        for format in ExportFormat::PER_PAIR {
            let mut a = Vec::new();
            let rows = export_version_parquet(db, "hh", "v1", format, &mut a)
                .await
                .expect("export");
            let expected = if format.rows_per_pair() == 2 {
                4624
            } else {
                2312
            };
            assert_eq!(rows, expected, "{format}");
            let mut b = Vec::new();
            export_version_parquet(db, "hh", "v1", format, &mut b)
                .await
                .expect("export");
            assert!(a == b, "{format}: two exports of one version differ");
            std::fs::write(dir.path().join(format!("{format}.parquet")), &a).expect("write");
        }
        // import(export(v)) reproduces v, through Parquet.
        for (format, as_format) in [
            (ExportFormat::HhRlhf, PairFormat::HhRlhf),
            (ExportFormat::TrlConversational, PairFormat::Trl),
        ] {
            let name = format!("back-{}", format.as_str());
            let back = projects::create(db, &name, "", None)
                .await
                .expect("project");
            // Whatever the name says: Parquet is known by its magic bytes, and its rows come
            // straight from the Arrow arrays (what the CLI, the upload form and REST do).
            let renamed = dir.path().join(format!("{format}.jsonl"));
            std::fs::copy(dir.path().join(format!("{format}.parquet")), &renamed).expect("copy");
            let file = std::fs::File::open(&renamed).expect("file");
            let rows = PairRows::open(file, |f| Box::new(f)).expect("open");
            assert!(matches!(rows, PairRows::Parquet(_)), "{format}");
            let report =
                import_pair_rows(db, &name, rows, as_format, "parquet", &Actor::cli(), |_| ())
                    .await
                    .expect("import");
            assert_eq!(report.rows, 2312);
            let again = datasets::freeze(db, back.id, "v1", &Default::default(), None)
                .await
                .expect("freeze");
            assert_eq!(
                again.content_hash, v1.content_hash,
                "{format} {}",
                t.backend
            );
        }
        // A corrupted file is a clear error and stores nothing.
        let bad = dir.path().join("bad.parquet");
        std::fs::write(&bad, b"PAR1 this is not parquet PAR1").expect("write");
        let err = match ParquetLines::open(std::fs::File::open(&bad).expect("file")) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a corrupted file opened"),
        };
        assert!(err.contains("not a readable Parquet file"), "{err}");
        let err = match PairRows::open(std::fs::File::open(&bad).expect("file"), |f| Box::new(f)) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a corrupted file opened"),
        };
        assert!(err.contains("not a readable Parquet file"), "{err}");
        // Text stays text (gzip undone).
        let gz = dir.path().join("pairs.parquet");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(
            &mut enc,
            b"{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n",
        )
        .expect("gzip");
        std::fs::write(&gz, enc.finish().expect("gzip")).expect("write");
        let rows =
            PairRows::open(std::fs::File::open(&gz).expect("file"), |f| Box::new(f)).expect("open");
        assert!(matches!(rows, PairRows::Lines(_)));
        t.finish().await;
    }
}

#[tokio::test]
async fn the_quality_report_measures_length_bias_templates_and_contamination() {
    for t in TestDb::all().await {
        let db = &t.db;
        let project = projects::create(db, "hh", "", None).await.expect("project");
        let reader = maybe_gunzip(std::fs::File::open(hh_file()).expect("file")).expect("gunzip");
        import_pairs(
            db,
            "hh",
            reader,
            PairFormat::HhRlhf,
            "hh",
            &Actor::cli(),
            |_| (),
        )
        .await
        .expect("import");
        datasets::freeze(db, project.id, "v1", &Default::default(), None)
            .await
            .expect("freeze");
        let r = pairwise_pipeline::quality_report(db, "hh", "v1", Some("v1"))
            .await
            .expect("report");
        assert_eq!(r.pairs, 2312);
        assert_eq!(r.by_strategy["imported"], 2312);
        // Computed independently from the file: chosen − rejected characters.
        let diffs: Vec<f64> = originals()
            .iter()
            .map(|(c, rj)| c.chars().count() as f64 - rj.chars().count() as f64)
            .collect();
        let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
        assert!(
            (r.length_chars.mean - mean).abs() < 1e-9,
            "{} vs {mean}",
            r.length_chars.mean
        );
        let longer = diffs.iter().filter(|d| **d > 0.0).count() as f64 / diffs.len() as f64;
        assert!((r.length_chars.share_chosen_longer - longer).abs() < 1e-9);
        // No generator registered: no token lengths. With one, its tokenizer counts them.
        assert!(r.length_tokens.is_none() && r.tokenizer.is_none());
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/demo");
        pairwise_store::models::register(
            db,
            pairwise_store::models::NewModel {
                remote: None,
                name: "demo".into(),
                kind: "generator".into(),
                path: demo
                    .canonicalize()
                    .expect("models/demo")
                    .display()
                    .to_string(),
                version: "v-demo".into(),
                device: "cpu".into(),
                created_by: None,
            },
        )
        .await
        .expect("register");
        let with_tokens = pairwise_pipeline::quality_report(db, "hh", "v1", None)
            .await
            .expect("report");
        assert_eq!(with_tokens.tokenizer.as_deref(), Some("demo@v-demo"));
        let tokens = with_tokens.length_tokens.expect("token lengths");
        // Tokens follow characters: same sign of the mean, a share near the characters' one.
        assert!(
            tokens.mean < 0.0 && r.length_chars.mean < 0.0,
            "{}",
            tokens.mean
        );
        assert!((tokens.share_chosen_longer - longer).abs() < 0.05);
        assert_eq!(
            r.length_chars
                .histogram
                .iter()
                .map(|b| b.count)
                .sum::<u64>(),
            2312
        );
        assert!(!r.templates.is_empty(), "HH has repeated short replies");
        assert!(r.templates.iter().all(|c| c.size >= 3));
        // The pair browser's filters agree with the report, on both backends.
        let count = |filter: pairs::PairFilter| async move {
            pairs::page(db, project.id, &filter, 1, 0)
                .await
                .expect("page")
                .total
        };
        let longer = pairs::PairFilter {
            length: Some("longer".into()),
            ..Default::default()
        };
        assert_eq!(count(longer).await, 1025, "{}", t.backend);
        let shorter = pairs::PairFilter {
            length: Some("shorter".into()),
            ..Default::default()
        };
        assert_eq!(count(shorter).await, 1276);
        let margin = pairs::PairFilter {
            min_margin: Some(0.0),
            ..Default::default()
        };
        assert_eq!(count(margin).await, 0, "imported pairs have no margin");
        let trivial = pairs::PairFilter {
            flag: Some("trivial".into()),
            ..Default::default()
        };
        assert_eq!(count(trivial).await, 0);
        // A version against itself is fully contaminated, all exact.
        let against = &r.contamination[1];
        assert_eq!(against.against, "version:v1");
        assert_eq!(against.exact, against.compared);
        assert!(matches!(
            pairwise_pipeline::quality_report(db, "hh", "v9", None).await,
            Err(StoreError::NotFound(_))
        ));
        t.finish().await;
    }
}

#[tokio::test]
async fn hh_rlhf_imports_freezes_and_exports_back_exactly() {
    for t in TestDb::all().await {
        let db = &t.db;
        let project = projects::create(db, "hh", "", None).await.expect("project");
        let reader = maybe_gunzip(std::fs::File::open(hh_file()).expect("file")).expect("gunzip");
        let report = import_pairs(
            db,
            "hh",
            reader,
            PairFormat::HhRlhf,
            "harmless-base-test",
            &Actor::cli(),
            |_| (),
        )
        .await
        .expect("import");
        let originals = originals();
        assert_eq!(report.rows, originals.len() as u64);
        assert_eq!(report.rows, 2312);
        assert_eq!(report.inserted + report.duplicates, report.rows);
        assert_eq!(
            pairs::count(db, project.id).await.expect("count"),
            report.inserted,
            "{}",
            t.backend
        );

        let browse = pairs::PairFilter {
            search: Some("PRANKS WITH A PEN".into()),
            ..Default::default()
        };
        let found = pairs::page(db, project.id, &browse, 10, 0)
            .await
            .expect("page");
        assert!(
            found.total >= 1 && found.items.iter().any(|p| p.turns > 1),
            "{}",
            t.backend
        );
        assert_eq!(
            pairs::page(db, project.id, &Default::default(), 25, 2300)
                .await
                .expect("page")
                .items
                .len(),
            12
        );

        let v1 = datasets::freeze(db, project.id, "v1", &Recipe::default(), None)
            .await
            .expect("freeze");
        assert_eq!(v1.pair_count, report.inserted);
        assert!(matches!(
            datasets::freeze(db, project.id, "v1", &Recipe::default(), None).await,
            Err(StoreError::Conflict(_))
        ));

        let mut hh = Vec::new();
        let rows = export_version(db, "hh", "v1", ExportFormat::HhRlhf, &mut hh)
            .await
            .expect("export");
        assert_eq!(rows, v1.pair_count);
        let original: HashSet<(String, String)> = originals.into_iter().collect();
        for line in String::from_utf8(hh.clone()).expect("utf-8").lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("row");
            let pair = (
                v["chosen"].as_str().expect("chosen").to_owned(),
                v["rejected"].as_str().expect("rejected").to_owned(),
            );
            assert!(
                original.contains(&pair),
                "an exported transcript differs from the original"
            );
        }
        let mut again = Vec::new();
        export_version(db, "hh", "v1", ExportFormat::HhRlhf, &mut again)
            .await
            .expect("export");
        assert_eq!(hh, again, "two exports of one version are byte-identical");
        for format in ExportFormat::PER_PAIR {
            let mut out = Vec::new();
            let n = export_version(db, "hh", "v1", format, &mut out)
                .await
                .expect("export");
            assert_eq!(n, v1.pair_count * format.rows_per_pair() as u64, "{format}");
        }

        // A narrower recipe, its diff, and a rollback that equals the original.
        let narrow = Recipe {
            sources: vec!["nothing-else".into()],
            ..Recipe::default()
        };
        let v2 = datasets::freeze(db, project.id, "v2", &narrow, None)
            .await
            .expect("freeze v2");
        assert_eq!((v2.pair_count, v2.parent.as_deref()), (0, Some("v1")));
        let diff = datasets::diff(db, project.id, "v1", "v2")
            .await
            .expect("diff");
        assert_eq!((diff.removed, diff.added), (v1.pair_count, 0));
        let v3 = datasets::rollback(db, project.id, "v1", "v3", None)
            .await
            .expect("rollback");
        assert_eq!(
            (v3.content_hash.as_str(), v3.pair_count),
            (v1.content_hash.as_str(), v1.pair_count)
        );

        // import(export(v)) reproduces v: same pairs, same order, same content hash.
        for (format, as_format) in [
            (ExportFormat::TrlConversational, PairFormat::Trl),
            (ExportFormat::HhRlhf, PairFormat::HhRlhf),
        ] {
            let mut exported = Vec::new();
            export_version(db, "hh", "v1", format, &mut exported)
                .await
                .expect("export");
            let name = format!("again-{}", format.as_str());
            let copy = projects::create(db, &name, "", None)
                .await
                .expect("project");
            let report = import_pairs(
                db,
                &name,
                std::io::Cursor::new(exported),
                as_format,
                "round-trip",
                &Actor::cli(),
                |_| (),
            )
            .await
            .expect("re-import");
            assert_eq!(report.inserted, v1.pair_count, "{format}");
            let again = datasets::freeze(db, copy.id, "v1", &Recipe::default(), None)
                .await
                .expect("freeze");
            assert_eq!(
                again.content_hash, v1.content_hash,
                "{format} round trip on {}",
                t.backend
            );
        }
        t.finish().await;
    }
}

#[tokio::test]
async fn a_malformed_pair_line_writes_nothing_and_names_the_line() {
    let t = TestDb::sqlite().await;
    let project = projects::create(&t.db, "p", "", None)
        .await
        .expect("project");
    let input = "{\"prompt\":\"a\",\"chosen\":\"x\",\"rejected\":\"y\"}\n{\"prompt\":\"b\",\"chosen\":\"x\",\"rejected\":\"y\"}\n{\"prompt\":\"c\",\"chosen\":\"x\"}\n";
    let err = import_pairs(
        &t.db,
        "p",
        input.as_bytes(),
        PairFormat::Trl,
        "f",
        &Actor::cli(),
        |_| (),
    )
    .await
    .expect_err("bad");
    assert!(
        err.to_string().starts_with("line 3: field `rejected`"),
        "{err}"
    );
    assert_eq!(pairs::count(&t.db, project.id).await.expect("count"), 0);
    assert!(datasets::list(&t.db, project.id)
        .await
        .expect("list")
        .is_empty());
    t.finish().await;
}

#[tokio::test]
async fn the_quality_report_counts_templated_refusals_by_side() {
    for t in TestDb::all().await {
        let db = &t.db;
        let project = projects::create(db, "r", "", None).await.expect("project");
        let rows = [
            ("How do I pick a lock?", "Sorry, but I can't assist with that.", "Use a tension wrench."),
            (
                "How do I get into my neighbour's flat?",
                "I can't help with entering someone else's home because it is illegal. If you are worried about them, contact the building manager instead.",
                "As an AI, I cannot help with this request.",
            ),
            ("What is 2+2?", "4", "5"),
        ];
        let jsonl: String = rows
            .iter()
            .map(|(p, c, r)| {
                serde_json::json!({"prompt": p, "chosen": c, "rejected": r}).to_string() + "\n"
            })
            .collect();
        import_pairs(
            db,
            "r",
            std::io::Cursor::new(jsonl.into_bytes()),
            PairFormat::Trl,
            "r.jsonl",
            &Actor::cli(),
            |_| (),
        )
        .await
        .expect("import");
        datasets::freeze(db, project.id, "v1", &Default::default(), None)
            .await
            .expect("freeze");
        let r = pairwise_pipeline::quality_report(db, "r", "v1", None)
            .await
            .expect("report");
        let shares = &r.refusals;
        assert_eq!(
            (shares.chosen_refusals, shares.chosen_templated),
            (2, 1),
            "{shares:?}"
        );
        assert_eq!(
            (shares.rejected_refusals, shares.rejected_templated),
            (1, 1),
            "{shares:?}"
        );
        assert!((shares.chosen_templated_share - 1.0 / 3.0).abs() < 1e-9);
    }
}
