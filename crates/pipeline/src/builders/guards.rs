//! The reward-hacking guard builder: for every row `{prompt, chosen, agreeing?}`, the good
//! answer is chosen against four "long but useless" versions of itself (padding, restating,
//! hedging, a list without content — see `pairwise_core::builders::guards`), and against the
//! row's answer that agrees with a false premise where it gives one. The built-in false-premise
//! probes (20 common misconceptions, each with a correcting and an agreeing answer) ship with
//! the builder and are an editable file like any other input.

use super::{user_prompt, Built};
use pairwise_core::{
    builders::{
        guards::{self, Guard},
        InputError,
    },
    stable_hash, PairRecord,
};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Bumped when the same input would build different pairs.
pub const BUILDER_VERSION: u32 = 1;

/// The built-in false-premise probes (`crates/pipeline/data/false_premise_probes.jsonl`).
pub const FALSE_PREMISE_PROBES: &str = include_str!("../../data/false_premise_probes.jsonl");

/// What a guard build made.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GuardSummary {
    pub rows: usize,
    pub pairs: usize,
    pub by_guard: BTreeMap<String, usize>,
}

/// Builds the guard pairs of `input` (JSONL rows); `progress` gets (rows done, total).
pub fn build_guards(
    input: &[u8],
    source: &str,
    mut progress: impl FnMut(usize, usize),
) -> Result<(Built, GuardSummary), InputError> {
    let items: Vec<guards::GuardItem> = guards::read_items(input).collect::<Result<_, _>>()?;
    let mut summary = GuardSummary {
        rows: items.len(),
        ..Default::default()
    };
    let mut pairs = Vec::new();
    for (done, item) in items.iter().enumerate() {
        let mut made: Vec<(Guard, String)> = Guard::DEGRADATIONS
            .iter()
            .map(|&g| (g, guards::degrade(&item.prompt, &item.chosen, g)))
            .collect();
        if let Some(agreeing) = &item.agreeing {
            made.push((Guard::FalsePremise, agreeing.clone()));
        }
        for (guard, rejected) in made {
            if rejected.trim() == item.chosen.trim() {
                continue;
            }
            let serde_json::Value::Object(metadata) = json!({
                "builder": "guards",
                "guard": guard.as_str(),
                "input_line": item.line,
            }) else {
                continue;
            };
            *summary
                .by_guard
                .entry(guard.as_str().to_owned())
                .or_default() += 1;
            pairs.push(PairRecord {
                prompt: user_prompt(&item.prompt),
                chosen: item.chosen.clone(),
                rejected,
                score_chosen: None,
                score_rejected: None,
                metadata,
            });
        }
        progress(done + 1, items.len());
    }
    summary.pairs = pairs.len();
    let built = Built {
        builder: "guards",
        source: source.to_string(),
        provenance: json!({
            "builder": "guards",
            "builder_version": BUILDER_VERSION,
            "input": source,
            "input_sha256": stable_hash(input),
        }),
        pairs,
    };
    Ok((built, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_probes_make_five_pairs_each_and_agreeing_answers_are_rejected() {
        let (built, summary) =
            build_guards(FALSE_PREMISE_PROBES.as_bytes(), "probes", |_, _| ()).expect("build");
        assert_eq!(summary.rows, 20);
        assert_eq!(summary.pairs, 100);
        assert!(summary.by_guard.values().all(|&n| n == 20), "{summary:?}");
        for p in &built.pairs {
            assert_ne!(p.chosen, p.rejected);
            if p.metadata["guard"] == "false_premise" {
                // The chosen answer corrects the premise; the rejected one accepts it.
                assert!(!p.rejected.is_empty());
            }
        }
        assert_eq!(built.provenance["builder"], "guards");
    }
}
