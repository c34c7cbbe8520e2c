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
use pairwise_inference::{DecodingParams, Sampling};
use pairwise_store::judgments::NewJudgment;
use std::collections::BTreeMap;

/// The judge tokenizer's single-token ids of the rating digits 0–9 and of the letters A and B.
pub(super) struct TokenIds {
    digits: Vec<u32>,
    a: u32,
    b: u32,
}

impl TokenIds {
    pub(super) fn find(engine: &SharedEngine, mode: JudgeMode) -> Result<Self> {
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
        Ok(Self {
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
    overall: Option<f64>,
    winner_ab: Option<Winner>,
    winner_ba: Option<Winner>,
    consistent: Option<bool>,
    parse_ok: bool,
    attempts: i32,
    raw_output: String,
}

/// Generative JSON judge: one attempt, and one stricter retry after a parse failure. A second
/// failure is stored with both raw outputs (parse_ok = false), never an error.
pub(super) async fn judge_json(
    engine: &SharedEngine,
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
        let messages = conversation.clone();
        let request_params = vec![params.clone()];
        let generation = blocking(engine, move |e| {
            let input = prompt_input(e, &messages);
            let ids = e.encode_prompt(&input)?;
            e.generate(&ids, &request_params, |_| ())
        })
        .await?;
        tokens += generation.generated_tokens as i64;
        let text = generation
            .candidates
            .into_iter()
            .next()
            .map(|c| match c.finish_reason {
                pairwise_inference::FinishReason::Stop => c.text + "}",
                _ => c.text,
            })
            .unwrap_or_default();
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
    engine: &SharedEngine,
    spec: &RubricSpec,
    ids: &TokenIds,
    request: &str,
    answer: &str,
) -> Result<JudgedRow> {
    let mut scores = BTreeMap::new();
    let mut raw = serde_json::Map::new();
    for d in &spec.dimensions {
        let text = spec.render_rating(d, request, answer);
        let digits = ids.digits.clone();
        let logprobs = blocking(engine, move |e| {
            let input = user_prompt(e, text);
            let prompt_ids = e.encode_prompt(&input)?;
            let all = e.next_token_logprobs(&prompt_ids)?;
            Ok(digits
                .iter()
                .map(|&id| all.get(id as usize).copied().unwrap_or(f32::NEG_INFINITY))
                .collect::<Vec<f32>>())
        })
        .await?;
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
    engine: &SharedEngine,
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
        let (a, b) = (ids.a, ids.b);
        let (la, lb) = blocking(engine, move |e| {
            let input = user_prompt(e, text);
            let prompt_ids = e.encode_prompt(&input)?;
            let all = e.next_token_logprobs(&prompt_ids)?;
            let at = |id: u32| all.get(id as usize).copied().unwrap_or(f32::NEG_INFINITY);
            Ok((at(a), at(b)))
        })
        .await?;
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
