//! Bradley–Terry strengths against the reference implementation (`choix`, maximum-likelihood
//! pairwise fit): expected values were computed once by scripts/ranking/make_expected.py and are
//! committed beside the fixtures.

use pairwise_core::ranking::{bradley_terry, Comparisons};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ranking")
}

#[test]
fn strengths_equal_choix_within_1e_6_without_and_with_a_prior() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json"),
    )
    .expect("json");
    // Seeded random comparisons (30 items with ties; 8 items, sparse) and the two XSTest models
    // compared prompt by prompt under each annotator's labels (see the script).
    for name in ["random", "sparse", "xstest"] {
        let file = std::fs::File::open(fixtures().join(format!("{name}.jsonl"))).expect("fixture");
        let read = Comparisons::read(std::io::BufReader::new(file)).expect("comparisons");
        let want = &expected[name];
        assert_eq!(
            serde_json::Value::Array(read.ids.clone()),
            want["ids"],
            "{name}: ids in order of first appearance"
        );
        let alpha = want["alpha"].as_f64().expect("alpha");
        for (key, alpha) in [("ml", 0.0), ("with_prior", alpha)] {
            let got = bradley_terry(read.ids.len(), &read.comparisons, alpha).expect("fit");
            let want: Vec<f64> = want[key]
                .as_array()
                .expect("strengths")
                .iter()
                .map(|v| v.as_f64().expect("number"))
                .collect();
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (g - w).abs())
                .fold(0.0f64, f64::max);
            assert!(worst < 1e-6, "{name} {key}: off by {worst:e}");
            eprintln!("{name} {key}: largest difference from choix {worst:.1e}");
        }
    }
}
