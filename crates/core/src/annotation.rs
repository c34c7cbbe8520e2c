//! Human annotation: what an annotator is shown and sends back, and the calibration statistics
//! over the stored votes — agreement between annotators, accuracy on silent gold, position bias,
//! swapped-repeat consistency, the reference (judge or imported preference) against gold and
//! against the human majority — and the κ gate that decides who and what is quarantined.
//!
//! Items are labelled in item terms: `x` and `y` are the two answers of a comparison, fixed when
//! the item is made; `a`/`b` are what the annotator pressed, left and right of one showing.

mod calibration;
pub mod careless;
pub mod drift;
mod gate;
pub mod review;
mod views;

pub use calibration::{
    calibrate, item_agreement, majority, AnnotatorStats, Calibrated, CalibrationReport, ItemInfo,
    ItemRow, ItemStats, JudgeFlips, QuarantineView, ReferenceStats, VoteRow,
};
pub use drift::{GoldDrift, GoldVerdict};
pub use gate::{gate, GateVerdict};
pub use views::{AnnotateProject, AnnotateQueue, Showing, VoteReceipt};

use serde::{Deserialize, Serialize};

/// Queue defaults of a project without settings of its own.
pub const DEFAULT_OVERLAP: i32 = 3;
pub const DEFAULT_REPEAT_RATE: f64 = 0.10;
pub const DEFAULT_GOLD_RATE: f64 = 0.05;
pub const DEFAULT_MAX_PENDING: i32 = 3;
pub const DEFAULT_LEASE_SECONDS: i32 = 600;
pub const DEFAULT_KAPPA_THRESHOLD: f64 = 0.6;
/// Gold votes an annotator needs before the gate judges them against gold rather than peers.
pub const MIN_GOLD_FOR_GATE: u64 = 5;
/// Shared items two annotators need before their κ counts for the gate.
pub const MIN_SHARED_FOR_GATE: u64 = 5;
/// A vote can be taken back this long after it was cast.
pub const UNDO_SECONDS: i64 = 10;
/// The longest rationale kept.
pub const MAX_RATIONALE: usize = 4000;
/// Dimensions an annotator may decide separately.
pub const DIMENSIONS: [&str; 3] = ["helpful", "honest", "harmless"];

/// One of the two answers of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    X,
    Y,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::X => "x",
            Side::Y => "y",
        }
    }
    pub fn other(self) -> Side {
        match self {
            Side::X => Side::Y,
            Side::Y => Side::X,
        }
    }
    pub fn parse(s: &str) -> Option<Side> {
        match s {
            "x" => Some(Side::X),
            "y" => Some(Side::Y),
            _ => None,
        }
    }
}

/// What an annotator pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// The left answer is better (key 1).
    A,
    /// The right answer is better (key 2).
    B,
    /// Equally good (key 3).
    Tie,
    /// Neither is acceptable (key 4).
    BothBad,
}

impl Choice {
    pub const ALL: [Choice; 4] = [Choice::A, Choice::B, Choice::Tie, Choice::BothBad];

    pub fn as_str(self) -> &'static str {
        match self {
            Choice::A => "a",
            Choice::B => "b",
            Choice::Tie => "tie",
            Choice::BothBad => "both_bad",
        }
    }

    pub fn parse(s: &str) -> Result<Choice, String> {
        Choice::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a choice: use a, b, tie or both_bad"))
    }

    /// The label in item terms, given which side was shown left.
    pub fn label(self, left: Side) -> &'static str {
        match self {
            Choice::A => left.as_str(),
            Choice::B => left.other().as_str(),
            Choice::Tie => "tie",
            Choice::BothBad => "both_bad",
        }
    }
}

/// Checks a label in item terms (gold answers, imported gold).
pub fn parse_label(s: &str) -> Result<&'static str, String> {
    ["x", "y", "tie", "both_bad"]
        .into_iter()
        .find(|l| *l == s)
        .ok_or_else(|| format!("`{s}` is not an answer: use x, y, tie or both_bad"))
}

/// Queue settings of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationSettings {
    pub overlap: i32,
    pub repeat_rate: f64,
    pub gold_rate: f64,
    pub max_pending: i32,
    pub lease_seconds: i32,
    pub kappa_threshold: f64,
    /// Reading speed, in characters of the two answers per second, that a vote may not beat: a
    /// vote faster than 1 s plus the answers' length at this speed is flagged as too fast.
    #[serde(default = "default_fast_vote_chars_per_s")]
    pub fast_vote_chars_per_s: f64,
    /// The κ gate also excludes votes flagged as too fast.
    #[serde(default)]
    pub gate_fast_votes: bool,
}

/// Skimming speed (about 10 words a second, several times reading speed): slower votes are
/// never flagged.
pub const DEFAULT_FAST_VOTE_CHARS_PER_S: f64 = 60.0;

fn default_fast_vote_chars_per_s() -> f64 {
    DEFAULT_FAST_VOTE_CHARS_PER_S
}

impl Default for AnnotationSettings {
    fn default() -> Self {
        Self {
            overlap: DEFAULT_OVERLAP,
            repeat_rate: DEFAULT_REPEAT_RATE,
            gold_rate: DEFAULT_GOLD_RATE,
            max_pending: DEFAULT_MAX_PENDING,
            lease_seconds: DEFAULT_LEASE_SECONDS,
            kappa_threshold: DEFAULT_KAPPA_THRESHOLD,
            fast_vote_chars_per_s: DEFAULT_FAST_VOTE_CHARS_PER_S,
            gate_fast_votes: false,
        }
    }
}

impl AnnotationSettings {
    /// The first out-of-range field, named.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=50).contains(&self.overlap) {
            return Err(("overlap", "must be between 1 and 50".into()));
        }
        for (field, v) in [
            ("repeat_rate", self.repeat_rate),
            ("gold_rate", self.gold_rate),
        ] {
            if !(0.0..=0.5).contains(&v) {
                return Err((field, "must be between 0 and 0.5".into()));
            }
        }
        if !(1..=20).contains(&self.max_pending) {
            return Err(("max_pending", "must be between 1 and 20".into()));
        }
        if !(10..=86_400).contains(&self.lease_seconds) {
            return Err(("lease_seconds", "must be between 10 and 86400".into()));
        }
        if !(-1.0..=1.0).contains(&self.kappa_threshold) {
            return Err(("kappa_threshold", "must be between -1 and 1".into()));
        }
        if !(self.fast_vote_chars_per_s.is_finite()
            && (1.0..=100_000.0).contains(&self.fast_vote_chars_per_s))
        {
            return Err((
                "fast_vote_chars_per_s",
                "must be between 1 and 100000".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
