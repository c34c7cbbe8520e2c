//! Preference-pair formats: reading HH-RLHF transcripts, TRL standard / conversational and
//! UltraFeedback-binarized rows into one shape, and the stable pair hash. HH-RLHF prompts are the
//! shared prefix up to the last "\n\nAssistant:", split into turns, as TRL's
//! `examples/datasets/hh-rlhf-helpful-base.py` (`extract_dialogue`) does.

use crate::{hash::normalize_text, stable_hash, ChatMessage};
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
}

impl FromStr for PairFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hh-rlhf" | "hh" => Ok(Self::HhRlhf),
            "trl" => Ok(Self::Trl),
            "ultrafeedback" => Ok(Self::Ultrafeedback),
            other => Err(format!(
                "unknown pair format `{other}` (expected hh-rlhf, trl or ultrafeedback)"
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

/// One JSON row of a TRL or UltraFeedback file → pair.
pub fn from_json_row(line: u64, format: PairFormat, row: Value) -> Result<PairRecord, PairError> {
    let Value::Object(mut row) = row else {
        return Err(error(line, None, "expected a JSON object"));
    };
    let mut pair = match format {
        PairFormat::HhRlhf => {
            let chosen = string_field(line, &row, "chosen")?;
            let rejected = string_field(line, &row, "rejected")?;
            from_hh_rlhf(line, &chosen, &rejected)?
        }
        PairFormat::Trl | PairFormat::Ultrafeedback => {
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
pub fn pair_hash(prompt: &[ChatMessage], chosen: &str, rejected: &str) -> String {
    let prompt: Vec<Value> = prompt
        .iter()
        .map(|m| serde_json::json!({"content": normalize_text(&m.content), "role": m.role}))
        .collect();
    let canonical = serde_json::json!({
        "chosen": normalize_text(chosen),
        "prompt": prompt,
        "rejected": normalize_text(rejected),
    });
    stable_hash(canonical.to_string())
}

#[cfg(test)]
mod tests {
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
