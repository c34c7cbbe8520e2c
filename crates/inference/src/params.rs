//! Decoding parameters of one candidate, validated with messages that name the field
//! (text-generation-inference `validation.rs` style).

use serde::{Deserialize, Serialize};

/// Longest generation one candidate may ask for.
pub const MAX_NEW_TOKENS_LIMIT: u32 = 8192;
/// Most stop strings one candidate may carry.
pub const MAX_STOP_STRINGS: usize = 16;

pub use pairwise_core::decoding::{ParamError, Sampling};

/// How one candidate is decoded: the one [`Sampling`] type (its limits are the only ones) plus
/// what is per candidate. Everything here is recorded on the candidate, so the same (model
/// version, prompt, params) reproduces the same text on the same execution provider. Stored as
/// one flat JSON object (`temperature`, `top_p`, `top_k`, `repetition_penalty`, `max_new_tokens`,
/// `seed`, `stop`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecodingParams {
    #[serde(flatten)]
    pub sampling: Sampling,
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
            sampling: Sampling::default(),
            max_new_tokens: 256,
            seed: 0,
            stop: Vec::new(),
        }
    }
}

impl DecodingParams {
    /// Greedy decoding of up to `max_new_tokens`.
    pub fn greedy(max_new_tokens: u32) -> Self {
        Self {
            sampling: Sampling::greedy(),
            max_new_tokens,
            ..Self::default()
        }
    }

    pub fn is_greedy(&self) -> bool {
        self.sampling.temperature == 0.0
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ParamError> {
        self.sampling.validate()?;
        if self.max_new_tokens == 0 || self.max_new_tokens > MAX_NEW_TOKENS_LIMIT {
            return Err(ParamError::new(
                "max_new_tokens",
                format!(
                    "must be between 1 and {MAX_NEW_TOKENS_LIMIT} (got {})",
                    self.max_new_tokens
                ),
            ));
        }
        if self.stop.len() > MAX_STOP_STRINGS {
            return Err(ParamError::new(
                "stop",
                format!(
                    "at most {MAX_STOP_STRINGS} stop strings (got {})",
                    self.stop.len()
                ),
            ));
        }
        if self.stop.iter().any(String::is_empty) {
            return Err(ParamError::new("stop", "stop strings must not be empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn sampling(sampling: Sampling) -> DecodingParams {
        DecodingParams {
            sampling,
            ..Default::default()
        }
    }

    #[test]
    fn stored_params_stay_one_flat_object() {
        let json = serde_json::to_string(&DecodingParams::greedy(8)).expect("json");
        assert_eq!(
            json,
            r#"{"temperature":0.0,"top_p":1.0,"top_k":0,"repetition_penalty":1.0,"max_new_tokens":8,"seed":0,"stop":[]}"#
        );
        let back: DecodingParams = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, DecodingParams::greedy(8));
    }

    #[rstest]
    #[case(sampling(Sampling { top_p: 1.5, ..Default::default() }), "top_p")]
    #[case(sampling(Sampling { top_p: 0.0, ..Default::default() }), "top_p")]
    #[case(sampling(Sampling { temperature: f32::NAN, ..Default::default() }), "temperature")]
    #[case(sampling(Sampling { temperature: -0.1, ..Default::default() }), "temperature")]
    #[case(sampling(Sampling { temperature: 2.5, ..Default::default() }), "temperature")]
    #[case(sampling(Sampling { repetition_penalty: 0.0, ..Default::default() }), "repetition_penalty")]
    #[case(DecodingParams { max_new_tokens: 0, ..Default::default() }, "max_new_tokens")]
    #[case(DecodingParams { stop: vec![String::new()], ..Default::default() }, "stop")]
    fn invalid_params_name_their_field(#[case] params: DecodingParams, #[case] field: &str) {
        let e = params.validate().expect_err("invalid");
        assert_eq!(e.field, field);
        assert!(e.to_string().starts_with(&format!("`{field}`")), "{e}");
    }

    #[test]
    fn top_p_above_one_is_refused_with_its_value() {
        let e = sampling(Sampling {
            top_p: 1.5,
            ..Default::default()
        })
        .validate()
        .expect_err("invalid");
        assert_eq!(e.to_string(), "`top_p` must be > 0 and ≤ 1 (got 1.5)");
        assert!(DecodingParams::default().validate().is_ok());
        assert!(DecodingParams::greedy(8).is_greedy());
    }
}
