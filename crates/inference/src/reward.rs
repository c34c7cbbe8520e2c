//! A reward model: an ONNX sequence classifier (the optimum `*ForSequenceClassification` export:
//! inputs `input_ids`, `attention_mask`; output `logits` `[batch, labels]`) that gives one scalar
//! per (prompt, answer). The conversation is rendered with the model's chat template, the answer
//! as the assistant turn; the score is the first logit.

use crate::{
    chat_template::Message,
    error::{InferenceError, Result},
    model::ModelDir,
    onnx::build_session,
    runtime::{Device, Provider},
};
use ndarray::Array2;
use ort::{session::Session, value::Tensor};
use std::path::Path;

/// Most rows per batch.
const BATCH: usize = 8;

pub struct RewardModel {
    pub dir: ModelDir,
    session: Session,
    provider: Provider,
    pad_id: u32,
}

impl RewardModel {
    pub fn load(path: impl AsRef<Path>, device: Device, threads: usize) -> Result<Self> {
        let dir = ModelDir::open(path)?;
        let (session, provider) = build_session(&dir.model_file, device, threads)?;
        let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for needed in ["input_ids", "attention_mask"] {
            if !inputs.contains(&needed) {
                return Err(InferenceError::Malformed {
                    file: dir.model_file.clone(),
                    message: format!("a reward model needs a `{needed}` input"),
                });
            }
        }
        if inputs.iter().any(|n| n.starts_with("past_key_values")) {
            return Err(InferenceError::Malformed {
                file: dir.model_file.clone(),
                message: "this graph is a causal decoder (it takes past_key_values), not a \
                          sequence classifier: register it as a generator, judge or reference"
                    .into(),
            });
        }
        if !session.outputs().iter().any(|o| o.name() == "logits") {
            return Err(InferenceError::Malformed {
                file: dir.model_file.clone(),
                message: "a reward model needs a `logits` output".into(),
            });
        }
        let pad_id = dir.config.eos_token_ids.first().copied().unwrap_or(0);
        Ok(Self {
            dir,
            session,
            provider,
            pad_id,
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    pub fn version(&self) -> &str {
        &self.dir.version
    }

    /// The token ids of a conversation ending with the assistant's `answer`.
    pub fn encode(&self, conversation: &[Message], answer: &str) -> Result<Vec<u32>> {
        let (text, add_special) = match &self.dir.chat_template {
            Some(template) => {
                let mut messages = conversation.to_vec();
                messages.push(Message::new("assistant", answer));
                (
                    template.render(&messages, false, &Default::default())?,
                    false,
                )
            }
            None => {
                let prompt = conversation
                    .iter()
                    .map(|m| m.content.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                (format!("{prompt}\n{answer}"), true)
            }
        };
        let encoding = self
            .dir
            .tokenizer
            .encode(text, add_special)
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Scores right-padded batches of token id sequences: the first logit of each.
    pub fn score_ids(&mut self, sequences: &[Vec<u32>]) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(sequences.len());
        for batch in sequences.chunks(BATCH) {
            let width = batch.iter().map(Vec::len).max().unwrap_or(0).max(1);
            let rows = batch.len();
            let mut ids = Array2::<i64>::from_elem((rows, width), i64::from(self.pad_id));
            let mut mask = Array2::<i64>::zeros((rows, width));
            for (r, seq) in batch.iter().enumerate() {
                for (c, &id) in seq.iter().enumerate() {
                    ids[(r, c)] = i64::from(id);
                    mask[(r, c)] = 1;
                }
            }
            let outputs = self.session.run(ort::inputs![
                "input_ids" => Tensor::from_array(ids)?,
                "attention_mask" => Tensor::from_array(mask)?,
            ])?;
            let logits = outputs["logits"].try_extract_array::<f32>()?;
            let shape = logits.shape().to_vec();
            if shape.len() != 2 || shape[0] != rows || shape[1] == 0 {
                return Err(InferenceError::Malformed {
                    file: self.dir.model_file.clone(),
                    message: format!("`logits` has shape {shape:?}; expected [{rows}, labels]"),
                });
            }
            out.extend((0..rows).map(|r| logits[[r, 0]]));
        }
        Ok(out)
    }

    /// One score per answer to the conversation.
    pub fn score(&mut self, conversation: &[Message], answers: &[String]) -> Result<Vec<f32>> {
        let sequences = answers
            .iter()
            .map(|a| self.encode(conversation, a))
            .collect::<Result<Vec<_>>>()?;
        self.score_ids(&sequences)
    }
}
