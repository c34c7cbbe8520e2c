//! `pairwise rank`: Bradley–Terry strengths from a comparisons file, and errors that name the
//! line and field.

use std::process::Command;

fn rank(file: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pairwise"))
        .args(["rank", "--input"])
        .arg(file)
        .args(extra)
        .output()
        .expect("run pairwise rank")
}

#[test]
fn rank_prints_centred_strengths_strongest_first_and_names_bad_lines() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/core/tests/fixtures/ranking/sparse.jsonl");
    let out = rank(&fixture, &["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 8);
    let strengths: Vec<f64> = items
        .iter()
        .map(|i| i["strength"].as_f64().expect("strength"))
        .collect();
    assert!(strengths.windows(2).all(|w| w[0] >= w[1]), "{strengths:?}");
    assert!(strengths.iter().sum::<f64>().abs() < 1e-9, "centred");
    assert_eq!(items[0]["rank"], 1);

    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"a\": \"x\", \"b\": \"y\", \"winner\": \"a\"}\n{\"a\": \"x\", \"winner\": \"b\"}\n",
    )
    .expect("write");
    let out = rank(&bad, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("line 2: `b`"),
        "{stderr}"
    );
    // y loses and never wins: no maximum-likelihood fit, and the error names it and says what
    // to do.
    let one_sided = dir.path().join("one-sided.jsonl");
    std::fs::write(
        &one_sided,
        "{\"a\": \"x\", \"b\": \"y\", \"winner\": \"a\"}\n",
    )
    .expect("write");
    let out = rank(&one_sided, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("item \"y\" never beats")
            && stderr.contains("--alpha"),
        "{stderr}"
    );
    assert!(rank(&one_sided, &["--alpha", "0.1"]).status.success());
}
