//! Preference-pair formats: reading HH-RLHF transcripts, TRL standard / conversational and
//! UltraFeedback-binarized rows into one shape, and the stable pair hash. HH-RLHF prompts are the
//! shared prefix up to the last "\n\nAssistant:", split into turns, as TRL's
//! `examples/datasets/hh-rlhf-helpful-base.py` (`extract_dialogue`) does.

use crate::{hash::normalized, stable_hash, ChatMessage};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::{fmt, str::FromStr};

const HUMAN: &str = "\n\nHuman: ";
const ASSISTANT: &str = "\n\nAssistant: ";

/// The pair formats the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PairFormat {
    HhRlhf,
    Trl,
    Ultrafeedback,
    /// Raw UltraFeedback rows (an instruction and its rated completions): the best completion
    /// against the worst ([`RatedPick::Extreme`]).
    UltrafeedbackRaw,
    /// Raw UltraFeedback rows: completions next to each other by rating whose ratings differ by
    /// less than one point ([`RatedPick::Margin`]).
    UltrafeedbackRawMargin,
}

impl PairFormat {
    /// Formats whose rows each make one pair (a raw UltraFeedback row makes none or several).
    pub fn one_pair_per_row(self) -> bool {
        !matches!(
            self,
            PairFormat::UltrafeedbackRaw | PairFormat::UltrafeedbackRawMargin
        )
    }
}

/// How pairs are built from the rated completions of a raw UltraFeedback row: the strategies of
/// judge runs ([`crate::strategy`]) over the completions' mean aspect ratings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RatedPick {
    /// The best-rated completion against the worst; none when all ratings tie.
    Extreme,
    /// Every two completions next to each other by rating whose ratings differ by more than 0
    /// and less than `threshold`.
    Margin { threshold: f64 },
}

/// Rating gap below which neighbouring completions make a margin pair (one point of the 1–5
/// UltraFeedback scale).
pub const RATED_MARGIN_THRESHOLD: f64 = 1.0;

/// The aspects UltraFeedback's annotator rated, 1–5 each (`N/A` where it does not apply).
pub const ULTRAFEEDBACK_ASPECTS: [&str; 4] = [
    "helpfulness",
    "honesty",
    "instruction_following",
    "truthfulness",
];

impl FromStr for PairFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hh-rlhf" | "hh" => Ok(Self::HhRlhf),
            "trl" => Ok(Self::Trl),
            "ultrafeedback" => Ok(Self::Ultrafeedback),
            "ultrafeedback-raw" => Ok(Self::UltrafeedbackRaw),
            "ultrafeedback-raw-margin" => Ok(Self::UltrafeedbackRawMargin),
            other => Err(format!(
                "unknown pair format `{other}` (expected hh-rlhf, trl, ultrafeedback, \
                 ultrafeedback-raw or ultrafeedback-raw-margin)"
            )),
        }
    }
}

/// One preference pair: a conversation so far, and a better and a worse assistant answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRecord {
    /// The turns before the answers (ends with a user turn).
    pub prompt: Vec<ChatMessage>,
    pub chosen: String,
    pub rejected: String,
    /// Scores that came with the row (UltraFeedback `score_chosen` / `score_rejected`).
    pub score_chosen: Option<f64>,
    pub score_rejected: Option<f64>,
    /// Other fields of the row.
    pub metadata: Map<String, Value>,
}

/// A bad row, with where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PairError {
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for PairError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}: field `{}`: {}", self.line, field, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

fn error(line: u64, field: Option<&str>, message: impl Into<String>) -> PairError {
    PairError {
        line,
        field: field.map(str::to_owned),
        message: message.into(),
    }
}

/// Splits "\n\nHuman: a\n\nAssistant: b…" into turns.
pub fn parse_transcript(text: &str) -> Vec<ChatMessage> {
    let mut turns = Vec::new();
    let mut rest = text;
    let mut role: Option<&str> = None;
    loop {
        let next_h = rest.find(HUMAN);
        let next_a = rest.find(ASSISTANT);
        let (at, marker, next_role) = match (next_h, next_a) {
            (Some(h), Some(a)) if h < a => (h, HUMAN, "user"),
            (Some(_), Some(a)) => (a, ASSISTANT, "assistant"),
            (Some(h), None) => (h, HUMAN, "user"),
            (None, Some(a)) => (a, ASSISTANT, "assistant"),
            (None, None) => {
                if let Some(r) = role {
                    turns.push(ChatMessage {
                        role: r.to_owned(),
                        content: rest.to_owned(),
                    });
                }
                return turns;
            }
        };
        if let Some(r) = role {
            turns.push(ChatMessage {
                role: r.to_owned(),
                content: rest[..at].to_owned(),
            });
        }
        role = Some(next_role);
        rest = &rest[at + marker.len()..];
    }
}

/// HH-RLHF row → pair: the prompt is the common prefix of both transcripts cut back to the last
/// "\n\nAssistant: "; the answers are what follows it.
pub fn from_hh_rlhf(line: u64, chosen: &str, rejected: &str) -> Result<PairRecord, PairError> {
    let common: usize = chosen
        .char_indices()
        .zip(rejected.chars())
        .take_while(|((_, a), b)| a == b)
        .map(|((_, a), _)| a.len_utf8())
        .sum();
    let shared = &chosen[..common];
    let cut = if shared.ends_with(ASSISTANT) {
        common
    } else {
        match shared.rfind(ASSISTANT) {
            Some(i) => i + ASSISTANT.len(),
            None => {
                return Err(error(
                    line,
                    Some("chosen"),
                    "the transcripts share no \"\\n\\nAssistant: \" turn",
                ))
            }
        }
    };
    let prompt = parse_transcript(&chosen[..cut - ASSISTANT.len()]);
    if !prompt.iter().any(|m| m.role == "user") {
        return Err(error(
            line,
            Some("chosen"),
            "no \"\\n\\nHuman: \" turn before the answers",
        ));
    }
    Ok(PairRecord {
        prompt,
        chosen: chosen[cut..].to_owned(),
        rejected: rejected[cut..].to_owned(),
        score_chosen: None,
        score_rejected: None,
        metadata: Map::new(),
    })
}

/// The HH-RLHF transcript of a prompt followed by one answer.
pub fn to_hh_transcript(prompt: &[ChatMessage], answer: &str) -> String {
    let mut out = String::new();
    for m in prompt {
        out.push_str(if m.role == "assistant" {
            ASSISTANT
        } else {
            HUMAN
        });
        out.push_str(&m.content);
    }
    out.push_str(ASSISTANT);
    out.push_str(answer);
    out
}

fn string_field(line: u64, row: &Map<String, Value>, field: &str) -> Result<String, PairError> {
    match row.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(error(line, Some(field), "expected a string")),
        None => Err(error(line, Some(field), "missing")),
    }
}

fn messages(line: u64, field: &str, value: &Value) -> Result<Vec<ChatMessage>, PairError> {
    let Value::Array(items) = value else {
        return Err(error(
            line,
            Some(field),
            "expected a list of {role, content} messages",
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            match (
                m.get("role").and_then(Value::as_str),
                m.get("content").and_then(Value::as_str),
            ) {
                (Some(role), Some(content)) => Ok(ChatMessage {
                    role: role.to_owned(),
                    content: content.to_owned(),
                }),
                _ => Err(error(
                    line,
                    Some(&format!("{field}[{i}]")),
                    "needs string `role` and `content`",
                )),
            }
        })
        .collect()
}

/// The final assistant answer of a conversational field, and the turns before it.
fn split_answer(
    line: u64,
    field: &str,
    value: &Value,
) -> Result<(Vec<ChatMessage>, String), PairError> {
    let mut turns = messages(line, field, value)?;
    match turns.pop() {
        Some(last) if last.role == "assistant" => Ok((turns, last.content)),
        _ => Err(error(
            line,
            Some(field),
            "must end with an assistant message",
        )),
    }
}

/// The pairs one JSON row makes: one for TRL, HH-RLHF and binarized UltraFeedback rows, none or
/// several for a raw UltraFeedback row.
pub fn records_from_json_row(
    line: u64,
    format: PairFormat,
    row: Value,
) -> Result<Vec<PairRecord>, PairError> {
    match format {
        PairFormat::UltrafeedbackRaw => ultrafeedback_raw(line, row, RatedPick::Extreme),
        PairFormat::UltrafeedbackRawMargin => ultrafeedback_raw(
            line,
            row,
            RatedPick::Margin {
                threshold: RATED_MARGIN_THRESHOLD,
            },
        ),
        _ => Ok(vec![from_json_row(line, format, row)?]),
    }
}

/// A completion's rating: its `fine-grained_score` where the row carries one, else the mean of
/// its aspect ratings (`annotations.<aspect>.Rating`, `N/A` skipped), else `overall_score`.
fn completion_rating(line: u64, i: usize, c: &Map<String, Value>) -> Result<f64, PairError> {
    let field = format!("completions[{i}]");
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    if let Some(r) = c.get("fine-grained_score").and_then(number) {
        return Ok(r);
    }
    if let Some(Value::Object(annotations)) = c.get("annotations") {
        let ratings: Vec<f64> = ULTRAFEEDBACK_ASPECTS
            .iter()
            .filter_map(|a| annotations.get(*a))
            .filter_map(|a| a.get("Rating").and_then(number))
            .collect();
        if !ratings.is_empty() {
            return Ok(ratings.iter().sum::<f64>() / ratings.len() as f64);
        }
    }
    c.get("overall_score").and_then(number).ok_or_else(|| {
        error(
            line,
            Some(&field),
            "has no rating (`fine-grained_score`, `annotations.<aspect>.Rating` or `overall_score`)",
        )
    })
}

/// A raw UltraFeedback row — `{"instruction", "completions": [{"model", "response",
/// "annotations": {aspect: {"Rating", "Rationale"}}, "fine-grained_score", "overall_score"}],
/// "source"}` — → the pairs `pick` makes from its completions by rating. Each pair's scores are
/// the two ratings; its metadata names the source, both models, both ratings' aspects and the pick.
pub fn ultrafeedback_raw(
    line: u64,
    row: Value,
    pick: RatedPick,
) -> Result<Vec<PairRecord>, PairError> {
    let Value::Object(row) = row else {
        return Err(error(line, None, "expected a JSON object"));
    };
    let prompt = match row.get("instruction").or_else(|| row.get("prompt")) {
        Some(Value::String(p)) if !p.trim().is_empty() => p.clone(),
        Some(_) => {
            return Err(error(
                line,
                Some("instruction"),
                "must be a non-empty string",
            ))
        }
        None => return Err(error(line, Some("instruction"), "missing")),
    };
    let Some(Value::Array(completions)) = row.get("completions") else {
        return Err(error(line, Some("completions"), "missing or not a list"));
    };
    let mut rated = Vec::new();
    for (i, c) in completions.iter().enumerate() {
        let Value::Object(c) = c else {
            return Err(error(
                line,
                Some(&format!("completions[{i}]")),
                "expected a JSON object",
            ));
        };
        let Some(Value::String(response)) = c.get("response") else {
            return Err(error(
                line,
                Some(&format!("completions[{i}].response")),
                "missing or not a string",
            ));
        };
        let model = c.get("model").and_then(Value::as_str).unwrap_or("");
        rated.push((
            response.clone(),
            model.to_owned(),
            completion_rating(line, i, c)?,
        ));
    }
    let scored: Vec<crate::strategy::Scored> = rated
        .iter()
        .enumerate()
        .map(|(i, r)| crate::strategy::Scored {
            id: i as i64,
            score: r.2,
        })
        .collect();
    let (choices, pick_name) = match pick {
        RatedPick::Extreme => (
            crate::strategy::extreme(&scored)
                .into_iter()
                .collect::<Vec<_>>(),
            "extreme",
        ),
        RatedPick::Margin { threshold } => (crate::strategy::margin(&scored, threshold), "margin"),
    };
    let source = row.get("source").cloned().unwrap_or(Value::Null);
    Ok(choices
        .into_iter()
        .filter(|c| rated[c.chosen as usize].0 != rated[c.rejected as usize].0)
        .map(|c| {
            let (chosen, rejected) = (&rated[c.chosen as usize], &rated[c.rejected as usize]);
            let mut metadata = Map::new();
            metadata.insert("source".into(), source.clone());
            metadata.insert(
                "ultrafeedback".into(),
                serde_json::json!({
                    "pick": pick_name,
                    "model_chosen": chosen.1,
                    "model_rejected": rejected.1,
                    "completions": rated.len(),
                }),
            );
            PairRecord {
                prompt: vec![ChatMessage {
                    role: "user".into(),
                    content: prompt.clone(),
                }],
                chosen: chosen.0.clone(),
                rejected: rejected.0.clone(),
                score_chosen: Some(chosen.2),
                score_rejected: Some(rejected.2),
                metadata,
            }
        })
        .collect())
}

/// One JSON row of a TRL or UltraFeedback file → pair (a raw UltraFeedback row: its extreme pair,
/// an error when its ratings all tie).
pub fn from_json_row(line: u64, format: PairFormat, row: Value) -> Result<PairRecord, PairError> {
    if !format.one_pair_per_row() {
        return records_from_json_row(line, format, row)?
            .into_iter()
            .next()
            .ok_or_else(|| error(line, Some("completions"), "all ratings tie: no pair"));
    }
    let Value::Object(mut row) = row else {
        return Err(error(line, None, "expected a JSON object"));
    };
    let mut pair = match format {
        PairFormat::HhRlhf => {
            let chosen = string_field(line, &row, "chosen")?;
            let rejected = string_field(line, &row, "rejected")?;
            from_hh_rlhf(line, &chosen, &rejected)?
        }
        PairFormat::Trl
        | PairFormat::Ultrafeedback
        | PairFormat::UltrafeedbackRaw
        | PairFormat::UltrafeedbackRawMargin => {
            let chosen = row
                .get("chosen")
                .cloned()
                .ok_or_else(|| error(line, Some("chosen"), "missing"))?;
            let rejected = row
                .get("rejected")
                .cloned()
                .ok_or_else(|| error(line, Some("rejected"), "missing"))?;
            match (&chosen, &rejected) {
                // TRL standard: strings, with an explicit prompt.
                (Value::String(c), Value::String(r)) => {
                    let prompt = string_field(line, &row, "prompt")?;
                    PairRecord {
                        prompt: vec![ChatMessage {
                            role: "user".into(),
                            content: prompt,
                        }],
                        chosen: c.clone(),
                        rejected: r.clone(),
                        score_chosen: None,
                        score_rejected: None,
                        metadata: Map::new(),
                    }
                }
                // Conversational (TRL) and UltraFeedback-binarized: message lists; the prompt is
                // either explicit or the turns before the last assistant answer (implicit prompt).
                (Value::Array(_), Value::Array(_)) => {
                    let (chosen_context, chosen) = split_answer(line, "chosen", &chosen)?;
                    let (rejected_context, rejected) = split_answer(line, "rejected", &rejected)?;
                    let prompt = match row.get("prompt") {
                        Some(Value::Array(_)) => messages(line, "prompt", &row["prompt"])?,
                        Some(Value::String(p)) if chosen_context.is_empty() => vec![ChatMessage {
                            role: "user".into(),
                            content: p.clone(),
                        }],
                        Some(Value::String(_)) => chosen_context.clone(),
                        _ => chosen_context.clone(),
                    };
                    if !chosen_context.is_empty() && chosen_context != rejected_context {
                        return Err(error(
                            line,
                            Some("rejected"),
                            "chosen and rejected have different conversation context",
                        ));
                    }
                    PairRecord {
                        prompt,
                        chosen,
                        rejected,
                        score_chosen: None,
                        score_rejected: None,
                        metadata: Map::new(),
                    }
                }
                _ => {
                    return Err(error(
                        line,
                        Some("chosen"),
                        "chosen and rejected must both be strings or both message lists",
                    ))
                }
            }
        }
    };
    if !pair.prompt.iter().any(|m| m.role == "user") {
        return Err(error(line, Some("prompt"), "has no user turn"));
    }
    if pair.chosen == pair.rejected {
        return Err(error(
            line,
            Some("rejected"),
            "is identical to `chosen` (a tie is not a pair)",
        ));
    }
    pair.score_chosen = row.get("score_chosen").and_then(Value::as_f64);
    pair.score_rejected = row.get("score_rejected").and_then(Value::as_f64);
    for key in [
        "prompt",
        "chosen",
        "rejected",
        "score_chosen",
        "score_rejected",
        "messages",
    ] {
        row.remove(key);
    }
    pair.metadata = row;
    Ok(pair)
}

/// sha256 of the canonical JSON of the normalized prompt turns, chosen and rejected: equal pairs
/// hash equal whatever their whitespace or source format.
/// The canonical JSON is `{"chosen":…,"prompt":[{"content":…,"role":…},…],"rejected":…}`,
/// compact, written straight into the hasher's buffer (no JSON tree per row).
pub fn pair_hash(prompt: &[ChatMessage], chosen: &str, rejected: &str) -> String {
    fn text(out: &mut Vec<u8>, s: &str) {
        serde_json::to_writer(out, s).expect("writing a string to memory cannot fail");
    }
    let mut canonical = Vec::with_capacity(64 + chosen.len() + rejected.len());
    canonical.extend_from_slice(br#"{"chosen":"#);
    text(&mut canonical, &normalized(chosen));
    canonical.extend_from_slice(br#","prompt":["#);
    for (i, m) in prompt.iter().enumerate() {
        if i > 0 {
            canonical.push(b',');
        }
        canonical.extend_from_slice(br#"{"content":"#);
        text(&mut canonical, &normalized(&m.content));
        canonical.extend_from_slice(br#","role":"#);
        text(&mut canonical, &m.role);
        canonical.push(b'}');
    }
    canonical.extend_from_slice(br#"],"rejected":"#);
    text(&mut canonical, &normalized(rejected));
    canonical.push(b'}');
    stable_hash(canonical)
}

#[cfg(test)]
mod tests {
    /// The tree-building definition the streaming hash must reproduce byte for byte.
    fn reference_hash(prompt: &[ChatMessage], chosen: &str, rejected: &str) -> String {
        let prompt: Vec<Value> = prompt
            .iter()
            .map(|m| serde_json::json!({"content": crate::normalize_text(&m.content), "role": m.role}))
            .collect();
        let canonical = serde_json::json!({
            "chosen": crate::normalize_text(chosen),
            "prompt": prompt,
            "rejected": crate::normalize_text(rejected),
        });
        stable_hash(canonical.to_string())
    }

    #[test]
    fn pair_hash_is_the_hash_of_the_canonical_json_tree() {
        let turn = |role: &str, content: &str| ChatMessage {
            role: role.into(),
            content: content.into(),
        };
        let cases: Vec<(Vec<ChatMessage>, &str, &str)> = vec![
            (vec![], "", ""),
            (vec![turn("user", "Hi")], "Hello!", "Go away."),
            (
                vec![
                    turn("system", "Be \"brief\"\\"),
                    turn("user", "  a\tb\n\nc "),
                ],
                "caf\u{e9}\u{1f600} </script>",
                "cafe\u{301} \u{0}\u{1f}\u{7f}",
            ),
            (
                vec![
                    turn("user", "q"),
                    turn("assistant", "x"),
                    turn("user", "\u{2028}y"),
                ],
                "line\u{a0}break",
                "tab\u{3000}ideographic",
            ),
        ];
        for (prompt, chosen, rejected) in cases {
            assert_eq!(
                pair_hash(&prompt, chosen, rejected),
                reference_hash(&prompt, chosen, rejected),
                "{prompt:?} {chosen:?} {rejected:?}"
            );
        }
    }

    /// A raw UltraFeedback row in the shape of openbmb/UltraFeedback: four rated completions.
    fn raw_row() -> Value {
        let completion = |model: &str, response: &str, ratings: [&str; 4]| {
            serde_json::json!({
                "model": model,
                "response": response,
                "annotations": {
                    "helpfulness": {"Rating": ratings[0], "Rationale": "…"},
                    "honesty": {"Rating": ratings[1], "Rationale": "…"},
                    "instruction_following": {"Rating": ratings[2], "Rationale": "…"},
                    "truthfulness": {"Rating": ratings[3], "Rationale": "…"},
                },
                "overall_score": 6.0,
                "critique": "…",
            })
        };
        serde_json::json!({
            "source": "evol_instruct",
            "instruction": "Name three primary colours.",
            "models": ["a", "b", "c", "d"],
            "completions": [
                completion("a", "Red, yellow and blue.", ["5", "5", "5", "5"]),
                completion("b", "Red, green, blue (light).", ["4", "5", "4", "N/A"]),
                completion("c", "Purple.", ["1", "2", "1", "1"]),
                completion("d", "Red, yellow, blue, I think.", ["4", "4", "4", "4"]),
            ],
        })
    }

    #[test]
    fn raw_ultrafeedback_rows_make_extreme_and_margin_pairs_by_mean_rating() {
        let extreme = records_from_json_row(3, PairFormat::UltrafeedbackRaw, raw_row()).unwrap();
        assert_eq!(extreme.len(), 1);
        let p = &extreme[0];
        assert_eq!(p.prompt[0].content, "Name three primary colours.");
        assert_eq!(
            (p.chosen.as_str(), p.rejected.as_str()),
            ("Red, yellow and blue.", "Purple.")
        );
        assert_eq!((p.score_chosen, p.score_rejected), (Some(5.0), Some(1.25)));
        assert_eq!(p.metadata["source"], "evol_instruct");
        assert_eq!(p.metadata["ultrafeedback"]["model_rejected"], "c");
        // Ratings 5, 4.33 (N/A skipped), 4, 1.25: neighbours closer than one point pair up.
        let margin =
            records_from_json_row(3, PairFormat::UltrafeedbackRawMargin, raw_row()).unwrap();
        let pairs: Vec<(&str, &str)> = margin
            .iter()
            .map(|p| (p.chosen.as_str(), p.rejected.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("Red, yellow and blue.", "Red, green, blue (light)."),
                ("Red, green, blue (light).", "Red, yellow, blue, I think."),
            ]
        );
        assert_eq!(
            "ultrafeedback-raw-margin".parse(),
            Ok(PairFormat::UltrafeedbackRawMargin)
        );
        // A tie everywhere makes no pair; a completion without a rating is named.
        let mut tie = raw_row();
        tie["completions"] = serde_json::json!([
            {"response": "x", "fine-grained_score": 3},
            {"response": "y", "fine-grained_score": 3},
        ]);
        assert!(
            records_from_json_row(1, PairFormat::UltrafeedbackRaw, tie.clone())
                .unwrap()
                .is_empty()
        );
        assert!(from_json_row(1, PairFormat::UltrafeedbackRaw, tie)
            .unwrap_err()
            .to_string()
            .contains("tie"));
        let mut unrated = raw_row();
        unrated["completions"][2] = serde_json::json!({"response": "z"});
        let e = records_from_json_row(9, PairFormat::UltrafeedbackRaw, unrated).unwrap_err();
        assert_eq!(
            e.to_string().split(':').take(2).collect::<Vec<_>>(),
            ["line 9", " field `completions[2]`"]
        );
        let mut nameless = raw_row();
        nameless.as_object_mut().unwrap().remove("instruction");
        let e = records_from_json_row(2, PairFormat::UltrafeedbackRaw, nameless).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("instruction"));
    }

    use super::*;

    #[test]
    fn hh_rlhf_prompts_are_the_shared_prefix_split_into_turns() {
        let chosen =
            "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: help me\n\nAssistant: Sure, here is how.";
        let rejected =
            "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: help me\n\nAssistant: Sure? No.";
        let pair = from_hh_rlhf(1, chosen, rejected).expect("pair");
        assert_eq!(pair.prompt.len(), 3);
        assert_eq!(
            (
                pair.prompt[0].role.as_str(),
                pair.prompt[0].content.as_str()
            ),
            ("user", "hi")
        );
        assert_eq!(
            (
                pair.prompt[1].role.as_str(),
                pair.prompt[1].content.as_str()
            ),
            ("assistant", "hello")
        );
        // The common prefix "Sure" is cut back to the turn boundary.
        assert_eq!(pair.chosen, "Sure, here is how.");
        assert_eq!(pair.rejected, "Sure? No.");
        assert_eq!(to_hh_transcript(&pair.prompt, &pair.chosen), chosen);
        assert_eq!(to_hh_transcript(&pair.prompt, &pair.rejected), rejected);
    }

    #[test]
    fn trl_standard_conversational_and_ultrafeedback_rows_read_alike() {
        let standard =
            serde_json::json!({"prompt": "2+2?", "chosen": "4", "rejected": "5", "source": "x"});
        let conversational = serde_json::json!({
            "prompt": [{"role": "user", "content": "2+2?"}],
            "chosen": [{"role": "assistant", "content": "4"}],
            "rejected": [{"role": "assistant", "content": "5"}]
        });
        let ultra = serde_json::json!({
            "prompt": "2+2?", "prompt_id": "abc",
            "chosen": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
            "rejected": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "5"}],
            "score_chosen": 9.0, "score_rejected": 2.5
        });
        let a = from_json_row(1, PairFormat::Trl, standard).expect("standard");
        let b = from_json_row(1, PairFormat::Trl, conversational).expect("conversational");
        let c = from_json_row(1, PairFormat::Ultrafeedback, ultra).expect("ultrafeedback");
        for p in [&a, &b, &c] {
            assert_eq!(
                pair_hash(&p.prompt, &p.chosen, &p.rejected),
                pair_hash(&a.prompt, &a.chosen, &a.rejected)
            );
        }
        assert_eq!(a.metadata.get("source"), Some(&Value::String("x".into())));
        assert_eq!((c.score_chosen, c.score_rejected), (Some(9.0), Some(2.5)));
        assert_eq!(
            c.metadata.get("prompt_id"),
            Some(&Value::String("abc".into()))
        );
    }

    #[test]
    fn bad_rows_name_line_and_field() {
        let cases = [
            (
                serde_json::json!({"prompt": "p", "chosen": "a"}),
                PairFormat::Trl,
                "rejected",
            ),
            (
                serde_json::json!({"prompt": "p", "chosen": "a", "rejected": "a"}),
                PairFormat::Trl,
                "rejected",
            ),
            (
                serde_json::json!({"prompt": "p", "chosen": "a", "rejected": 3}),
                PairFormat::Trl,
                "chosen",
            ),
            (
                serde_json::json!({"chosen": [{"role": "user", "content": "x"}], "rejected": [{"role": "assistant", "content": "y"}]}),
                PairFormat::Trl,
                "chosen",
            ),
            (
                serde_json::json!({"chosen": "no turns", "rejected": "at all"}),
                PairFormat::HhRlhf,
                "chosen",
            ),
        ];
        for (row, format, field) in cases {
            let e = from_json_row(7, format, row.clone()).expect_err("bad");
            assert_eq!((e.line, e.field.as_deref()), (7, Some(field)), "{row}: {e}");
        }
    }
}
