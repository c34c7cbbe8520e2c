//! Export rows for DPO/KTO trainers: TRL standard, TRL conversational, TRL implicit prompt,
//! HH-RLHF transcripts and unpaired KTO, each carrying a `metadata` object. Rows are built as
//! ordered JSON so the same pair always serialises to the same bytes.

use crate::{pair_formats::to_hh_transcript, ChatMessage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
    /// TRL's stepwise process supervision: two rows per pair, `{"prompt", "completions":
    /// [steps], "labels": [bool per step]}` — the chosen answer's steps (all `true`) and the
    /// rejected answer's steps labelled under the first-error convention. Pairs from the math
    /// builder carry their steps; any other pair is one step per answer (outcome supervision).
    TrlStepwise,
    /// Chosen-only supervised rows, TRL's conversational SFT shape: `{"messages": [prompt turns
    /// + the chosen answer]}` — an NLL term on the chosen answers beside DPO (RPO), or SFT data.
    Sft,
    /// One row per prompt for reward-model training: `{"prompt": [messages], "completions":
    /// [answers, strongest first], "strengths": [Bradley–Terry log-strengths], "metadata"}`,
    /// written per prompt by [`write_listwise`] (not per pair).
    Listwise,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 8] = [
        Self::Trl,
        Self::TrlConversational,
        Self::TrlImplicit,
        Self::HhRlhf,
        Self::Kto,
        Self::TrlStepwise,
        Self::Sft,
        Self::Listwise,
    ];

    /// The formats that write rows per pair (all but listwise, which writes one per prompt).
    pub const PER_PAIR: [ExportFormat; 7] = [
        Self::Trl,
        Self::TrlConversational,
        Self::TrlImplicit,
        Self::HhRlhf,
        Self::Kto,
        Self::TrlStepwise,
        Self::Sft,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trl => "trl",
            Self::TrlConversational => "trl-conversational",
            Self::TrlImplicit => "trl-implicit",
            Self::HhRlhf => "hh-rlhf",
            Self::Kto => "kto",
            Self::TrlStepwise => "trl-stepwise",
            Self::Sft => "sft",
            Self::Listwise => "listwise",
        }
    }

    /// Rows written per pair (listwise writes one per prompt, none per pair).
    pub fn rows_per_pair(self) -> usize {
        match self {
            Self::Kto | Self::TrlStepwise => 2,
            Self::Listwise => 0,
            _ => 1,
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
            .ok_or_else(|| format!("unknown export format `{s}` (expected trl, trl-conversational, trl-implicit, hh-rlhf, kto, trl-stepwise, sft or listwise)"))
    }
}

/// What an exported row needs to know about its pair; `metadata` is any serialisable object
/// (the exporter passes a borrowed struct so rows are written without building JSON trees).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportPair<'a, M: Serialize> {
    pub prompt: &'a [ChatMessage],
    pub chosen: &'a str,
    pub rejected: &'a str,
    pub metadata: &'a M,
    /// The answers' steps and the rejected steps' labels, where the pair has them.
    pub steps: Option<Steps<'a>>,
}

/// The steps of a pair for process supervision, as the math builder stores them in a pair's
/// metadata: `{"stepwise": {"chosen": [..], "rejected": [..], "labels": [..]}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Steps<'a> {
    pub chosen: Vec<&'a str>,
    pub rejected: Vec<&'a str>,
    /// One per rejected step.
    pub labels: Vec<bool>,
}

impl<'a> Steps<'a> {
    /// The steps in a pair's metadata object, if it has well-formed ones.
    pub fn from_metadata(metadata: &'a serde_json::Map<String, Value>) -> Option<Self> {
        let s = metadata.get("stepwise")?;
        let texts = |key: &str| -> Option<Vec<&'a str>> {
            s.get(key)?.as_array()?.iter().map(Value::as_str).collect()
        };
        let labels: Vec<bool> = s
            .get("labels")?
            .as_array()?
            .iter()
            .map(Value::as_bool)
            .collect::<Option<_>>()?;
        let steps = Steps {
            chosen: texts("chosen")?,
            rejected: texts("rejected")?,
            labels,
        };
        (steps.rejected.len() == steps.labels.len() && !steps.chosen.is_empty()).then_some(steps)
    }
}

#[derive(Serialize)]
struct Msg<'a> {
    role: &'a str,
    content: &'a str,
}

fn turns(prompt: &[ChatMessage]) -> Vec<Msg<'_>> {
    prompt
        .iter()
        .map(|m| Msg {
            role: &m.role,
            content: &m.content,
        })
        .collect()
}

fn with_answer<'a>(prompt: &'a [ChatMessage], answer: &'a str) -> Vec<Msg<'a>> {
    let mut all = turns(prompt);
    all.push(Msg {
        role: "assistant",
        content: answer,
    });
    all
}

#[derive(Serialize)]
struct Standard<'a, M> {
    prompt: &'a str,
    chosen: &'a str,
    rejected: &'a str,
    metadata: &'a M,
}

#[derive(Serialize)]
struct Conversational<'a, M> {
    prompt: Vec<Msg<'a>>,
    chosen: [Msg<'a>; 1],
    rejected: [Msg<'a>; 1],
    metadata: &'a M,
}

#[derive(Serialize)]
struct Implicit<'a, M> {
    chosen: Vec<Msg<'a>>,
    rejected: Vec<Msg<'a>>,
    metadata: &'a M,
}

#[derive(Serialize)]
struct Transcripts<'a, M> {
    chosen: String,
    rejected: String,
    metadata: &'a M,
}

#[derive(Serialize)]
struct Stepwise<'a, M> {
    prompt: &'a str,
    completions: Vec<&'a str>,
    labels: Vec<bool>,
    metadata: &'a M,
}

#[derive(Serialize)]
struct Supervised<'a, M> {
    messages: Vec<Msg<'a>>,
    metadata: &'a M,
}

#[derive(Serialize)]
struct Unpaired<'a, M> {
    prompt: Vec<Msg<'a>>,
    completion: [Msg<'a>; 1],
    label: bool,
    metadata: &'a M,
}

/// Writes the rows of one pair in `format` as JSON lines; returns how many.
pub fn write_rows<W: std::io::Write, M: Serialize>(
    out: &mut W,
    format: ExportFormat,
    pair: &ExportPair<'_, M>,
) -> serde_json::Result<usize> {
    let assistant = |content| {
        [Msg {
            role: "assistant",
            content,
        }]
    };
    let mut line = |row: &dyn erased::Row| -> serde_json::Result<()> {
        row.write(out)?;
        out.write_all(b"\n").map_err(serde_json::Error::io)
    };
    let meta = pair.metadata;
    match format {
        ExportFormat::Trl => {
            line(&Standard {
                prompt: ChatMessage::last_user(pair.prompt).map_or("", |m| m.content.as_str()),
                chosen: pair.chosen,
                rejected: pair.rejected,
                metadata: meta,
            })?;
        }
        ExportFormat::TrlConversational => {
            line(&Conversational {
                prompt: turns(pair.prompt),
                chosen: assistant(pair.chosen),
                rejected: assistant(pair.rejected),
                metadata: meta,
            })?;
        }
        ExportFormat::TrlImplicit => {
            line(&Implicit {
                chosen: with_answer(pair.prompt, pair.chosen),
                rejected: with_answer(pair.prompt, pair.rejected),
                metadata: meta,
            })?;
        }
        ExportFormat::HhRlhf => {
            line(&Transcripts {
                chosen: to_hh_transcript(pair.prompt, pair.chosen),
                rejected: to_hh_transcript(pair.prompt, pair.rejected),
                metadata: meta,
            })?;
        }
        ExportFormat::Kto => {
            line(&Unpaired {
                prompt: turns(pair.prompt),
                completion: assistant(pair.chosen),
                label: true,
                metadata: meta,
            })?;
            line(&Unpaired {
                prompt: turns(pair.prompt),
                completion: assistant(pair.rejected),
                label: false,
                metadata: meta,
            })?;
        }
        ExportFormat::TrlStepwise => {
            let prompt = ChatMessage::last_user(pair.prompt).map_or("", |m| m.content.as_str());
            let (chosen, rejected, labels) = match &pair.steps {
                Some(s) => (s.chosen.clone(), s.rejected.clone(), s.labels.clone()),
                None => (vec![pair.chosen], vec![pair.rejected], vec![false]),
            };
            line(&Stepwise {
                prompt,
                labels: vec![true; chosen.len()],
                completions: chosen,
                metadata: meta,
            })?;
            line(&Stepwise {
                prompt,
                completions: rejected,
                labels,
                metadata: meta,
            })?;
        }
        ExportFormat::Sft => {
            line(&Supervised {
                messages: with_answer(pair.prompt, pair.chosen),
                metadata: meta,
            })?;
        }
        // One row per prompt, by `write_listwise`.
        ExportFormat::Listwise => {}
    }
    Ok(format.rows_per_pair())
}

#[derive(Serialize)]
struct Listwise<'a, M> {
    prompt: Vec<Msg<'a>>,
    completions: &'a [&'a str],
    strengths: &'a [f64],
    metadata: &'a M,
}

/// Writes one listwise row: a prompt's answers, strongest first, with their strengths.
pub fn write_listwise<W: std::io::Write, M: Serialize>(
    out: &mut W,
    prompt: &[ChatMessage],
    completions: &[&str],
    strengths: &[f64],
    metadata: &M,
) -> serde_json::Result<()> {
    serde_json::to_writer(
        &mut *out,
        &Listwise {
            prompt: turns(prompt),
            completions,
            strengths,
            metadata,
        },
    )?;
    out.write_all(b"\n").map_err(serde_json::Error::io)
}

/// A prompt's answers ranked from its pairs (each pair one win of its chosen answer over its
/// rejected one): `(answer index, log-strength)` strongest first, by Bradley–Terry with the
/// ranked strategy's prior (a prompt's best answer usually never loses). Equal strengths keep
/// the answers' order of first appearance.
pub fn rank_answers(answers: usize, pairs: &[(usize, usize)]) -> Vec<(usize, f64)> {
    use crate::ranking::{bradley_terry, Comparison, Winner};
    let comparisons: Vec<Comparison> = pairs
        .iter()
        .filter(|(c, r)| c != r)
        .map(|&(a, b)| Comparison {
            a,
            b,
            winner: Winner::A,
        })
        .collect();
    let strengths = bradley_terry(answers, &comparisons, crate::strategy::DEFAULT_RANK_ALPHA)
        .unwrap_or_else(|_| vec![0.0; answers]);
    let mut out: Vec<(usize, f64)> = strengths.into_iter().enumerate().collect();
    out.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    out
}

/// Object-safe "write yourself as JSON", so one closure writes every row shape.
mod erased {
    pub trait Row {
        fn write(&self, out: &mut dyn std::io::Write) -> serde_json::Result<()>;
    }

    impl<T: serde::Serialize> Row for T {
        fn write(&self, out: &mut dyn std::io::Write) -> serde_json::Result<()> {
            serde_json::to_writer(out, self)
        }
    }
}

/// The rows of one pair as JSON values (tests and small callers).
pub fn export_rows<M: Serialize>(format: ExportFormat, pair: &ExportPair<'_, M>) -> Vec<Value> {
    let mut out = Vec::new();
    if write_rows(&mut out, format, pair).is_err() {
        return Vec::new();
    }
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
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
        let meta = serde_json::json!({"pair_id": 1});
        let pair = ExportPair {
            prompt: &prompt,
            chosen: "4",
            rejected: "5",
            metadata: &meta,
            steps: None,
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
        let outcome = export_rows(ExportFormat::TrlStepwise, &pair);
        assert_eq!(
            outcome[1].to_string(),
            r#"{"prompt":"2+2?","completions":["5"],"labels":[false],"metadata":{"pair_id":1}}"#
        );
        let sft = &export_rows(ExportFormat::Sft, &pair)[0];
        assert_eq!(
            sft.to_string(),
            r#"{"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}],"metadata":{"pair_id":1}}"#
        );
        for f in ExportFormat::ALL {
            assert_eq!(f.as_str().parse::<ExportFormat>(), Ok(f));
        }
    }

    #[test]
    fn stepwise_rows_carry_the_builder_steps() {
        let prompt = vec![ChatMessage {
            role: "user".into(),
            content: "q".into(),
        }];
        let meta = serde_json::json!({"stepwise": {
            "chosen": ["a=<<1+1=2>>2", "#### 2"],
            "rejected": ["a=<<1+1=3>>3", "#### 3"],
            "labels": [false, false],
        }});
        let map = meta.as_object().unwrap();
        let pair = ExportPair {
            prompt: &prompt,
            chosen: "a=<<1+1=2>>2\n#### 2",
            rejected: "a=<<1+1=3>>3\n#### 3",
            metadata: &meta,
            steps: Steps::from_metadata(map),
        };
        let rows = export_rows(ExportFormat::TrlStepwise, &pair);
        assert_eq!(rows[0]["labels"], serde_json::json!([true, true]));
        assert_eq!(rows[1]["completions"][1], "#### 3");
        assert_eq!(rows[1]["labels"], serde_json::json!([false, false]));
        // Malformed steps (labels not matching) fall back to whole answers.
        let bad =
            serde_json::json!({"stepwise": {"chosen": ["x"], "rejected": ["y"], "labels": []}});
        assert!(Steps::from_metadata(bad.as_object().unwrap()).is_none());
    }
}
