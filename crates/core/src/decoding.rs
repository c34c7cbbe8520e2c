//! The sampling parameters of a candidate: one type with one set of limits, from the runs form
//! (a path's preset) through the run's payload to the sampler, and recorded on every candidate.

use serde::{Deserialize, Serialize};

/// Highest temperature anywhere; above 1.3 a run needs explicit confirmation (grammar collapses).
pub const MAX_TEMPERATURE: f32 = 2.0;
/// Repetition penalties outside this range wreck the text (HF semantics: 1 = off).
pub const REPETITION_PENALTY_RANGE: (f32, f32) = (0.5, 3.0);

/// How tokens are drawn: the Hugging Face logits-processor parameters, applied in HF order
/// (repetition penalty → temperature → top-k → top-p).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct Sampling {
    /// Softmax temperature, 0–2; 0 means greedy (argmax, the seed is ignored).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1.0))]
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches `top_p`; 1 = off.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1.0))]
    pub top_p: f32,
    /// Keep the `top_k` most likely tokens; 0 = off.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 0))]
    pub top_k: u32,
    /// Hugging Face repetition penalty over prompt and generated tokens, 0.5–3; 1 = off.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 1.0))]
    pub repetition_penalty: f32,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            repetition_penalty: 1.0,
        }
    }
}

/// An invalid decoding parameter; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {message}")]
pub struct ParamError {
    pub field: &'static str,
    pub message: String,
}

impl ParamError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl Sampling {
    /// Greedy decoding: temperature 0, no filters.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            ..Self::default()
        }
    }

    /// Checks every field against the one set of limits; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ParamError> {
        let t = self.temperature;
        if !t.is_finite() || !(0.0..=MAX_TEMPERATURE).contains(&t) {
            return Err(ParamError::new(
                "temperature",
                format!("must be between 0 and {MAX_TEMPERATURE} (got {t})"),
            ));
        }
        if !self.top_p.is_finite() || self.top_p <= 0.0 || self.top_p > 1.0 {
            return Err(ParamError::new(
                "top_p",
                format!("must be > 0 and ≤ 1 (got {})", self.top_p),
            ));
        }
        let rp = self.repetition_penalty;
        let (low, high) = REPETITION_PENALTY_RANGE;
        if !rp.is_finite() || !(low..=high).contains(&rp) {
            return Err(ParamError::new(
                "repetition_penalty",
                format!("must be between {low} and {high} (got {rp})"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_name_their_field() {
        let bad = [
            (
                Sampling {
                    temperature: 2.5,
                    ..Default::default()
                },
                "temperature",
            ),
            (
                Sampling {
                    temperature: f32::NAN,
                    ..Default::default()
                },
                "temperature",
            ),
            (
                Sampling {
                    top_p: 0.0,
                    ..Default::default()
                },
                "top_p",
            ),
            (
                Sampling {
                    repetition_penalty: 0.2,
                    ..Default::default()
                },
                "repetition_penalty",
            ),
        ];
        for (s, field) in bad {
            assert_eq!(s.validate().expect_err("invalid").field, field);
        }
        assert!(Sampling::default().validate().is_ok());
        assert!(Sampling::greedy().validate().is_ok());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<Sampling>(
            r#"{"temperature": 1, "top_p": 1, "top_k": 0, "repetition_penalty": 1, "tempreature": 2}"#,
        )
        .expect_err("typo");
        assert!(e.to_string().contains("tempreature"), "{e}");
    }
}
