//! The rule-based refusal classifier against XSTest's human labels (two annotators each, the
//! agreed `final_label`): the GPT-4 completions the rules were written from, and the Mistral
//! completions held out.

use pairwise_core::refusal::{evaluate, read_labelled, RefusalLabel};
use std::path::Path;

fn rows(model: &str) -> Vec<pairwise_core::refusal::Labelled> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../../../shared/data/xstest/xstest_v2_completions_{model}.csv"
    ));
    read_labelled(std::fs::File::open(path).expect("xstest completions")).expect("labels")
}

#[test]
fn agreement_with_human_labels_on_xstest() {
    for (model, min_accuracy, min_kappa) in [("gpt4", 0.93, 0.87), ("mistralinstruct", 0.85, 0.33)]
    {
        let rows = rows(model);
        assert_eq!(rows.len(), 450);
        let eval = evaluate(&rows);
        eprintln!("{model}: {}", serde_json::to_string(&eval).expect("json"));
        assert!(
            eval.accuracy >= min_accuracy,
            "{model}: accuracy {}",
            eval.accuracy
        );
        let kappa = eval.kappa.expect("kappa");
        assert!(kappa >= min_kappa, "{model}: kappa {kappa}");
        // The confusion matrix accounts for every row.
        let total: usize = eval.confusion.values().flat_map(|m| m.values()).sum();
        assert_eq!(total, 450);
        let refusals = rows
            .iter()
            .filter(|r| r.label == RefusalLabel::FullRefusal)
            .count();
        assert_eq!(
            eval.confusion["full_refusal"].values().sum::<usize>(),
            refusals
        );
    }
}
