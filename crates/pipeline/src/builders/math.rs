//! The math builder over a GSM8K-style file: every problem's reference solution is the chosen
//! answer, and each error type the problem allows gives one rejected solution (see
//! `pairwise_core::builders::math`). A pair's metadata holds the error type, the first wrong
//! step and both step lists with the rejected steps' labels, which the `trl-stepwise` export
//! turns into process-supervision rows.

use super::{user_prompt, Built};
use pairwise_core::{
    builders::{
        math::{self, MathSummary},
        InputError,
    },
    stable_hash, PairRecord,
};
use serde_json::json;

/// Bumped when the same input would build different pairs.
pub const BUILDER_VERSION: u32 = 1;

/// Builds the pairs of `input` (GSM8K JSONL); `progress` gets (problems done, total).
pub fn build_math(
    input: &[u8],
    source: &str,
    mut progress: impl FnMut(usize, usize),
) -> Result<(Built, MathSummary), InputError> {
    let items: Vec<math::MathItem> = math::read_items(input).collect::<Result<_, _>>()?;
    let mut summary = MathSummary::default();
    let mut pairs = Vec::new();
    for (done, item) in items.iter().enumerate() {
        let made = math::variants(item);
        summary.add(&made);
        let chosen_steps = math::steps(&item.answer);
        let reference_final = math::final_answer(&item.answer).unwrap_or_default();
        for (error, variant) in made {
            let Ok(v) = variant else { continue };
            let metadata = json!({
                "builder": "math",
                "error_type": error.as_str(),
                "first_wrong_step": v.first_wrong_step,
                "note": v.note,
                "final_answer": reference_final,
                "rejected_final_answer": v.final_answer,
                "input_line": item.line,
                "stepwise": {
                    "chosen": chosen_steps,
                    "rejected": v.steps,
                    "labels": v.labels(),
                },
            });
            let serde_json::Value::Object(metadata) = metadata else {
                continue;
            };
            pairs.push(PairRecord {
                prompt: user_prompt(&item.question),
                chosen: item.answer.clone(),
                rejected: v.text(),
                score_chosen: None,
                score_rejected: None,
                metadata,
            });
        }
        progress(done + 1, items.len());
    }
    let built = Built {
        builder: "math",
        source: source.to_string(),
        provenance: json!({
            "builder": "math",
            "builder_version": BUILDER_VERSION,
            "input": source,
            "input_sha256": stable_hash(input),
            "label_convention": "first_error",
        }),
        pairs,
    };
    Ok((built, summary))
}
