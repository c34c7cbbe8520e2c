//! Decoding parameters of one candidate, validated with messages that name the field
//! (text-generation-inference `validation.rs` style).

use serde::{Deserialize, Serialize};

/// Longest generation one candidate may ask for.
pub const MAX_NEW_TOKENS_LIMIT: u32 = 8192;
/// Most stop strings one candidate may carry.
pub const MAX_STOP_STRINGS: usize = 16;

/// How one candidate is decoded. Everything here is recorded on the candidate, so the same
/// (model version, prompt, params) reproduces the same text on the same execution provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecodingParams {
    /// Softmax temperature; 0 means greedy (argmax, the seed is ignored).
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches `top_p`; 1 = off.
    pub top_p: f32,
    /// Keep the `top_k` most likely tokens; 0 = off.
    pub top_k: u32,
    /// Hugging Face repetition penalty over prompt and generated tokens; 1 = off.
    pub repetition_penalty: f32,
    /// Most tokens to generate.
    pub max_new_tokens: u32,
    /// Seed of this candidate's ChaCha20 random stream.
    pub seed: u64,
    /// Generation ends when the text ends with one of these; the stop string is not kept.
    pub stop: Vec<String>,
}

impl Default for DecodingParams {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            repetition_penalty: 1.0,
            max_new_tokens: 256,
            seed: 0,
            stop: Vec::new(),
        }
    }
}

/// An invalid decoding parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {message}")]
pub struct ParamError {
    pub field: &'static str,
    pub message: String,
}

fn err(field: &'static str, message: String) -> Result<(), ParamError> {
    Err(ParamError { field, message })
}

impl DecodingParams {
    /// Greedy decoding of up to `max_new_tokens`.
    pub fn greedy(max_new_tokens: u32) -> Self {
        Self {
            temperature: 0.0,
            max_new_tokens,
            ..Self::default()
        }
    }

    pub fn is_greedy(&self) -> bool {
        self.temperature == 0.0
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !self.temperature.is_finite() || self.temperature < 0.0 || self.temperature > 5.0 {
            err(
                "temperature",
                format!("must be between 0 and 5 (got {})", self.temperature),
            )?;
        }
        if !self.top_p.is_finite() || self.top_p <= 0.0 || self.top_p > 1.0 {
            err("top_p", format!("must be > 0 and ≤ 1 (got {})", self.top_p))?;
        }
        if !self.repetition_penalty.is_finite() || self.repetition_penalty <= 0.0 {
            err(
                "repetition_penalty",
                format!("must be > 0 (got {})", self.repetition_penalty),
            )?;
        }
        if self.max_new_tokens == 0 || self.max_new_tokens > MAX_NEW_TOKENS_LIMIT {
            err(
                "max_new_tokens",
                format!(
                    "must be between 1 and {MAX_NEW_TOKENS_LIMIT} (got {})",
                    self.max_new_tokens
                ),
            )?;
        }
        if self.stop.len() > MAX_STOP_STRINGS {
            err(
                "stop",
                format!(
                    "at most {MAX_STOP_STRINGS} stop strings (got {})",
                    self.stop.len()
                ),
            )?;
        }
        if self.stop.iter().any(String::is_empty) {
            err("stop", "stop strings must not be empty".into())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(DecodingParams { top_p: 1.5, ..Default::default() }, "top_p")]
    #[case(DecodingParams { top_p: 0.0, ..Default::default() }, "top_p")]
    #[case(DecodingParams { temperature: f32::NAN, ..Default::default() }, "temperature")]
    #[case(DecodingParams { temperature: -0.1, ..Default::default() }, "temperature")]
    #[case(DecodingParams { repetition_penalty: 0.0, ..Default::default() }, "repetition_penalty")]
    #[case(DecodingParams { max_new_tokens: 0, ..Default::default() }, "max_new_tokens")]
    #[case(DecodingParams { stop: vec![String::new()], ..Default::default() }, "stop")]
    fn invalid_params_name_their_field(#[case] params: DecodingParams, #[case] field: &str) {
        let e = params.validate().expect_err("invalid");
        assert_eq!(e.field, field);
        assert!(e.to_string().starts_with(&format!("`{field}`")), "{e}");
    }

    #[test]
    fn top_p_above_one_is_refused_with_its_value() {
        let e = DecodingParams {
            top_p: 1.5,
            ..Default::default()
        }
        .validate()
        .expect_err("invalid");
        assert_eq!(e.to_string(), "`top_p` must be > 0 and ≤ 1 (got 1.5)");
        assert!(DecodingParams::default().validate().is_ok());
        assert!(DecodingParams::greedy(8).is_greedy());
    }
}
