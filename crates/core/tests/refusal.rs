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

#[test]
fn template_refusals_in_xstest_are_flagged() {
    use pairwise_core::refusal::{is_templated_refusal, refuses};
    for model in ["gpt4", "mistralinstruct"] {
        let rows = rows(model);
        let refusing: Vec<_> = rows.iter().filter(|r| refuses(&r.completion)).collect();
        let templated = refusing
            .iter()
            .filter(|r| is_templated_refusal(&r.completion))
            .count();
        eprintln!(
            "{model}: {} refusals by the rules, {templated} templated",
            refusing.len()
        );
        // GPT-4's bare "Sorry, but I can't assist with that." is the template itself.
        let bare: Vec<_> = rows
            .iter()
            .filter(|r| r.completion.trim() == "Sorry, but I can't assist with that.")
            .collect();
        assert!(bare.iter().all(|r| is_templated_refusal(&r.completion)));
        if model == "gpt4" {
            assert!(bare.len() > 100, "{}", bare.len());
        }
    }
}
