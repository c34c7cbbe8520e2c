//! Prompt import end to end against real SQLite and PostgreSQL.

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
        actor: None,
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
            input.as_bytes(),
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
            late.as_bytes(),
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

mod datasets {
    use pairwise_core::{ExportFormat, PairFormat, Recipe};
    use pairwise_pipeline::{export_version, import_pairs, maybe_gunzip};
    use pairwise_store::{datasets, pairs, projects, testing::TestDb, StoreError};
    use std::collections::HashSet;

    fn hh_file() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/hh-rlhf/harmless-base-test.jsonl.gz")
    }

    fn originals() -> Vec<(String, String)> {
        let reader =
            maybe_gunzip(std::fs::File::open(hh_file()).expect("hh-rlhf")).expect("gunzip");
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
        use pairwise_pipeline::parquet_io::{export_version_parquet, ParquetLines};
        for t in TestDb::all().await {
            let db = &t.db;
            let project = projects::create(db, "hh", "", None).await.expect("project");
            let reader =
                maybe_gunzip(std::fs::File::open(hh_file()).expect("file")).expect("gunzip");
            import_pairs(db, "hh", reader, PairFormat::HhRlhf, "hh", None, |_| ())
                .await
                .expect("import");
            let v1 = datasets::freeze(db, project.id, "v1", &Default::default(), None)
                .await
                .expect("freeze");
            let dir = tempfile::tempdir().expect("tmp");
            for format in ExportFormat::ALL {
                let mut a = Vec::new();
                let rows = export_version_parquet(db, "hh", "v1", format, &mut a)
                    .await
                    .expect("export");
                let expected = if format == ExportFormat::Kto {
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
                let file = std::fs::File::open(dir.path().join(format!("{format}.parquet")))
                    .expect("file");
                let lines = std::io::BufReader::new(ParquetLines::open(file).expect("parquet"));
                let report = import_pairs(db, &name, lines, as_format, "parquet", None, |_| ())
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
            t.finish().await;
        }
    }

    #[tokio::test]
    async fn the_quality_report_measures_length_bias_templates_and_contamination() {
        for t in TestDb::all().await {
            let db = &t.db;
            let project = projects::create(db, "hh", "", None).await.expect("project");
            let reader =
                maybe_gunzip(std::fs::File::open(hh_file()).expect("file")).expect("gunzip");
            import_pairs(db, "hh", reader, PairFormat::HhRlhf, "hh", None, |_| ())
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
            let reader =
                maybe_gunzip(std::fs::File::open(hh_file()).expect("file")).expect("gunzip");
            let report = import_pairs(
                db,
                "hh",
                reader,
                PairFormat::HhRlhf,
                "harmless-base-test",
                None,
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
            for format in ExportFormat::ALL {
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
                    None,
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
            None,
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
}

mod runs {
    use pairwise_core::{judge::JudgeMode, PromptRecord};
    use pairwise_pipeline::{
        create_generation, create_judge, GenerateRequest, JudgeRequest, Outcome, Worker,
        WorkerOptions,
    };
    use pairwise_store::{
        candidates, jobs, judgments, projects, prompts, testing::TestDb, DatabaseConnection,
    };
    use std::time::Duration;

    fn tiny() -> String {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../models/tiny")
            .display()
            .to_string()
    }

    async fn project_with_prompts(db: &DatabaseConnection, texts: &[&str]) {
        let p = projects::create(db, "gen", "", None)
            .await
            .expect("project");
        let records: Vec<PromptRecord> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| PromptRecord {
                line: i as u64 + 1,
                external_id: None,
                text: (*t).to_owned(),
                messages: None,
                source: None,
                domain: None,
                split: None,
                metadata: Default::default(),
                hash: pairwise_core::stable_hash(t),
            })
            .collect();
        prompts::insert_batch(db, p.id, &records, &Default::default())
            .await
            .expect("prompts");
    }

    fn worker(db: &DatabaseConnection, id: &str) -> Worker {
        Worker::new(
            db.clone(),
            WorkerOptions {
                id: id.into(),
                lease: Duration::from_secs(30),
                poll: Duration::from_millis(10),
                threads: 1,
            },
        )
    }

    #[tokio::test]
    async fn generation_stores_every_candidate_with_provenance_and_a_taken_over_run_finishes() {
        for t in TestDb::all().await {
            project_with_prompts(&t.db, &["What is 2+2?", "Name a color.", "Say hi."]).await;
            let mut request = GenerateRequest::new("gen", tiny());
            request.n = 5;
            request.max_new_tokens = 6;
            request.seed = 42;
            let run = create_generation(&t.db, request.clone(), None)
                .await
                .expect("run");
            assert_eq!((run.status.as_str(), run.total), ("queued", 3));

            // A worker claims the run and dies at once; its lease lapses; another takes over.
            jobs::claim(
                &t.db,
                "dead",
                chrono::Duration::milliseconds(1),
                &["generate"],
            )
            .await
            .expect("claim")
            .expect("claimed");
            tokio::time::sleep(Duration::from_millis(20)).await;
            let (id, outcome) = worker(&t.db, "w1")
                .run_one()
                .await
                .expect("run")
                .expect("a job");
            assert_eq!(id, run.id);
            assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
            let view = jobs::show(&t.db, id).await.expect("show");
            assert_eq!(
                (view.status.as_str(), view.done, view.attempts),
                ("done", 3, 2)
            );
            assert_eq!(view.summary["candidates"], 15);

            let stored = candidates::for_runs(&t.db, 1, &[id]).await.expect("list");
            assert_eq!(stored.len(), 15, "{}", t.backend);
            let paths = |p: &str| stored.iter().filter(|c| c.path == p).count();
            assert_eq!(
                (
                    paths("conservative"),
                    paths("diverse"),
                    paths("adversarial")
                ),
                (6, 6, 3)
            );
            for c in &stored {
                assert_eq!(c.transform.is_some(), c.path == "adversarial");
                let params: serde_json::Value = serde_json::from_str(&c.params).expect("params");
                assert_eq!(params["seed"].to_string(), c.seed);
                assert_eq!(params["max_new_tokens"], 6);
                assert_eq!(c.provider, "cpu");
                assert!(["eos", "length", "stop"].contains(&c.finish_reason.as_str()));
                assert!(c.token_count >= 1 && c.token_count <= 6);
                assert_eq!(c.model_version.len(), 64);
            }
            let conservative = stored.iter().find(|c| c.path == "conservative").expect("c");
            assert!(conservative.params.contains("\"temperature\":0.5"));

            // Same request, same seed → the same texts (seeded per prompt × index).
            let again = create_generation(&t.db, request, None).await.expect("run");
            worker(&t.db, "w2")
                .run_one()
                .await
                .expect("run")
                .expect("job");
            let second = candidates::for_runs(&t.db, 1, &[again.id])
                .await
                .expect("list");
            let texts = |v: &[pairwise_store::entities::candidate::Model]| {
                v.iter()
                    .map(|c| (c.prompt_id, c.idx, c.text.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(texts(&stored), texts(&second));
            t.finish().await;
        }
    }

    #[tokio::test]
    async fn judge_runs_in_every_mode_record_rates_and_never_crash_on_bad_output() {
        for t in TestDb::all().await {
            project_with_prompts(&t.db, &["What is 2+2?", "Name a color."]).await;
            let mut request = GenerateRequest::new("gen", tiny());
            request.n = 3;
            request.max_new_tokens = 5;
            let generation = create_generation(&t.db, request, None).await.expect("run");
            let mut w = worker(&t.db, "w");
            w.run_one().await.expect("generate").expect("job");

            let (total, first_page) = candidates::prompts_with_candidates(&t.db, 1, 0, 1)
                .await
                .expect("browser pages");
            assert_eq!((total, first_page.len()), (2, 1), "{}", t.backend);
            // JSON judge: the random tiny model writes no JSON; every item is a recorded parse
            // failure with its raw output, and the run still ends done.
            let mut judge = JudgeRequest::new("gen", tiny(), "default", JudgeMode::Json);
            judge.max_new_tokens = 8;
            let json = create_judge(&t.db, judge, None).await.expect("judge");
            assert!(
                json.warnings[0].contains("self-consistency"),
                "{:?}",
                json.warnings
            );
            let (_, outcome) = w.run_one().await.expect("judge").expect("job");
            assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
            let stats = judgments::stats(&t.db, json.id).await.expect("stats");
            assert_eq!(stats.judgments, 6);
            use pairwise_store::entities::judgment;
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            let rows = judgment::Entity::find()
                .filter(judgment::Column::JobId.eq(json.id))
                .all(&t.db)
                .await
                .expect("judgments");
            for j in &rows {
                assert!(!j.raw_output.is_empty(), "raw output kept");
                if j.parse_ok {
                    assert!(j.scores.is_some() && j.overall.is_some());
                } else {
                    assert_eq!(j.attempts, 2, "one stricter retry after a failure");
                    assert!(j.scores.is_none());
                }
            }
            assert_eq!(
                stats.parse_failures,
                rows.iter().filter(|j| !j.parse_ok).count() as u64
            );
            assert_eq!(
                jobs::show(&t.db, json.id).await.expect("show").summary["parse_failure_rate"],
                serde_json::json!(stats.parse_failure_rate)
            );

            // Probability-weighted judge: always parses, scores within 0–1.
            let prob = create_judge(
                &t.db,
                JudgeRequest::new("gen", tiny(), "default@1", JudgeMode::Prob),
                None,
            )
            .await
            .expect("judge");
            w.run_one().await.expect("judge").expect("job");
            let stats = judgments::stats(&t.db, prob.id).await.expect("stats");
            assert_eq!((stats.judgments, stats.parse_failures), (6, 0));
            let page = candidates::for_prompt(&t.db, 1, 1).await.expect("browser");
            assert_eq!(page.candidates.len(), 3);
            for c in &page.candidates {
                let prob_scores = c.scores.iter().find(|s| s.mode == "prob").expect("prob");
                assert_eq!(prob_scores.rubric_version, 1);
                for d in ["helpful", "honest", "harmless"] {
                    let v = prob_scores.scores[d].as_f64().expect("score");
                    assert!((0.0..=1.0).contains(&v), "{d} = {v}");
                }
            }

            // Pairwise: neighbours within each prompt, both orders, inconsistency recorded and
            // inconsistent pairs marked for review.
            let pairwise = create_judge(
                &t.db,
                JudgeRequest::new("gen", tiny(), "default", JudgeMode::Pairwise),
                None,
            )
            .await
            .expect("judge");
            w.run_one().await.expect("judge").expect("job");
            let view = jobs::show(&t.db, pairwise.id).await.expect("show");
            assert_eq!(
                (view.status.as_str(), view.total, view.done),
                ("done", 4, 4)
            );
            let rate = view.summary["inconsistency_rate"].as_f64().expect("rate");
            assert!((0.0..=1.0).contains(&rate));
            let page = candidates::for_prompt(&t.db, 1, 1).await.expect("browser");
            assert_eq!(page.pairwise.len(), 2);
            for p in &page.pairwise {
                assert!(["first", "second", "tie"].contains(&p.winner_ab.as_str()));
                assert_eq!(p.needs_review, !p.consistent);
                assert_eq!(p.consistent, p.winner_ab == p.winner_ba);
            }
            assert_eq!(generation.kind, "generate");
            t.finish().await;
        }
    }

    #[tokio::test]
    async fn judged_candidates_become_pairs_with_provenance_and_hard_negative_flags() {
        use pairwise_core::strategy::Strategy;
        use pairwise_pipeline::{build_pairs, create_reference, BuildRequest};
        for t in TestDb::all().await {
            project_with_prompts(&t.db, &["What is 2+2?", "Name a color.", "Say hi."]).await;
            let mut request = GenerateRequest::new("gen", tiny());
            request.n = 4;
            request.max_new_tokens = 6;
            let generation = create_generation(&t.db, request, None).await.expect("run");
            let mut w = worker(&t.db, "w");
            w.run_one().await.expect("generate").expect("job");
            let judge = create_judge(
                &t.db,
                JudgeRequest::new("gen", tiny(), "default", JudgeMode::Prob),
                None,
            )
            .await
            .expect("judge");
            // Pairs need a finished run.
            let err = build_pairs(
                &t.db,
                &BuildRequest::new("gen", judge.id, Strategy::Extreme),
                None,
            )
            .await
            .expect_err("queued")
            .to_string();
            assert!(err.contains("finished run"), "{err}");
            w.run_one().await.expect("judge").expect("job");
            let reference = create_reference(&t.db, "gen", &tiny(), vec![], None)
                .await
                .expect("reference");
            w.run_one().await.expect("reference").expect("job");
            let view = jobs::show(&t.db, reference.id).await.expect("show");
            assert_eq!(
                (view.status.as_str(), view.summary["scored"].as_u64()),
                ("done", Some(12))
            );
            let scored = candidates::for_runs(&t.db, 1, &[generation.id])
                .await
                .expect("list");
            assert!(scored
                .iter()
                .all(|c| c.ref_logprob.is_some_and(|l| l <= 0.0)));

            let mut extreme = BuildRequest::new("gen", judge.id, Strategy::Extreme);
            extreme.trivial_gap = 0.0;
            let report = build_pairs(&t.db, &extreme, None).await.expect("extreme");
            assert_eq!(report.prompts, 3);
            assert_eq!(
                report.chosen, 3,
                "one extreme pair per prompt (no ties among 4)"
            );
            assert_eq!(report.inserted + report.duplicates, 3);
            assert_eq!(report.unscored_reference, 0);
            let flagged = pairwise_store::pairs::page(
                &t.db,
                1,
                &pairwise_store::pairs::PairFilter {
                    flag: Some("trivial".into()),
                    ..Default::default()
                },
                50,
                0,
            )
            .await
            .expect("page");
            assert_eq!(
                flagged.total, report.trivial_negatives,
                "browser flag = build report"
            );
            // Building again adds nothing: pairs are deduplicated by their stable hash.
            let again = build_pairs(&t.db, &extreme, None).await.expect("again");
            assert_eq!((again.inserted, again.duplicates), (0, report.inserted));

            let page = pairwise_store::pairs::page(&t.db, 1, &Default::default(), 50, 0)
                .await
                .expect("pairs");
            for p in &page.items {
                assert_eq!(p.strategy, "extreme");
                assert_ne!(p.chosen, p.rejected);
                assert!(p.margin.is_some_and(|m| m > 0.0));
            }
            use pairwise_store::entities::pair;
            use sea_orm::EntityTrait;
            let stored = pair::Entity::find().all(&t.db).await.expect("rows");
            let provenance: serde_json::Value =
                serde_json::from_str(&stored[0].provenance).expect("json");
            assert_eq!(provenance["rubric"], "default@1");
            assert_eq!(provenance["judge_mode"], "prob");
            assert!(provenance["chosen"]["seed"].is_string());
            assert!(provenance["rejected"]["params"]["temperature"].is_number());
            assert!(provenance["hard_negative"]["gap"].is_number());
            assert!(provenance["trivial_negative"].is_boolean());

            // Margin pairs: neighbours closer than the threshold only; the filters apply.
            let mut margin = BuildRequest::new("gen", judge.id, Strategy::Margin);
            margin.threshold = 1.0;
            margin.max_margin = Some(0.0);
            let filtered = build_pairs(&t.db, &margin, None).await.expect("margin");
            assert_eq!(filtered.inserted, 0);
            assert_eq!(filtered.filtered, filtered.chosen);
            assert!(
                filtered.chosen >= 3,
                "neighbours of 4 candidates in 3 prompts"
            );

            let err = build_pairs(
                &t.db,
                &BuildRequest::new("gen", judge.id, Strategy::Pairwise),
                None,
            )
            .await
            .expect_err("mode")
            .to_string();
            assert!(err.contains("does not fit"), "{err}");
            t.finish().await;
        }
    }

    #[tokio::test]
    async fn a_reward_model_scores_every_candidate_and_its_scores_make_pairs() {
        use pairwise_core::strategy::Strategy;
        use pairwise_pipeline::{build_pairs, BuildRequest};
        let reward = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../models/tiny-reward")
            .display()
            .to_string();
        for t in TestDb::all().await {
            project_with_prompts(&t.db, &["What is 2+2?", "Name a color."]).await;
            let mut request = GenerateRequest::new("gen", tiny());
            request.n = 3;
            request.max_new_tokens = 5;
            create_generation(&t.db, request, None).await.expect("run");
            let mut w = worker(&t.db, "w");
            w.run_one().await.expect("generate").expect("job");
            let run = create_judge(
                &t.db,
                JudgeRequest::new("gen", reward.clone(), "default", JudgeMode::Reward),
                None,
            )
            .await
            .expect("judge");
            assert!(
                run.warnings.is_empty(),
                "a separate reward model: {:?}",
                run.warnings
            );
            let (_, outcome) = w.run_one().await.expect("judge").expect("job");
            assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
            let stats = judgments::stats(&t.db, run.id).await.expect("stats");
            assert_eq!((stats.judgments, stats.parse_failures), (6, 0));
            let page = candidates::for_prompt(&t.db, 1, 1).await.expect("browser");
            for c in &page.candidates {
                let s = c
                    .scores
                    .iter()
                    .find(|s| s.mode == "reward")
                    .expect("reward");
                assert!(s.scores["reward"].as_f64().expect("logit").is_finite());
                assert_eq!(s.overall, s.scores["reward"].as_f64());
            }
            let report = build_pairs(
                &t.db,
                &BuildRequest::new("gen", run.id, Strategy::Extreme),
                None,
            )
            .await
            .expect("pairs");
            assert_eq!(report.chosen, 2);
            // A decoder given as a reward model fails the run with a message naming the problem.
            let wrong = create_judge(
                &t.db,
                JudgeRequest::new("gen", tiny(), "default", JudgeMode::Reward),
                None,
            )
            .await
            .expect("queued");
            match w.run_one().await.expect("judge").expect("job").1 {
                Outcome::Failed(e) => assert!(e.contains("not a sequence classifier"), "{e}"),
                other => panic!("{other:?}"),
            }
            assert_eq!(
                jobs::get(&t.db, wrong.id).await.expect("job").status,
                "failed"
            );
            t.finish().await;
        }
    }

    #[tokio::test]
    async fn bad_run_requests_name_the_field() {
        for t in TestDb::all().await {
            project_with_prompts(&t.db, &["hi"]).await;
            let mut request = GenerateRequest::new("gen", tiny());
            request.presets.insert(
                pairwise_core::generation::GenerationPath::Diverse,
                pairwise_core::generation::PathPreset {
                    temperature: 1.5,
                    top_p: 0.9,
                    top_k: 0,
                    repetition_penalty: 1.0,
                },
            );
            let err = create_generation(&t.db, request.clone(), None)
                .await
                .expect_err("hot")
                .to_string();
            assert!(err.contains("diverse.temperature"), "{err}");
            request.confirm_high_temperature = true;
            create_generation(&t.db, request.clone(), None)
                .await
                .expect("confirmed");
            request.model = "/nonexistent/model".into();
            let err = create_generation(&t.db, request, None)
                .await
                .expect_err("model")
                .to_string();
            assert!(err.contains("`model`"), "{err}");
            let err = create_judge(
                &t.db,
                JudgeRequest::new("gen", tiny(), "nope@3", JudgeMode::Json),
                None,
            )
            .await
            .expect_err("rubric")
            .to_string();
            assert!(err.contains("rubric `nope` version 3"), "{err}");
            t.finish().await;
        }
    }
}

/// Three annotators vote (two follow the pairs' preference, one contradicts it), some items are
/// gold: calibration reports gold accuracy and κ, the gate quarantines the contrarian, human
/// pairs leave their votes out, and a version frozen with the κ gate drops human pairs that
/// rested on them.
#[tokio::test]
async fn calibration_gate_and_human_pairs() {
    use pairwise_core::{annotation::AnnotationSettings, Recipe, Role};
    use pairwise_store::{annotation, datasets, users};
    for t in TestDb::all().await {
        let db = &t.db;
        let p = projects::create(db, "cal", "", None)
            .await
            .expect("project");
        let rows: String = (0..16)
            .map(|i| {
                serde_json::json!({"prompt": format!("q{i}"), "chosen": format!("good {i}"), "rejected": format!("bad {i}")})
                    .to_string()
                    + "\n"
            })
            .collect();
        pairwise_pipeline::import_pairs(
            db,
            "cal",
            std::io::Cursor::new(rows.into_bytes()),
            pairwise_core::PairFormat::Trl,
            "cal.jsonl",
            None,
            |_| {},
        )
        .await
        .expect("import");
        annotation::fill_from_pairs(db, p.id, u64::MAX, false, Some(3))
            .await
            .expect("fill");
        assert_eq!(
            annotation::gold_from_pairs(db, p.id, 6)
                .await
                .expect("gold"),
            6
        );
        let s = AnnotationSettings {
            overlap: 3,
            repeat_rate: 0.0,
            gold_rate: 0.5,
            max_pending: 1,
            ..Default::default()
        };
        annotation::set_settings(db, p.id, &s)
            .await
            .expect("settings");
        let items: std::collections::HashMap<i64, (String, String)> =
            pairwise_store::entities::comparison::Entity::find()
                .all(db)
                .await
                .expect("items")
                .into_iter()
                .map(|c| (c.id, (c.answer_x, c.answer_y)))
                .collect();
        for (name, honest) in [("ann", true), ("bea", true), ("cid", false)] {
            let u = users::create(db, name, Role::Annotator, "a long enough password")
                .await
                .expect("user");
            loop {
                let next = annotation::next(db, p.id, u.id, 1).await.expect("next");
                let Some((a, c)) = next.first() else { break };
                // Prefer the "good" answer (or its opposite), whichever side it is on.
                let (x, _) = &items[&c.id];
                let good_is_x = x.starts_with("good");
                let good_left = (a.left_side == "x") == good_is_x;
                let choice = if good_left == honest { "a" } else { "b" };
                annotation::vote(
                    db,
                    u.id,
                    a.id,
                    &annotation::NewVote {
                        choice: choice.into(),
                        duration_ms: 2000,
                        ..Default::default()
                    },
                )
                .await
                .expect("vote");
            }
        }
        let report = pairwise_pipeline::calibration::report(db, "cal")
            .await
            .expect("report");
        let by_name = |n: &str| {
            report
                .annotators
                .iter()
                .find(|a| a.annotator == n)
                .expect(n)
                .clone()
        };
        assert_eq!(by_name("ann").gold_n, 6, "{}", t.backend);
        assert_eq!(by_name("ann").gold_accuracy, Some(1.0));
        assert_eq!(by_name("cid").gold_accuracy, Some(0.0));
        let ab = report
            .agreement
            .cohen
            .iter()
            .find(|p| p.a == "ann" && p.b == "bea")
            .expect("pair");
        assert_eq!((ab.kappa, ab.n), (Some(1.0), 16));
        // The imports' preference agrees with the honest majority on every decided item.
        let import = &report.references[0];
        assert_eq!(import.reference, "import cal.jsonl");
        assert_eq!(import.majority_agreement, Some(1.0));
        assert_eq!(import.gold_n, 6);

        // Human pairs before the gate: every item's majority (the honest two) decides.
        let quarantined = pairwise_pipeline::calibration::run_gate(db, "cal")
            .await
            .expect("gate");
        assert!(quarantined >= 1);
        let report = pairwise_pipeline::calibration::report(db, "cal")
            .await
            .expect("report");
        assert!(report
            .quarantines
            .iter()
            .any(|q| q.subject == "cid" && !q.released));
        assert!(
            report
                .annotators
                .iter()
                .find(|a| a.annotator == "cid")
                .expect("cid")
                .quarantined
        );
        assert!(
            !report
                .annotators
                .iter()
                .find(|a| a.annotator == "ann")
                .expect("ann")
                .quarantined
        );
        let human = pairwise_pipeline::calibration::human_pairs(db, "cal", 2, false)
            .await
            .expect("human pairs");
        assert_eq!(human.decided, 16);
        assert_eq!(human.quarantined_votes, 16, "cid's votes are left out");
        // Same answers as the imported pairs: the human pairs have the same hashes.
        assert_eq!((human.inserted, human.duplicates), (0, 16));

        // Pairs decided with cid's votes counted are new pairs once the imported ones are gone;
        // a version frozen with the κ gate leaves them out until the quarantine is released.
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        pairwise_store::entities::pair::Entity::delete_many()
            .filter(pairwise_store::entities::pair::Column::ProjectId.eq(p.id))
            .exec(db)
            .await
            .expect("delete imported pairs");
        let counted = pairwise_pipeline::calibration::human_pairs(db, "cal", 2, true)
            .await
            .expect("human pairs");
        assert_eq!(counted.inserted, 16);
        let gated = datasets::freeze(db, p.id, "gated", &Recipe::default(), None)
            .await
            .expect("freeze");
        let open = Recipe {
            kappa_gate: Some(false),
            ..Recipe::default()
        };
        let all = datasets::freeze(db, p.id, "all", &open, None)
            .await
            .expect("freeze");
        assert_eq!((gated.pair_count, all.pair_count), (0, 16), "{}", t.backend);
        let cid = report
            .quarantines
            .iter()
            .find(|q| q.subject == "cid")
            .expect("cid quarantine");
        annotation::release(db, p.id, cid.id, 1)
            .await
            .expect("release");
        let released = datasets::freeze(db, p.id, "released", &Recipe::default(), None)
            .await
            .expect("freeze");
        assert_eq!(released.pair_count, 16);
        t.finish().await;
    }
}

/// A golden set from a file: atomic (a bad line names itself and stores nothing), then every
/// row becomes a gold item whose agreed answer is the row's chosen side.
#[tokio::test]
async fn gold_import_is_atomic_and_marks_the_chosen_side() {
    use pairwise_store::entities::comparison;
    use sea_orm::EntityTrait;
    for t in TestDb::all().await {
        let db = &t.db;
        projects::create(db, "g", "", None).await.expect("project");
        let good = r#"{"prompt": "p1", "chosen": "right", "rejected": "wrong"}"#;
        let bad = format!("{good}\n{{\"prompt\": \"p2\", \"chosen\": 3}}\n");
        let err = pairwise_pipeline::datasets::import_gold(
            db,
            "g",
            std::io::Cursor::new(bad.into_bytes()),
            pairwise_core::PairFormat::Trl,
            "gold.jsonl",
            None,
        )
        .await
        .expect_err("line 2 is bad");
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(comparison::Entity::find()
            .all(db)
            .await
            .expect("items")
            .is_empty());
        let rows = format!(
            "{good}\n{}\n",
            r#"{"prompt": "p2", "chosen": "yes", "rejected": "no"}"#
        );
        let report = pairwise_pipeline::datasets::import_gold(
            db,
            "g",
            std::io::Cursor::new(rows.into_bytes()),
            pairwise_core::PairFormat::Trl,
            "gold.jsonl",
            None,
        )
        .await
        .expect("import");
        assert_eq!((report.rows, report.inserted), (2, 2));
        for c in comparison::Entity::find().all(db).await.expect("items") {
            let gold = c.gold_answer.expect("gold");
            let agreed = if gold == "x" {
                &c.answer_x
            } else {
                &c.answer_y
            };
            assert!(agreed == "right" || agreed == "yes", "{}", t.backend);
        }
        t.finish().await;
    }
}

/// A recipe's split rule puts every pair of a prompt in one split; exports of each split add up
/// to the version, share no prompt, and the quality report counts the same splits.
#[tokio::test]
async fn split_rules_split_by_prompt() {
    use pairwise_core::{
        recipe::{SplitRule, EVAL, TRAIN},
        ExportFormat, Recipe,
    };
    use pairwise_store::datasets;
    use std::collections::BTreeSet;
    for t in TestDb::all().await {
        let db = &t.db;
        let p = projects::create(db, "s", "", None).await.expect("project");
        // 60 prompts with three pairs each.
        let rows: String = (0..180)
            .map(|i| {
                serde_json::json!({"prompt": format!("prompt {}", i / 3), "chosen": format!("good {i}"), "rejected": format!("bad {i}")})
                    .to_string()
                    + "\n"
            })
            .collect();
        pairwise_pipeline::import_pairs(
            db,
            "s",
            std::io::Cursor::new(rows.into_bytes()),
            pairwise_core::PairFormat::Trl,
            "s.jsonl",
            None,
            |_| {},
        )
        .await
        .expect("import");
        let recipe = Recipe {
            split: Some(SplitRule {
                eval_fraction: 0.25,
                seed: 3,
                keep_prompt_split: true,
            }),
            ..Recipe::default()
        };
        let v = datasets::freeze(db, p.id, "v1", &recipe, None)
            .await
            .expect("freeze");
        assert_eq!(v.pair_count, 180);
        let mut prompts = Vec::new();
        let mut total = 0;
        for split in [TRAIN, EVAL] {
            let target = pairwise_pipeline::export_target(db, "s", "v1")
                .await
                .expect("target")
                .with_split(Some(split))
                .expect("split");
            let mut out = Vec::new();
            let n =
                pairwise_pipeline::datasets::export_to(db, &target, ExportFormat::Trl, &mut out)
                    .await
                    .expect("export");
            total += n;
            let seen: BTreeSet<String> = String::from_utf8(out)
                .expect("utf-8")
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).expect("json");
                    assert_eq!(v["metadata"]["split"], split);
                    v["prompt"].as_str().expect("prompt").to_owned()
                })
                .collect();
            assert!(!seen.is_empty(), "{split} is empty");
            prompts.push(seen);
        }
        assert_eq!(total, 180, "{}", t.backend);
        assert!(
            prompts[0].is_disjoint(&prompts[1]),
            "no prompt in both splits"
        );
        let report = pairwise_pipeline::quality_report(db, "s", "v1", None)
            .await
            .expect("report");
        assert_eq!(
            report.by_split.values().sum::<u64>(),
            180,
            "{:?}",
            report.by_split
        );
        assert_eq!(report.contamination[0].exact, 0);
        let bad = pairwise_pipeline::export_target(db, "s", "v1")
            .await
            .expect("target")
            .with_split(Some("test"));
        assert!(bad.is_err());
        // A version frozen before splits were stored (members without a split) exports the same
        // splits, derived from its recipe; its rollback copy stores them again.
        let export = |tag: &'static str| async move {
            let mut out = Vec::new();
            pairwise_pipeline::export_version(db, "s", tag, ExportFormat::Trl, &mut out)
                .await
                .expect("export");
            String::from_utf8(out)
                .expect("utf-8")
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).expect("json");
                    (v["prompt"].clone(), v["metadata"]["split"].clone())
                })
                .collect::<Vec<_>>()
        };
        let before = export("v1").await;
        use sea_orm::ConnectionTrait as _;
        db.execute_unprepared(&format!(
            "UPDATE dataset_members SET split = NULL WHERE version_id = {}",
            v.id
        ))
        .await
        .expect("legacy");
        assert_eq!(export("v1").await, before, "{}", t.backend);
        let legacy = pairwise_store::pairs::PairFilter {
            version: Some(v.id),
            split: Some("eval".into()),
            ..Default::default()
        };
        let err = pairwise_store::pairs::page(db, p.id, &legacy, 10, 0)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("--from"), "{err}");
        let copy = datasets::rollback(db, p.id, "v1", "v1-copy", None)
            .await
            .expect("rollback");
        assert_eq!(copy.content_hash, v.content_hash);
        assert_eq!(export("v1-copy").await.len(), 180);
        let stored = pairwise_store::pairs::PairFilter {
            version: Some(copy.id),
            split: Some("eval".into()),
            ..Default::default()
        };
        let eval = pairwise_store::pairs::page(db, p.id, &stored, 10, 0)
            .await
            .expect("copy has splits");
        assert_eq!(
            eval.total,
            before.iter().filter(|(_, s)| s == "eval").count() as u64
        );
        t.finish().await;
    }
}

/// A strategy mix lists its stages in order (each pair in its first matching stage, pairs in no
/// stage left out), a stage limit takes the lowest hashes, every member stores its split, and the
/// pair browser pages a version in version order, filtered by split.
#[tokio::test]
async fn strategy_mix_orders_stages_and_the_browser_filters_versions_by_split() {
    use pairwise_core::{
        recipe::{MixStage, SplitRule},
        ChatMessage, PairRecord, Recipe,
    };
    use pairwise_store::{
        datasets,
        pairs::{self, HashedPair, PairFilter, PairOrigin},
    };
    for t in TestDb::all().await {
        let db = &t.db;
        let p = projects::create(db, "mix", "", None)
            .await
            .expect("project");
        // Interleaved: i % 3 == 0 extreme (margin .5), 1 margin (.03), 2 imported (no margin).
        let items: Vec<(HashedPair, PairOrigin)> = (0..90)
            .map(|i| {
                let strategy = ["extreme", "margin", "imported"][i % 3];
                let scores = match i % 3 {
                    0 => (Some(0.9), Some(0.4)),
                    1 => (Some(0.6), Some(0.57)),
                    _ => (None, None),
                };
                let record = PairRecord {
                    prompt: vec![ChatMessage {
                        role: "user".into(),
                        content: format!("question {}", i / 2),
                    }],
                    chosen: format!("good {i}"),
                    rejected: format!("bad {i}"),
                    score_chosen: scores.0,
                    score_rejected: scores.1,
                    metadata: Default::default(),
                };
                let origin = PairOrigin {
                    strategy: strategy.into(),
                    source: "test".into(),
                    provenance: serde_json::json!({}),
                };
                (HashedPair::from(record), origin)
            })
            .collect();
        assert_eq!(
            pairs::insert_each(db, p.id, &items).await.expect("insert"),
            90
        );
        let stage = |s: &str| MixStage {
            strategies: vec![s.into()],
            ..MixStage::default()
        };
        let recipe = Recipe {
            mix: vec![
                MixStage {
                    limit: Some(10),
                    ..stage("extreme")
                },
                stage("margin"),
                // Overlaps the first stage: extreme pairs it did not take are not taken again.
                MixStage {
                    min_margin: Some(0.0),
                    ..MixStage::default()
                },
            ],
            split: Some(SplitRule {
                eval_fraction: 0.3,
                seed: 1,
                keep_prompt_split: false,
            }),
            ..Recipe::default()
        };
        let v = datasets::freeze(db, p.id, "mix1", &recipe, None)
            .await
            .expect("freeze");
        // 10 extreme + 30 margin + 30 imported (no margin passes min_margin), no other extreme.
        assert_eq!(v.pair_count, 70, "{}", t.backend);
        let mut filter = PairFilter {
            version: Some(v.id),
            ..PairFilter::default()
        };
        let all = pairs::page(db, p.id, &filter, 100, 0).await.expect("page");
        assert_eq!(all.total, 70);
        let strategies: Vec<&str> = all.items.iter().map(|i| i.strategy.as_str()).collect();
        assert!(
            strategies[..10].iter().all(|s| *s == "extreme"),
            "{strategies:?}"
        );
        assert!(strategies[10..40].iter().all(|s| *s == "margin"));
        assert!(strategies[40..].iter().all(|s| *s == "imported"));
        // The extreme sample: the 10 lowest hashes, in pair order within the stage.
        let mut extreme: Vec<(String, i64)> = items
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == 0)
            .map(|(_, (h, _))| h.hash.clone())
            .zip(0..)
            .collect();
        extreme.sort();
        let mut want: Vec<String> = extreme[..10].iter().map(|(h, _)| h.clone()).collect();
        let got: Vec<String> = all.items[..10].iter().map(|i| i.hash.clone()).collect();
        let ids: Vec<i64> = all.items[..10].iter().map(|i| i.id).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "pair order within a stage"
        );
        want.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        assert_eq!(got_sorted, want);
        // Split filter: eval + train = all, disjoint prompts; the export agrees.
        let mut counts = Vec::new();
        for split in ["train", "eval"] {
            filter.split = Some(split.into());
            let page = pairs::page(db, p.id, &filter, 100, 0)
                .await
                .expect("split page");
            let target = pairwise_pipeline::export_target(db, "mix", "mix1")
                .await
                .expect("target")
                .with_split(Some(split))
                .expect("split");
            let mut out = Vec::new();
            let n = pairwise_pipeline::datasets::export_to(
                db,
                &target,
                pairwise_core::ExportFormat::Trl,
                &mut out,
            )
            .await
            .expect("export");
            assert_eq!(n, page.total, "{split}");
            counts.push(page.total);
        }
        assert_eq!(counts[0] + counts[1], 70);
        assert!(counts[1] > 5 && counts[0] > 30, "{counts:?}");
        filter.split = Some("test".into());
        let err = pairs::page(db, p.id, &filter, 10, 0).await.unwrap_err();
        assert!(err.to_string().contains("split"), "{err}");
        let no_version = PairFilter {
            split: Some("eval".into()),
            ..PairFilter::default()
        };
        assert!(pairs::page(db, p.id, &no_version, 10, 0).await.is_err());
        // Same recipe, same members: freezing again gives the same content hash.
        let again = datasets::freeze(db, p.id, "mix2", &recipe, None)
            .await
            .expect("freeze");
        assert_eq!(again.content_hash, v.content_hash);
        // The diff compares the versions' statistics side by side.
        datasets::freeze(db, p.id, "all", &Recipe::default(), None)
            .await
            .expect("freeze all");
        let diff = datasets::diff(db, p.id, "mix1", "all").await.expect("diff");
        assert_eq!((diff.added, diff.removed), (20, 0));
        let stat = |name: &str| {
            let s = diff.stats.iter().find(|s| s.name == name);
            s.map(|s| (s.from, s.to))
                .unwrap_or_else(|| panic!("{name} in {:?}", diff.stats))
        };
        assert_eq!(stat("strategy: extreme"), (Some(10.0), Some(30.0)));
        assert_eq!(stat("strategy: margin"), (Some(30.0), Some(30.0)));
        assert_eq!(
            stat("split: train").1,
            Some(90.0),
            "no split rule: all train"
        );
        let (from, to) = stat("mean margin");
        assert!((from.expect("from") - 0.1475).abs() < 1e-9, "{from:?}");
        assert!((to.expect("to") - 0.265).abs() < 1e-9, "{to:?}");
        assert_eq!(stat("share where chosen is longer"), (Some(1.0), Some(1.0)));
        assert_eq!(diff.stats[0].name, "mean length difference (chars)");
        t.finish().await;
    }
}
