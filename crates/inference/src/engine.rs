//! A loaded model: its directory (tokenizer, template, config, version) and its ONNX session,
//! with prompt encoding that follows `apply_chat_template(tokenize=True)`.

use crate::{
    chat_template::Message,
    error::{InferenceError, Result},
    generate::{generate, generate_continuous, score, BatchRequest, Generation, Score, TokenEvent},
    language_model::LanguageModel,
    model::ModelDir,
    onnx::OnnxDecoder,
    params::DecodingParams,
    runtime::{Device, Provider},
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What to generate from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptInput {
    /// A conversation, rendered with the model's chat template (generation prompt added).
    Chat(Vec<Message>),
    /// Text used as it is (the tokenizer adds its own special tokens, e.g. BOS).
    Raw(String),
}

pub struct Engine {
    pub dir: ModelDir,
    decoder: OnnxDecoder,
}

impl Engine {
    pub fn load(path: impl AsRef<Path>, device: Device, threads: usize) -> Result<Self> {
        let dir = ModelDir::open(path)?;
        let decoder = OnnxDecoder::load(&dir, device, threads)?;
        Ok(Self { dir, decoder })
    }

    pub fn provider(&self) -> Provider {
        self.decoder.provider()
    }

    pub fn version(&self) -> &str {
        &self.dir.version
    }

    /// Token ids of a prompt. Chats go through the chat template and are encoded without adding
    /// special tokens again, as transformers does.
    pub fn encode_prompt(&self, prompt: &PromptInput) -> Result<Vec<u32>> {
        let (text, add_special) =
            match prompt {
                PromptInput::Chat(messages) => {
                    let template = self.dir.chat_template.as_ref().ok_or_else(|| {
                        InferenceError::Malformed {
                            file: self.dir.path.join("tokenizer_config.json"),
                            message: "no `chat_template`; use a raw prompt (--no-chat-template)"
                                .into(),
                        }
                    })?;
                    (template.render(messages, true, &Default::default())?, false)
                }
                PromptInput::Raw(text) => (text.clone(), true),
            };
        self.encode_text(&text, add_special)
    }

    pub fn encode_text(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        let encoding = self
            .dir
            .tokenizer
            .encode(text, add_special_tokens)
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// One candidate per entry of `params`, sharing one prefill of `prompt_ids`.
    pub fn generate(
        &mut self,
        prompt_ids: &[u32],
        params: &[DecodingParams],
        on_token: impl FnMut(TokenEvent<'_>),
    ) -> Result<Generation> {
        let eos = self.dir.config.eos_token_ids.clone();
        generate(
            &mut self.decoder,
            &self.dir.tokenizer,
            &eos,
            prompt_ids,
            params,
            on_token,
        )
    }

    /// Like [`Engine::generate`] but never stopping at end-of-sequence (fixed-length benchmarks).
    pub fn generate_ignoring_eos(
        &mut self,
        prompt_ids: &[u32],
        params: &[DecodingParams],
    ) -> Result<Generation> {
        generate(
            &mut self.decoder,
            &self.dir.tokenizer,
            &[],
            prompt_ids,
            params,
            |_| (),
        )
    }

    /// Continuous batching over many prompts (up to `max_rows` rows in flight); `on_done(i, g)`
    /// gets prompt `i`'s candidates as soon as they are all finished. With `ignore_eos` rows
    /// never stop at end-of-sequence (fixed-length benchmarks).
    pub fn generate_continuous(
        &mut self,
        requests: &[BatchRequest],
        max_rows: usize,
        ignore_eos: bool,
        on_done: impl FnMut(usize, Generation) -> Result<()>,
    ) -> Result<()> {
        let eos = if ignore_eos {
            Vec::new()
        } else {
            self.dir.config.eos_token_ids.clone()
        };
        generate_continuous(
            &mut self.decoder,
            &self.dir.tokenizer,
            &eos,
            requests,
            max_rows,
            |_| (),
            on_done,
        )
    }

    /// Log-probabilities (log-softmax of the raw logits) of every token of the vocabulary as the
    /// next token after `prompt_ids`: one prefill, nothing sampled.
    pub fn next_token_logprobs(&mut self, prompt_ids: &[u32]) -> Result<Vec<f32>> {
        if prompt_ids.is_empty() {
            return Err(InferenceError::Request("the prompt has no tokens".into()));
        }
        let (_, logits) = self.decoder.prefill(prompt_ids)?;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_sum = (logits
            .iter()
            .map(|&l| f64::from(l - max).exp())
            .sum::<f64>())
        .ln() as f32;
        Ok(logits.iter().map(|&l| l - max - log_sum).collect())
    }

    /// Log-probabilities of response token ids after prompt token ids (teacher forcing).
    pub fn score_ids(&mut self, pairs: &[(Vec<u32>, Vec<u32>)]) -> Result<Vec<Score>> {
        score(&mut self.decoder, pairs)
    }

    /// Log-probabilities of each response after the prompt (teacher forcing).
    pub fn score(&mut self, prompt: &PromptInput, responses: &[String]) -> Result<Vec<Score>> {
        let prompt_ids = self.encode_prompt(prompt)?;
        let pairs = responses
            .iter()
            .map(|r| Ok((prompt_ids.clone(), self.encode_text(r, false)?)))
            .collect::<Result<Vec<_>>>()?;
        score(&mut self.decoder, &pairs)
    }
}
