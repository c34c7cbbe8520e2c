//! The math builder over every GSM8K test problem (shared/data/gsm8k/test.jsonl, 1,319 items):
//! every injected calculation error is verifiably wrong, every other annotation of a
//! propagated variant before it still checks, labels follow the first error, and each error
//! type is made for most problems.

use pairwise_core::builders::math::{self, annotations, MathError, MathSummary};
use std::{fs::File, io::BufReader, path::Path};

fn gsm8k() -> Vec<math::MathItem> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/gsm8k/test.jsonl");
    let file = File::open(&path).expect("shared/data/gsm8k/test.jsonl");
    math::read_items(BufReader::new(file))
        .collect::<Result<_, _>>()
        .expect("GSM8K reads without errors")
}

#[test]
fn every_gsm8k_problem_gets_checked_variants() {
    let items = gsm8k();
    assert_eq!(items.len(), 1319);
    let mut summary = MathSummary::default();
    for item in &items {
        let made = math::variants(item);
        summary.add(&made);
        let reference = math::steps(&item.answer);
        for (error, variant) in &made {
            let Ok(v) = variant else { continue };
            assert_eq!(v.error, *error);
            assert_ne!(
                v.steps, reference,
                "line {}: {error:?} changed nothing",
                item.line
            );
            assert_eq!(
                v.steps.last().unwrap(),
                &format!("#### {}", v.final_answer),
                "line {}",
                item.line
            );
            assert!(v.first_wrong_step < v.steps.len());
            let labels = v.labels();
            assert!(labels[..v.first_wrong_step].iter().all(|l| *l));
            assert!(labels[v.first_wrong_step..].iter().all(|l| !*l));
            // Steps before the first wrong one are the reference's own (a leap also removed
            // one of them).
            if *error != MathError::LogicalLeap {
                assert_eq!(
                    v.steps[..v.first_wrong_step],
                    reference[..v.first_wrong_step]
                );
            }
            match error {
                MathError::CalculationErrorPropagate | MathError::CalculationErrorKeep => {
                    let inj = v
                        .injected
                        .as_ref()
                        .expect("a calculation error names its annotation");
                    assert_eq!(inj.step, v.first_wrong_step);
                    let changed = annotations(&v.steps[inj.step])
                        .into_iter()
                        .find(|a| a.expr == inj.expr && a.value == inj.written)
                        .unwrap_or_else(|| {
                            panic!("line {}: `{}` not in {:?}", item.line, inj.expr, v.steps)
                        });
                    // Recomputing the annotation disagrees with the written value.
                    assert!(changed.is_wrong(), "line {}: {:?}", item.line, v.steps);
                    assert!(changed.checked().is_none());
                }
                MathError::ConditionOmission | MathError::LogicalLeap => {
                    assert!(v.injected.is_none());
                }
            }
            if *error == MathError::CalculationErrorKeep {
                assert_eq!(v.steps.len(), reference.len());
                assert_eq!(
                    v.steps[v.first_wrong_step + 1..],
                    reference[v.first_wrong_step + 1..]
                );
            }
            if *error == MathError::LogicalLeap {
                assert_eq!(v.steps.len() + 1, reference.len());
            }
        }
    }
    eprintln!("{}", serde_json::to_string_pretty(&summary).unwrap());
    assert_eq!(summary.problems, 1319);
    // Calculation errors need one checked annotation; nearly every problem has one.
    for (error, at_least) in [
        (MathError::CalculationErrorPropagate, 1290),
        (MathError::CalculationErrorKeep, 1280),
        (MathError::ConditionOmission, 1200),
        (MathError::LogicalLeap, 1100),
    ] {
        let made = summary.by_error.get(error.as_str()).copied().unwrap_or(0);
        assert!(
            made >= at_least,
            "{error:?}: {made} variants, expected ≥ {at_least}"
        );
    }
}

#[test]
fn a_build_is_reproducible() {
    let items = gsm8k();
    for item in items.iter().take(50) {
        assert_eq!(math::variants(item), math::variants(item));
    }
}
