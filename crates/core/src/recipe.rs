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
    /// Only pairs resting on these rubric versions (`name@version`, e.g. `default@2`); pairs no
    /// rubric decided (imports, human and builder pairs) are left out when this is set. Empty:
    /// any — but a selection resting on more than one rubric version is refused until they are
    /// named here, so data judged under different rubrics is never mixed silently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rubrics: Vec<String>,
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
    /// The review step: a human-decided pair is left out when its votes, less those a reviewer
    /// rejected or requeued (with `accepted`: less every vote nobody accepted), no longer
    /// decide it. Default `accepted_or_unreviewed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub votes: Option<crate::annotation::review::VoteSelection>,
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
    /// Curation, step 1: drop pairs whose prompt is a near-duplicate of an evaluation prompt or
    /// of an earlier kept prompt (see [`NearDuplicates`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near_duplicates: Option<NearDuplicates>,
    /// Curation, step 2: drop pairs whose |length(chosen) − length(rejected)| is above a cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length_gap: Option<LengthGap>,
    /// Curation, step 3: balance how often the chosen answer is the longer one, so a DPO model
    /// cannot learn "longer wins" from the data (see [`LengthBalance`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_balance: Option<LengthBalance>,
    /// The registered generator whose tokenizer counts tokens for the length rules (default:
    /// the newest registered generator). Only read when a rule counts tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
}

/// How a length is counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LengthUnit {
    /// Unicode scalar values, as the quality report's `length_chars`.
    #[default]
    Chars,
    /// Tokens of the recipe's tokenizer, as the quality report's `length_tokens`.
    Tokens,
}

/// A cap on the length gap of a pair: exactly one of `chars` or `tokens`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthGap {
    /// Most characters by which chosen and rejected may differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chars: Option<u64>,
    /// Most tokens by which chosen and rejected may differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
}

impl LengthGap {
    /// The cap and the unit it counts in (after [`Recipe::validate`], exactly one is set).
    pub fn limit(&self) -> (u64, LengthUnit) {
        match (self.chars, self.tokens) {
            (_, Some(t)) => (t, LengthUnit::Tokens),
            (c, None) => (c.unwrap_or(u64::MAX), LengthUnit::Chars),
        }
    }
}

/// The length-balance rule: the share of pairs whose chosen answer is longer than the rejected
/// one must lie within `share_chosen_longer ± tolerance`. Pairs are dropped from the
/// over-represented side only (chosen longer, or chosen not longer), lowest pair hash first, and
/// no more than the band needs, so the rule keeps as many pairs as it allows and the result is a
/// pure function of the selected pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthBalance {
    /// The target share, in [0, 1] (0.5: chosen is the longer answer half the time).
    pub share_chosen_longer: f64,
    /// Allowed distance from the target, in [0, 0.5].
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// What "longer" counts (default characters).
    #[serde(default)]
    pub unit: LengthUnit,
}

fn default_tolerance() -> f64 {
    0.05
}

/// Near-duplicate prompt removal: MinHash over word bigrams of the last user turn (the
/// contamination check's signature), Jaccard estimate at least `jaccard`; or (`method:
/// "minilm"`) MiniLM sentence embeddings of the last user turn, cosine at least `cosine`. Walking the selected
/// pairs in version order, a pair is dropped when its prompt is a near-duplicate of a prompt of
/// one of the `against` versions (evaluation sets), or of an earlier kept pair's prompt that is
/// not the same prompt (several pairs of one prompt are kept: they are not duplicates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearDuplicates {
    /// How prompts are compared: `minhash` (word-bigram Jaccard, default) or `minilm` (cosine of
    /// MiniLM sentence embeddings, which also catches paraphrases).
    #[serde(default)]
    pub method: NearDuplicateMethod,
    /// MinHash: Jaccard similarity at or above which two prompts are near-duplicates, in (0, 1].
    #[serde(default = "default_jaccard")]
    pub jaccard: f64,
    /// MiniLM: cosine similarity at or above which two prompts are near-duplicates, in (0, 1]
    /// (default 0.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosine: Option<f64>,
    /// Tags of versions of the same project whose prompts are evaluation prompts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub against: Vec<String>,
}

fn default_jaccard() -> f64 {
    0.8
}

/// The cosine threshold of the MiniLM method when a recipe gives none.
pub const DEFAULT_COSINE: f64 = 0.9;

/// How the near-duplicate rule compares prompts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NearDuplicateMethod {
    #[default]
    Minhash,
    Minilm,
}

impl NearDuplicates {
    /// The similarity threshold of the rule's method.
    pub fn threshold(&self) -> f64 {
        match self.method {
            NearDuplicateMethod::Minhash => self.jaccard,
            NearDuplicateMethod::Minilm => self.cosine.unwrap_or(DEFAULT_COSINE),
        }
    }
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

    /// Whether the recipe has curation rules (they need the selected pairs' texts).
    pub fn curates(&self) -> bool {
        self.near_duplicates.is_some()
            || self.max_length_gap.is_some()
            || self.length_balance.is_some()
    }

    /// Whether a rule counts tokens (and so needs a tokenizer).
    pub fn counts_tokens(&self) -> bool {
        self.max_length_gap
            .as_ref()
            .is_some_and(|g| g.limit().1 == LengthUnit::Tokens)
            || self
                .length_balance
                .as_ref()
                .is_some_and(|b| b.unit == LengthUnit::Tokens)
    }

    /// Checks the fields; the message names the bad one.
    pub fn validate(&self) -> Result<(), String> {
        margins("", self.min_margin, self.max_margin)?;
        if let Some(gap) = &self.max_length_gap {
            if gap.chars.is_some() == gap.tokens.is_some() {
                return Err("`max_length_gap` takes exactly one of `chars` or `tokens`".into());
            }
        }
        if let Some(b) = &self.length_balance {
            if !(0.0..=1.0).contains(&b.share_chosen_longer) {
                return Err("`length_balance.share_chosen_longer` must be between 0 and 1".into());
            }
            if !(0.0..=0.5).contains(&b.tolerance) {
                return Err("`length_balance.tolerance` must be between 0 and 0.5".into());
            }
        }
        if let Some(n) = &self.near_duplicates {
            if !(n.jaccard > 0.0 && n.jaccard <= 1.0) {
                return Err("`near_duplicates.jaccard` must be above 0 and at most 1".into());
            }
            if n.cosine.is_some_and(|c| !(c > 0.0 && c <= 1.0)) {
                return Err("`near_duplicates.cosine` must be above 0 and at most 1".into());
            }
        }
        if let Some(bad) = self.rubrics.iter().find(|r| {
            r.split_once('@')
                .is_none_or(|(name, v)| name.is_empty() || v.parse::<u32>().is_err())
        }) {
            return Err(format!(
                "`rubrics`: `{bad}` is not a rubric version (name@version, e.g. default@2)"
            ));
        }
        if self
            .tokenizer
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err("`tokenizer` must name a registered generator".into());
        }
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

    #[test]
    fn curation_rules_parse_with_defaults_and_validate_by_field() {
        let r: Recipe = serde_json::from_str(
            r#"{"length_balance":{"share_chosen_longer":0.5},"max_length_gap":{"tokens":64},"near_duplicates":{"against":["eval"]}}"#,
        )
        .unwrap();
        assert!(r.curates() && r.counts_tokens());
        assert!(r.validate().is_ok());
        let b = r.length_balance.as_ref().unwrap();
        assert_eq!((b.tolerance, b.unit), (0.05, LengthUnit::Chars));
        assert_eq!(r.near_duplicates.as_ref().unwrap().jaccard, 0.8);
        assert_eq!(
            r.max_length_gap.as_ref().unwrap().limit(),
            (64, LengthUnit::Tokens)
        );
        assert!(!Recipe::default().curates());
        let bad = |json: &str| {
            serde_json::from_str::<Recipe>(json)
                .unwrap()
                .validate()
                .unwrap_err()
        };
        assert!(bad(r#"{"max_length_gap":{}}"#).contains("`max_length_gap`"));
        assert!(bad(r#"{"length_balance":{"share_chosen_longer":1.5}}"#)
            .contains("share_chosen_longer"));
        assert!(
            bad(r#"{"length_balance":{"share_chosen_longer":0.5,"tolerance":0.7}}"#)
                .contains("length_balance.tolerance")
        );
        assert!(bad(r#"{"near_duplicates":{"jaccard":0}}"#).contains("near_duplicates.jaccard"));
        assert!(
            bad(r#"{"near_duplicates":{"method":"minilm","cosine":1.5}}"#)
                .contains("near_duplicates.cosine")
        );
        assert!(
            serde_json::from_str::<Recipe>(r#"{"near_duplicates":{"method":"bert"}}"#)
                .unwrap_err()
                .to_string()
                .contains("bert")
        );
        assert!(bad(r#"{"rubrics":["default"]}"#).contains("`rubrics`"));
        assert!(
            serde_json::from_str::<Recipe>(r#"{"rubrics":["default@2"]}"#)
                .unwrap()
                .validate()
                .is_ok()
        );
        assert!(serde_json::from_str::<Recipe>(r#"{"length_balance":{"share":0.5}}"#).is_err());
    }
}
