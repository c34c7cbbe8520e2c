//! Reading judge output: JSON scores inside prose, validated against the rubric; the expectation
//! of a rating over next-token probabilities; and pairwise verdicts in both orders.

use crate::rubric::RubricSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a judge run scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeMode {
    /// The judge writes JSON with one score per dimension.
    Json,
    /// Each dimension's score is the expected rating under the judge's next-token probabilities.
    Prob,
    /// A/B comparison in both orders.
    Pairwise,
    /// A sequence-classification reward model gives one scalar per answer.
    Reward,
}

impl JudgeMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Prob => "prob",
            Self::Pairwise => "pairwise",
            Self::Reward => "reward",
        }
    }
}

impl std::str::FromStr for JudgeMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "json" => Ok(Self::Json),
            "prob" => Ok(Self::Prob),
            "pairwise" => Ok(Self::Pairwise),
            "reward" => Ok(Self::Reward),
            other => Err(format!(
                "unknown judge mode `{other}` (expected json, prob, pairwise or reward)"
            )),
        }
    }
}

/// Every balanced `{…}` span of `text`, outermost first, skipping braces inside JSON strings.
pub fn json_objects(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(offset) = text[start..].find('{') {
        let open = start + offset;
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        let mut end = None;
        for (i, &b) in bytes.iter().enumerate().skip(open) {
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        match end {
            Some(close) => {
                out.push(&text[open..=close]);
                start = close + 1;
            }
            None => start = open + 1,
        }
    }
    out
}

/// Why judge output could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseFailure {
    #[error("no JSON object in the judge output")]
    NoJson,
    #[error("the JSON object is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("dimension `{0}` is missing")]
    Missing(String),
    #[error("dimension `{name}` must be a number from 0 to 1 (got {value})")]
    OutOfRange { name: String, value: String },
}

/// Scores per dimension from judge output: the last JSON object in the text that parses is used
/// (models often restate the example first). Scores on a 0–10 or 0–100 scale are not guessed at:
/// out of range is a failure, so the retry can say so.
pub fn parse_scores(
    text: &str,
    rubric: &RubricSpec,
) -> Result<BTreeMap<String, f64>, ParseFailure> {
    let objects = json_objects(text);
    if objects.is_empty() {
        return Err(ParseFailure::NoJson);
    }
    let mut last_error = ParseFailure::NoJson;
    for candidate in objects.iter().rev() {
        let value: serde_json::Value = match serde_json::from_str(candidate) {
            Ok(v) => v,
            Err(e) => {
                last_error = ParseFailure::InvalidJson(e.to_string());
                continue;
            }
        };
        match scores_from(&value, rubric) {
            Ok(scores) => return Ok(scores),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

fn scores_from(
    value: &serde_json::Value,
    rubric: &RubricSpec,
) -> Result<BTreeMap<String, f64>, ParseFailure> {
    let object = value
        .as_object()
        .ok_or_else(|| ParseFailure::InvalidJson("not an object".into()))?;
    // Keys are matched case-insensitively ("Helpful" from chatty models).
    let lookup = |name: &str| {
        object
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let mut scores = BTreeMap::new();
    for d in &rubric.dimensions {
        let raw = lookup(&d.name).ok_or_else(|| ParseFailure::Missing(d.name.clone()))?;
        let number = match raw {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match number {
            Some(v) if v.is_finite() && (0.0..=1.0).contains(&v) => {
                scores.insert(d.name.clone(), v);
            }
            _ => {
                return Err(ParseFailure::OutOfRange {
                    name: d.name.clone(),
                    value: raw.to_string(),
                })
            }
        }
    }
    Ok(scores)
}

/// The stricter instruction appended for the one retry after a parse failure.
pub fn retry_instruction(rubric: &RubricSpec, failure: &ParseFailure) -> String {
    format!(
        "Your previous reply could not be used ({failure}). Reply again with exactly one JSON \
         object and nothing else, with a number from 0 to 1 for every key: {}",
        rubric.json_example()
    )
}

/// Expected rating in 0–1 from the log-probabilities of the rating tokens `0..=max` (in order):
/// the probabilities are renormalised over the rating tokens alone.
pub fn expected_rating(rating_logprobs: &[f32]) -> Option<f64> {
    if rating_logprobs.len() < 2 {
        return None;
    }
    let max = rating_logprobs
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return None;
    }
    let weights: Vec<f64> = rating_logprobs
        .iter()
        .map(|&l| f64::from(l - max).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let top = (rating_logprobs.len() - 1) as f64;
    Some(
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| w / total * i as f64 / top)
            .sum(),
    )
}

/// Which answer a pairwise judgment preferred, in terms of the candidates (not the positions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Winner {
    /// The first candidate of the pair (shown as A in the A/B order).
    First,
    /// The second candidate of the pair.
    Second,
    Tie,
}

impl Winner {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Second => "second",
            Self::Tie => "tie",
        }
    }
}

/// The verdict of one order from the probabilities of the letters: `p_a` for the answer shown as
/// A, `p_b` for B. `swapped` is true for the B/A order (the second candidate shown as A).
pub fn verdict(p_a: f64, p_b: f64, swapped: bool) -> Winner {
    let shown = if (p_a - p_b).abs() <= 1e-9 * p_a.max(p_b).max(1e-300) {
        return Winner::Tie;
    } else {
        p_a > p_b
    };
    match (shown, swapped) {
        (true, false) | (false, true) => Winner::First,
        _ => Winner::Second,
    }
}

/// Whether the two orders agree on the winner.
pub fn consistent(ab: Winner, ba: Winner) -> bool {
    ab == ba
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rubric() -> RubricSpec {
        RubricSpec::default_3h()
    }

    #[test]
    fn json_inside_prose_parses() {
        let text = "Sure! Here is my evaluation.\n```json\n{\"helpful\": 0.8, \"honest\": 1, \
                    \"harmless\": \"0.9\", \"note\": \"uses {braces}\"}\n```\nHope that helps.";
        let scores = parse_scores(text, &rubric()).expect("parses");
        assert_eq!(scores["helpful"], 0.8);
        assert_eq!(scores["honest"], 1.0);
        assert_eq!(scores["harmless"], 0.9);
    }

    #[test]
    fn the_last_valid_object_wins_over_the_echoed_example() {
        let text = "Format: {\"helpful\": 0.5, \"honest\": 0.5, \"harmless\": 0.5}. \
                    Mine: {\"Helpful\": 0.1, \"honest\": 0.2, \"harmless\": 0.3}";
        let scores = parse_scores(text, &rubric()).expect("parses");
        assert_eq!(scores["helpful"], 0.1);
    }

    #[test]
    fn malformed_output_is_a_failure_not_a_panic() {
        assert_eq!(
            parse_scores("I think it is good.", &rubric()),
            Err(ParseFailure::NoJson)
        );
        assert!(matches!(
            parse_scores("{\"helpful\": 0.5, \"honest\": 0.5}", &rubric()),
            Err(ParseFailure::Missing(d)) if d == "harmless"
        ));
        assert!(matches!(
            parse_scores(
                "{\"helpful\": 7, \"honest\": 0.5, \"harmless\": 1}",
                &rubric()
            ),
            Err(ParseFailure::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_scores("{helpful: 0.5,}", &rubric()),
            Err(ParseFailure::InvalidJson(_))
        ));
        for hostile in ["{", "}}}{{{", "{\"a\": \"\\\"}", "\u{0}{\u{0}}"] {
            let _ = parse_scores(hostile, &rubric());
        }
    }

    #[test]
    fn expected_rating_weights_by_probability() {
        // All mass on 9 → 1.0; uniform over 0..=9 → 0.5.
        let mut l = vec![-1e9f32; 10];
        l[9] = 0.0;
        assert!((expected_rating(&l).expect("rating") - 1.0).abs() < 1e-9);
        let uniform = vec![-2.3f32; 10];
        assert!((expected_rating(&uniform).expect("rating") - 0.5).abs() < 1e-9);
    }

    #[test]
    fn verdicts_map_positions_back_to_candidates() {
        assert_eq!(verdict(0.7, 0.3, false), Winner::First);
        assert_eq!(verdict(0.7, 0.3, true), Winner::Second);
        assert_eq!(verdict(0.5, 0.5, true), Winner::Tie);
        // A judge that always says "A" is inconsistent across the two orders.
        assert!(!consistent(
            verdict(0.9, 0.1, false),
            verdict(0.9, 0.1, true)
        ));
    }
}
