//! A dataset recipe: which of a project's pairs a frozen version takes. Stored on the version, so
//! every version says exactly how it was selected.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Only pairs from these sources (empty = all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Only pairs made by these strategies (empty = all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strategies: Vec<String>,
    /// Drop pairs whose margin is below this (pairs without a margin are kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_margin: Option<f64>,
    /// Drop pairs whose margin is above this: saturated margins teach a DPO model little.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_margin: Option<f64>,
    /// The κ gate: leave out human-decided pairs that rest on votes of a quarantined annotator
    /// or on a quarantined item. On unless `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kappa_gate: Option<bool>,
    /// How members are split into train and eval (absent: a pair's own split where it has
    /// one, else train).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitRule>,
}

/// Train/eval assignment by prompt: every pair of one prompt lands in the same split, so no
/// prompt is in both (no exact contamination by construction). Deterministic from the rule and
/// the prompt, so a frozen version's splits never change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitRule {
    /// Share of prompts that go to eval, in [0, 1].
    pub eval_fraction: f64,
    /// Salt of the assignment: another seed, another draw of eval prompts.
    #[serde(default)]
    pub seed: u64,
    /// Keep the split a pair's prompt already has (`train` or `eval`, carried by pipeline pairs
    /// and some imports) and draw only the others.
    #[serde(default)]
    pub keep_prompt_split: bool,
}

pub const TRAIN: &str = "train";
pub const EVAL: &str = "eval";

/// The split of a pair whose prompt hashes to `prompt_hash` (the stable hash of its normalized
/// prompt) and whose own split is `known`, under `rule`.
pub fn split_of(rule: Option<&SplitRule>, prompt_hash: &str, known: Option<&str>) -> &'static str {
    let known = match known {
        Some("eval") => Some(EVAL),
        Some("train") => Some(TRAIN),
        _ => None,
    };
    let Some(rule) = rule else {
        return known.unwrap_or(TRAIN);
    };
    if rule.keep_prompt_split {
        if let Some(k) = known {
            return k;
        }
    }
    let digest = crate::stable_hash(format!("{}:{prompt_hash}", rule.seed));
    let head = u64::from_str_radix(&digest[..16], 16).unwrap_or(0);
    if (head as f64) / (u64::MAX as f64) < rule.eval_fraction {
        EVAL
    } else {
        TRAIN
    }
}

impl Recipe {
    /// Whether the κ gate applies (the default).
    pub fn gated(&self) -> bool {
        self.kappa_gate != Some(false)
    }

    /// Checks the fields; the message names the bad one.
    pub fn validate(&self) -> Result<(), String> {
        for (field, v) in [
            ("min_margin", self.min_margin),
            ("max_margin", self.max_margin),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(format!("`{field}` must be a finite number"));
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_margin, self.max_margin) {
            if lo > hi {
                return Err(format!("`min_margin` ({lo}) is above `max_margin` ({hi})"));
            }
        }
        if let Some(rule) = &self.split {
            if !(0.0..=1.0).contains(&rule.eval_fraction) {
                return Err("`split.eval_fraction` must be between 0 and 1".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_follow_the_prompt_and_the_fraction() {
        let rule = SplitRule {
            eval_fraction: 0.2,
            seed: 7,
            keep_prompt_split: true,
        };
        let hashes: Vec<String> = (0..2000)
            .map(|i| crate::stable_hash(format!("p{i}")))
            .collect();
        let eval = hashes
            .iter()
            .filter(|h| split_of(Some(&rule), h, None) == EVAL)
            .count();
        assert!((300..500).contains(&eval), "{eval} of 2000 near 20%");
        // Same prompt, same split; a prompt's own split is kept when asked.
        assert_eq!(
            split_of(Some(&rule), &hashes[0], None),
            split_of(Some(&rule), &hashes[0], None)
        );
        assert_eq!(split_of(Some(&rule), &hashes[0], Some("eval")), EVAL);
        assert_eq!(split_of(None, &hashes[0], Some("redteam")), TRAIN);
        assert_eq!(split_of(None, &hashes[0], Some("eval")), EVAL);
        let all = SplitRule {
            eval_fraction: 1.0,
            seed: 0,
            keep_prompt_split: false,
        };
        assert_eq!(split_of(Some(&all), &hashes[1], Some("train")), EVAL);
        let bad = Recipe {
            split: Some(SplitRule {
                eval_fraction: 1.5,
                ..all
            }),
            ..Recipe::default()
        };
        assert!(bad.validate().unwrap_err().contains("eval_fraction"));
    }
}
