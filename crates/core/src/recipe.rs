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
    /// An ordered strategy mix (a curriculum), e.g. extreme pairs first, margin pairs later:
    /// the version lists the pairs of each stage in turn. A pair belongs to the first stage whose
    /// filters it passes; pairs in no stage are left out. Empty: every selected pair, in pair
    /// order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mix: Vec<MixStage>,
}

/// One stage of a strategy mix. Its filters add to the recipe's own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixStage {
    /// Strategies of this stage (empty = any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strategies: Vec<String>,
    /// Sources of this stage (empty = any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_margin: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_margin: Option<f64>,
    /// At most this many pairs from the stage: those with the lowest pair hash (a stable,
    /// content-addressed sample that does not depend on import order), listed in pair order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
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

/// Margin bounds must be finite and ordered; `at` prefixes the field names in the message.
fn margins(at: &str, min: Option<f64>, max: Option<f64>) -> Result<(), String> {
    for (field, v) in [("min_margin", min), ("max_margin", max)] {
        if v.is_some_and(|v| !v.is_finite()) {
            return Err(format!("`{at}{field}` must be a finite number"));
        }
    }
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            return Err(format!(
                "`{at}min_margin` ({lo}) is above `{at}max_margin` ({hi})"
            ));
        }
    }
    Ok(())
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

    /// A mix from a comma-separated strategy order (`extreme, margin`): one stage per strategy.
    pub fn mix_from_order(order: &str) -> Vec<MixStage> {
        order
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| MixStage {
                strategies: vec![s.to_owned()],
                ..MixStage::default()
            })
            .collect()
    }

    /// Checks the fields; the message names the bad one.
    pub fn validate(&self) -> Result<(), String> {
        margins("", self.min_margin, self.max_margin)?;
        for (i, stage) in self.mix.iter().enumerate() {
            let at = format!("mix[{i}].");
            margins(&at, stage.min_margin, stage.max_margin)?;
            if stage.limit == Some(0) {
                return Err(format!("`{at}limit` must be at least 1"));
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

    #[test]
    fn mixes_parse_and_validate_by_stage() {
        let r: Recipe = serde_json::from_str(
            r#"{"mix":[{"strategies":["extreme"],"min_margin":0.2,"limit":100},{"strategies":["margin"]}]}"#,
        )
        .unwrap();
        assert_eq!(r.mix.len(), 2);
        assert_eq!(r.mix[0].limit, Some(100));
        assert!(r.validate().is_ok());
        assert_eq!(
            Recipe::mix_from_order(" extreme, margin ,"),
            vec![
                MixStage {
                    strategies: vec!["extreme".into()],
                    ..MixStage::default()
                },
                MixStage {
                    strategies: vec!["margin".into()],
                    ..MixStage::default()
                }
            ]
        );
        let bad: Recipe =
            serde_json::from_str(r#"{"mix":[{},{"min_margin":0.5,"max_margin":0.1}]}"#).unwrap();
        assert!(bad.validate().unwrap_err().contains("`mix[1].min_margin`"));
        let zero: Recipe = serde_json::from_str(r#"{"mix":[{"limit":0}]}"#).unwrap();
        assert!(zero.validate().unwrap_err().contains("mix[0].limit"));
        assert!(serde_json::from_str::<Recipe>(r#"{"mix":[{"strategy":"x"}]}"#).is_err());
    }
}
