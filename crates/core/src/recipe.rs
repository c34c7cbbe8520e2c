//! A dataset recipe: which of a project's pairs a frozen version takes. Stored on the version, so
//! every version says exactly how it was selected.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Only pairs from these sources (empty = all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Only pairs made by these strategies (empty = all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strategies: Vec<String>,
    /// Drop pairs whose margin is below this (pairs without a margin are kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_margin: Option<f64>,
    /// Drop pairs whose margin is above this: saturated margins teach a DPO model little.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_margin: Option<f64>,
    /// The κ gate: leave out human-decided pairs that rest on votes of a quarantined annotator
    /// or on a quarantined item. On unless `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kappa_gate: Option<bool>,
}

impl Recipe {
    /// Whether the κ gate applies (the default).
    pub fn gated(&self) -> bool {
        self.kappa_gate != Some(false)
    }

    /// Checks the fields; the message names the bad one.
    pub fn validate(&self) -> Result<(), String> {
        for (field, v) in [
            ("min_margin", self.min_margin),
            ("max_margin", self.max_margin),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(format!("`{field}` must be a finite number"));
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_margin, self.max_margin) {
            if lo > hi {
                return Err(format!("`min_margin` ({lo}) is above `max_margin` ({hi})"));
            }
        }
        Ok(())
    }
}
