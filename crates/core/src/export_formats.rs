//! Export rows for DPO/KTO trainers: TRL standard, TRL conversational, TRL implicit prompt,
//! HH-RLHF transcripts and unpaired KTO, each carrying a `metadata` object. Rows are built as
//! ordered JSON so the same pair always serialises to the same bytes.

use crate::{pair_formats::to_hh_transcript, ChatMessage};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::{fmt, str::FromStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFormat {
    /// `{"prompt": str, "chosen": str, "rejected": str}` (the last user turn; earlier turns in a
    /// chat template are not flattened, so multi-turn pairs prefer the conversational format).
    Trl,
    /// `{"prompt": [messages], "chosen": [assistant], "rejected": [assistant]}`.
    TrlConversational,
    /// `{"chosen": [prompt + assistant], "rejected": [prompt + assistant]}`.
    TrlImplicit,
    /// `{"chosen": "\n\nHuman: …\n\nAssistant: …", "rejected": …}`.
    HhRlhf,
    /// Two unpaired rows per pair: `{"prompt", "completion", "label": true|false}`.
    Kto,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 5] = [
        Self::Trl,
        Self::TrlConversational,
        Self::TrlImplicit,
        Self::HhRlhf,
        Self::Kto,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trl => "trl",
            Self::TrlConversational => "trl-conversational",
            Self::TrlImplicit => "trl-implicit",
            Self::HhRlhf => "hh-rlhf",
            Self::Kto => "kto",
        }
    }

    /// Rows written per pair.
    pub fn rows_per_pair(self) -> usize {
        if self == Self::Kto {
            2
        } else {
            1
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| format!("unknown export format `{s}` (expected trl, trl-conversational, trl-implicit, hh-rlhf or kto)"))
    }
}

/// What an exported row needs to know about its pair.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportPair<'a> {
    pub prompt: &'a [ChatMessage],
    pub chosen: &'a str,
    pub rejected: &'a str,
    pub metadata: &'a Value,
}

fn messages(prompt: &[ChatMessage]) -> Vec<Value> {
    prompt
        .iter()
        .map(|m| json!({"role": m.role, "content": m.content}))
        .collect()
}

fn with_answer(prompt: &[ChatMessage], answer: &str) -> Vec<Value> {
    let mut all = messages(prompt);
    all.push(json!({"role": "assistant", "content": answer}));
    all
}

fn last_user(prompt: &[ChatMessage]) -> &str {
    prompt
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map_or("", |m| m.content.as_str())
}

/// The rows of one pair in `format`.
pub fn export_rows(format: ExportFormat, pair: &ExportPair<'_>) -> Vec<Value> {
    let meta = pair.metadata.clone();
    match format {
        ExportFormat::Trl => {
            vec![
                json!({"prompt": last_user(pair.prompt), "chosen": pair.chosen, "rejected": pair.rejected, "metadata": meta}),
            ]
        }
        ExportFormat::TrlConversational => vec![json!({
            "prompt": messages(pair.prompt),
            "chosen": [{"role": "assistant", "content": pair.chosen}],
            "rejected": [{"role": "assistant", "content": pair.rejected}],
            "metadata": meta,
        })],
        ExportFormat::TrlImplicit => vec![json!({
            "chosen": with_answer(pair.prompt, pair.chosen),
            "rejected": with_answer(pair.prompt, pair.rejected),
            "metadata": meta,
        })],
        ExportFormat::HhRlhf => vec![json!({
            "chosen": to_hh_transcript(pair.prompt, pair.chosen),
            "rejected": to_hh_transcript(pair.prompt, pair.rejected),
            "metadata": meta,
        })],
        ExportFormat::Kto => vec![
            json!({"prompt": messages(pair.prompt), "completion": [{"role": "assistant", "content": pair.chosen}], "label": true, "metadata": meta}),
            json!({"prompt": messages(pair.prompt), "completion": [{"role": "assistant", "content": pair.rejected}], "label": false, "metadata": meta}),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_writes_its_documented_shape() {
        let prompt = vec![ChatMessage {
            role: "user".into(),
            content: "2+2?".into(),
        }];
        let meta = json!({"pair_id": 1});
        let pair = ExportPair {
            prompt: &prompt,
            chosen: "4",
            rejected: "5",
            metadata: &meta,
        };
        let trl = &export_rows(ExportFormat::Trl, &pair)[0];
        assert_eq!(
            trl.to_string(),
            r#"{"prompt":"2+2?","chosen":"4","rejected":"5","metadata":{"pair_id":1}}"#
        );
        let conv = &export_rows(ExportFormat::TrlConversational, &pair)[0];
        assert_eq!(conv["chosen"][0]["role"], "assistant");
        let implicit = &export_rows(ExportFormat::TrlImplicit, &pair)[0];
        assert_eq!(implicit["rejected"][1]["content"], "5");
        assert!(implicit.get("prompt").is_none());
        let hh = &export_rows(ExportFormat::HhRlhf, &pair)[0];
        assert_eq!(hh["chosen"], "\n\nHuman: 2+2?\n\nAssistant: 4");
        let kto = export_rows(ExportFormat::Kto, &pair);
        assert_eq!(
            (
                kto.len(),
                kto[0]["label"].as_bool(),
                kto[1]["label"].as_bool()
            ),
            (2, Some(true), Some(false))
        );
        for f in ExportFormat::ALL {
            assert_eq!(f.as_str().parse::<ExportFormat>(), Ok(f));
        }
    }
}
