//! One judgment from the judge model: the JSON, probability-weighted and pairwise judges, and
//! merging a judged row into the stored judgment.

use super::{
    blocking, lock,
    prompts::{prompt_input, user_prompt},
    storable, SharedEngine,
};
use crate::error::{PipelineError, Result};
use pairwise_core::{
    judge::{self, JudgeMode, Winner},
    rubric::RubricSpec,
    ChatMessage,
};
use pairwise_inference::{
    chat_template::Message, remote::ChatOptions, DecodingParams, RemoteModel, Sampling,
};
use pairwise_store::judgments::NewJudgment;
use std::collections::BTreeMap;

/// What a judge runs on: the local engine, or a model behind an OpenAI-compatible server.
#[derive(Clone)]
pub(super) enum Backend {
    Local(SharedEngine),
    Remote(RemoteModel),
}

/// Which next-token log-probs a verdict reads: the rating digits 0–9, or the letters A and B.
#[derive(Clone, Copy)]
enum Labels {
    Digits,
    Ab,
}

impl Labels {
    fn texts(self) -> Vec<String> {
        match self {
            Labels::Digits => (0..10).map(|d| d.to_string()).collect(),
            Labels::Ab => vec!["A".into(), "B".into()],
        }
    }
}

impl Backend {
    /// The judge's version for provenance (content hash, or model@url).
    pub(super) fn version(&self) -> Result<String> {
        Ok(match self {
            Backend::Local(engine) => lock(engine)?.version().to_owned(),
            Backend::Remote(remote) => remote.version(),
        })
    }

    /// One completion of the conversation: the text, whether a stop string ended it, and the
    /// tokens generated.
    pub(super) async fn complete(
        &self,
        messages: Vec<ChatMessage>,
        params: DecodingParams,
    ) -> Result<(String, bool, i64)> {
        match self {
            Backend::Local(engine) => {
                let request = vec![params];
                let generation = blocking(engine, move |e| {
                    let input = prompt_input(e, &messages);
                    let ids = e.encode_prompt(&input)?;
                    e.generate(&ids, &request, |_| ())
                })
                .await?;
                let tokens = generation.generated_tokens as i64;
                Ok(generation
                    .candidates
                    .into_iter()
                    .next()
                    .map(|c| {
                        let stopped = c.finish_reason == pairwise_inference::FinishReason::Stop;
                        (c.text, stopped, tokens)
                    })
                    .unwrap_or_default())
            }
            Backend::Remote(remote) => {
                let messages: Vec<Message> = messages
                    .into_iter()
                    .map(|m| Message::new(m.role, m.content))
                    .collect();
                let c = remote
                    .chat(&messages, &params, &ChatOptions::default())
                    .await?;
                let choice = c.choices.into_iter().next().unwrap_or_else(|| {
                    pairwise_inference::remote::Choice {
                        text: String::new(),
                        finish_reason: String::new(),
                        logprobs: Vec::new(),
                    }
                });
                // "stop" is also a natural end; only an unclosed object was cut by the `}` stop.
                let open = choice.text.matches('{').count() > choice.text.matches('}').count();
                let stopped = choice.finish_reason == "stop" && open;
                Ok((choice.text, stopped, c.completion_tokens as i64))
            }
        }
    }

    /// A pointwise verdict's text: from a server, constrained to the rubric's JSON schema where
    /// it accepts `response_format` (then complete as it stands), else a plain completion that
    /// stops at the object's closing brace.
    async fn complete_scores(
        &self,
        messages: Vec<ChatMessage>,
        params: DecodingParams,
        spec: &RubricSpec,
    ) -> Result<(String, bool, i64)> {
        if let Backend::Remote(remote) = self {
            let turns: Vec<Message> = messages
                .iter()
                .map(|m| Message::new(m.role.clone(), m.content.clone()))
                .collect();
            let free = DecodingParams {
                stop: Vec::new(),
                ..params.clone()
            };
            if let Some(c) = remote
                .chat_json(&turns, &free, "rubric_scores", &spec.scores_schema())
                .await?
            {
                let text = c
                    .choices
                    .into_iter()
                    .next()
                    .map(|c| c.text)
                    .unwrap_or_default();
                return Ok((text, false, c.completion_tokens as i64));
            }
        }
        self.complete(messages, params).await
    }

    /// The log-probs of `labels` as the next token after the user turn `text`.
    async fn label_logprobs(
        &self,
        ids: &TokenIds,
        text: String,
        labels: Labels,
    ) -> Result<Vec<f32>> {
        match (self, ids) {
            (Backend::Local(engine), TokenIds::Local { digits, a, b }) => {
                let wanted: Vec<u32> = match labels {
                    Labels::Digits => digits.clone(),
                    Labels::Ab => vec![*a, *b],
                };
                blocking(engine, move |e| {
                    let input = user_prompt(e, text);
                    let prompt_ids = e.encode_prompt(&input)?;
                    let all = e.next_token_logprobs(&prompt_ids)?;
                    Ok(wanted
                        .iter()
                        .map(|&id| all.get(id as usize).copied().unwrap_or(f32::NEG_INFINITY))
                        .collect())
                })
                .await
            }
            (Backend::Remote(remote), _) => {
                let params = DecodingParams {
                    sampling: Sampling {
                        temperature: 0.0,
                        ..Sampling::default()
                    },
                    max_new_tokens: 1,
                    seed: 0,
                    stop: Vec::new(),
                };
                let options = ChatOptions {
                    top_logprobs: 20,
                    response_format: None,
                };
                let c = remote
                    .chat(&[Message::new("user", text)], &params, &options)
                    .await?;
                let top = c
                    .choices
                    .first()
                    .and_then(|ch| ch.logprobs.first())
                    .map(|t| t.top.clone())
                    .unwrap_or_default();
                if top.is_empty() {
                    return Err(PipelineError::invalid(
                        "mode",
                        "the model server returned no top_logprobs for the first answer token: \
                         this judge mode needs them (use --mode json)",
                    ));
                }
                // A label may come as several tokens (`A`, ` A`): their probabilities add up.
                Ok(labels
                    .texts()
                    .iter()
                    .map(|label| {
                        let p: f64 = top
                            .iter()
                            .filter(|(t, _)| t.trim() == label)
                            .map(|(_, lp)| lp.exp())
                            .sum();
                        if p > 0.0 {
                            p.ln() as f32
                        } else {
                            f32::NEG_INFINITY
                        }
                    })
                    .collect())
            }
            (Backend::Local(_), TokenIds::Remote) => Err(PipelineError::Internal(
                "local judge without its token ids".into(),
            )),
        }
    }
}

/// The judge tokenizer's single-token ids of the rating digits 0–9 and of the letters A and B
/// (a remote judge is read by the labels' text instead).
pub(super) enum TokenIds {
    Local { digits: Vec<u32>, a: u32, b: u32 },
    Remote,
}

impl TokenIds {
    pub(super) fn find(backend: &Backend, mode: JudgeMode) -> Result<Self> {
        let engine = match backend {
            Backend::Local(engine) => engine,
            Backend::Remote(_) => return Ok(Self::Remote),
        };
        let e = lock(engine)?;
        let single = |text: &str| -> Result<u32> {
            let ids = e.encode_text(text, false)?;
            match ids.as_slice() {
                [id] => Ok(*id),
                _ => Err(PipelineError::invalid(
                    "mode",
                    format!(
                        "the judge's tokenizer splits `{text}` into {} tokens; the {} judge needs \
                         single-token ratings (use --mode json)",
                        ids.len(),
                        mode.as_str()
                    ),
                )),
            }
        };
        Ok(Self::Local {
            digits: (0..10)
                .map(|d| single(&d.to_string()))
                .collect::<Result<_>>()?,
            a: single("A")?,
            b: single("B")?,
        })
    }
}

/// The judgment of an item: what identifies it (`base`) with what the judge answered.
pub(super) fn merge(base: NewJudgment, row: JudgedRow) -> NewJudgment {
    NewJudgment {
        scores: row.scores,
        overall: row.overall,
        winner_ab: row.winner_ab.map(|w| w.as_str().to_owned()),
        winner_ba: row.winner_ba.map(|w| w.as_str().to_owned()),
        consistent: row.consistent,
        parse_ok: row.parse_ok,
        attempts: row.attempts,
        raw_output: storable(row.raw_output),
        ..base
    }
}

#[derive(Debug, Default)]
pub(super) struct JudgedRow {
    scores: Option<BTreeMap<String, f64>>,
    pub(super) overall: Option<f64>,
    pub(super) winner_ab: Option<Winner>,
    pub(super) winner_ba: Option<Winner>,
    consistent: Option<bool>,
    parse_ok: bool,
    attempts: i32,
    pub(super) raw_output: String,
}

/// Generative JSON judge: one attempt, and one stricter retry after a parse failure. A second
/// failure is stored with both raw outputs (parse_ok = false), never an error.
pub(super) async fn judge_json(
    backend: &Backend,
    spec: &RubricSpec,
    request: &str,
    answer: &str,
    max_new_tokens: u32,
    seed: u64,
) -> Result<(JudgedRow, i64)> {
    // Scores are a flat object: stop at its closing brace (kept below), so a chatty judge does
    // not run out of tokens in the middle of invented extra keys.
    let params = DecodingParams {
        sampling: Sampling {
            temperature: spec.temperature,
            ..Sampling::default()
        },
        max_new_tokens,
        seed,
        stop: vec!["}".into()],
    };
    let first_prompt = spec.render_pointwise(request, answer);
    let mut conversation = vec![ChatMessage {
        role: "user".into(),
        content: first_prompt,
    }];
    let mut raw_outputs = Vec::new();
    let mut tokens = 0i64;
    for attempt in 1..=2 {
        let (text, stopped, used) = backend
            .complete_scores(conversation.clone(), params.clone(), spec)
            .await?;
        tokens += used;
        let text = if stopped { text + "}" } else { text };
        raw_outputs.push(text.clone());
        match judge::parse_scores(&text, spec) {
            Ok(scores) => {
                return Ok((
                    JudgedRow {
                        overall: spec.overall(&scores),
                        scores: Some(scores),
                        parse_ok: true,
                        attempts: attempt,
                        raw_output: raw_outputs.join("\n---\n"),
                        ..Default::default()
                    },
                    tokens,
                ))
            }
            Err(failure) => {
                conversation.push(ChatMessage {
                    role: "assistant".into(),
                    content: text,
                });
                conversation.push(ChatMessage {
                    role: "user".into(),
                    content: judge::retry_instruction(spec, &failure),
                });
            }
        }
    }
    Ok((
        JudgedRow {
            parse_ok: false,
            attempts: 2,
            raw_output: raw_outputs.join("\n---\n"),
            ..Default::default()
        },
        tokens,
    ))
}

/// Probability-weighted judge: per dimension, the expected digit rating under the judge's
/// next-token distribution, scaled to 0–1. It cannot fail to parse.
pub(super) async fn judge_prob(
    backend: &Backend,
    spec: &RubricSpec,
    ids: &TokenIds,
    request: &str,
    answer: &str,
) -> Result<JudgedRow> {
    let mut scores = BTreeMap::new();
    let mut raw = serde_json::Map::new();
    for d in &spec.dimensions {
        let text = spec.render_rating(d, request, answer);
        let logprobs = backend.label_logprobs(ids, text, Labels::Digits).await?;
        let score = judge::expected_rating(&logprobs).unwrap_or(0.5);
        scores.insert(d.name.clone(), score);
        raw.insert(d.name.clone(), serde_json::json!(logprobs));
    }
    Ok(JudgedRow {
        overall: spec.overall(&scores),
        scores: Some(scores),
        parse_ok: true,
        attempts: 1,
        raw_output: serde_json::Value::Object(raw).to_string(),
        ..Default::default()
    })
}

/// Pairwise judge in both orders from the next-token probabilities of the letters A and B.
pub(super) async fn judge_pairwise(
    backend: &Backend,
    spec: &RubricSpec,
    ids: &TokenIds,
    request: &str,
    first: &str,
    second: &str,
) -> Result<JudgedRow> {
    let orders = [
        (spec.render_pairwise(request, first, second), false),
        (spec.render_pairwise(request, second, first), true),
    ];
    let mut verdicts = Vec::new();
    let mut raw = serde_json::Map::new();
    for (text, swapped) in orders {
        let ab = backend.label_logprobs(ids, text, Labels::Ab).await?;
        let (la, lb) = (ab[0], ab[1]);
        let (pa, pb) = (f64::from(la).exp(), f64::from(lb).exp());
        verdicts.push(judge::verdict(pa, pb, swapped));
        raw.insert(
            if swapped { "ba" } else { "ab" }.into(),
            serde_json::json!({"A": pa, "B": pb}),
        );
    }
    let (ab, ba) = (verdicts[0], verdicts[1]);
    Ok(JudgedRow {
        winner_ab: Some(ab),
        winner_ba: Some(ba),
        consistent: Some(judge::consistent(ab, ba)),
        parse_ok: true,
        attempts: 1,
        raw_output: serde_json::Value::Object(raw).to_string(),
        ..Default::default()
    })
}

/// Whether a judge reads `answer` to `request` as a refusal (letter B over A, from their
/// next-token probabilities) and the probability it gives B.
pub(super) async fn judge_refusal(
    backend: &Backend,
    ids: &TokenIds,
    request: &str,
    answer: &str,
) -> Result<(bool, f64)> {
    let text = pairwise_core::refusal::judge_prompt(request, answer);
    let ab = backend.label_logprobs(ids, text, Labels::Ab).await?;
    let (pa, pb) = (f64::from(ab[0]).exp(), f64::from(ab[1]).exp());
    let total = pa + pb;
    let p_refuse = if total > 0.0 { pb / total } else { 0.5 };
    Ok((pb > pa, p_refuse))
}
