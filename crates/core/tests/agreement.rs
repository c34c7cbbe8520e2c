//! Agreement statistics against the reference implementations (scikit-learn, statsmodels, the
//! `krippendorff` package): expected values were computed once by
//! scripts/agreement/make_expected.py and are committed beside the fixtures.

use pairwise_core::agreement::{agreement, read_csv, read_jsonl, CsvLayout, Rating};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agreement")
}

fn expected() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json"),
    )
    .expect("json")
}

fn close(got: Option<f64>, want: &Value, what: &str) {
    match (got, want.as_f64()) {
        (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "{what}: {g} vs {w}"),
        (None, None) => {}
        (g, w) => panic!("{what}: {g:?} vs {w:?}"),
    }
}

fn check(name: &str, ratings: &[Rating]) {
    let all = expected();
    let want = &all[name];
    let got = agreement(ratings);
    close(
        got.fleiss_kappa,
        &want["fleiss_kappa"],
        &format!("{name} fleiss"),
    );
    close(
        got.krippendorff_alpha,
        &want["krippendorff_alpha"],
        &format!("{name} alpha"),
    );
    let pairs = want["cohen"].as_array().expect("cohen");
    assert_eq!(got.cohen.len(), pairs.len(), "{name}");
    for (g, w) in got.cohen.iter().zip(pairs) {
        assert_eq!(
            (g.a.as_str(), g.b.as_str()),
            (w["a"].as_str().unwrap_or(""), w["b"].as_str().unwrap_or(""))
        );
        assert_eq!(g.n, w["n"].as_u64().unwrap_or(u64::MAX), "{name} n");
        close(
            g.kappa,
            &w["kappa"],
            &format!("{name} cohen {}-{}", g.a, g.b),
        );
    }
}

#[test]
fn random_fixtures_match_sklearn_statsmodels_and_krippendorff() {
    for name in ["full3", "missing5", "binary2", "noisy4"] {
        let file = std::fs::File::open(fixtures().join(format!("{name}.jsonl"))).expect("fixture");
        let ratings = read_jsonl(std::io::BufReader::new(file)).expect("ratings");
        check(name, &ratings);
    }
}

#[test]
fn xstest_annotation_columns_match_the_references() {
    for model in ["gpt4", "mistralinstruct"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../../../shared/data/xstest/xstest_v2_completions_{model}.csv"
        ));
        let file = std::fs::File::open(&path).expect("shared/data/xstest");
        let layout = CsvLayout::Wide {
            columns: vec!["annotation_1".into(), "annotation_2".into()],
            item: Some("id".into()),
        };
        let ratings = read_csv(file, &layout).expect("csv");
        assert_eq!(ratings.len(), 900);
        check(&format!("xstest_{model}"), &ratings);
    }
}

#[test]
fn bad_lines_name_the_line_and_field() {
    let input = "{\"item\": 1, \"annotator\": \"a\", \"label\": \"x\"}\n\n{\"item\": 2, \"label\": \"y\"}\n";
    let err = read_jsonl(input.as_bytes()).expect_err("missing annotator");
    assert_eq!((err.line, err.field.as_deref()), (3, Some("annotator")));
    let err = read_jsonl("not json\n".as_bytes()).expect_err("json");
    assert!(err.to_string().starts_with("line 1:"), "{err}");
    let err = read_csv(
        "id,a\n1,x\n".as_bytes(),
        &CsvLayout::Wide {
            columns: vec!["b".into()],
            item: Some("id".into()),
        },
    )
    .expect_err("column");
    assert_eq!(err.field.as_deref(), Some("b"));
    // A null label is a missing rating, not an error.
    let ok = read_jsonl("{\"item\": 1, \"annotator\": \"a\", \"label\": null}\n".as_bytes())
        .expect("ok");
    assert!(ok.is_empty());
}
