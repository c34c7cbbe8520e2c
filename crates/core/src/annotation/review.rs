//! The review step: a reviewer looks through annotators' votes (filtered by annotator, item
//! agreement, gold result, time on task and review state) and accepts, rejects or requeues them.
//!
//! - accepted: the vote counts; with [`VoteSelection::Accepted`] only accepted votes count;
//! - rejected: the vote never counts again as data (human pairs, per-prompt rankings, the human
//!   leaderboard), with the reason; versions frozen from then on leave out the human pairs that
//!   needed it to be decided, and human pairs built again (not yet frozen) drop it;
//! - requeued: rejected, and its item's slot goes back to the queue, so another annotator (never
//!   the same one) votes on it. Final: the slot is someone else's now.
//!
//! Calibration still measures every vote: a review acts on the data, not on the statistics that
//! judge the annotator.

use super::calibration::{item_agreement, ItemInfo, VoteRow};
use super::careless::min_duration_ms;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most rows one review page lists.
pub const MAX_REVIEW_ROWS: u64 = 500;
/// The longest reason kept.
pub const MAX_REVIEW_REASON: usize = 2000;

/// A reviewer's decision on a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReviewDecision {
    Accept,
    Reject,
    Requeue,
}

impl ReviewDecision {
    /// The state the decision leaves the vote in.
    pub fn state(self) -> ReviewState {
        match self {
            ReviewDecision::Accept => ReviewState::Accepted,
            ReviewDecision::Reject => ReviewState::Rejected,
            ReviewDecision::Requeue => ReviewState::Requeued,
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "accept" | "accepted" => Ok(ReviewDecision::Accept),
            "reject" | "rejected" => Ok(ReviewDecision::Reject),
            "requeue" | "requeued" => Ok(ReviewDecision::Requeue),
            other => Err(format!(
                "unknown decision `{other}` (accept, reject, requeue)"
            )),
        }
    }
}

/// Where a vote stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReviewState {
    Unreviewed,
    Accepted,
    Rejected,
    Requeued,
}

impl ReviewState {
    pub const ALL: [ReviewState; 4] = [
        ReviewState::Unreviewed,
        ReviewState::Accepted,
        ReviewState::Rejected,
        ReviewState::Requeued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Unreviewed => "unreviewed",
            ReviewState::Accepted => "accepted",
            ReviewState::Rejected => "rejected",
            ReviewState::Requeued => "requeued",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Rejected and requeued votes never count as data.
    pub fn excluded(self) -> bool {
        matches!(self, ReviewState::Rejected | ReviewState::Requeued)
    }
}

/// Which votes count as human evidence: accepted and unreviewed ones (the default), or accepted
/// ones only (a project whose every vote goes through review). Rejected and requeued votes never
/// count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum VoteSelection {
    #[default]
    AcceptedOrUnreviewed,
    Accepted,
}

impl VoteSelection {
    /// Whether a vote in review state `state` counts.
    pub fn counts(self, state: ReviewState) -> bool {
        match self {
            VoteSelection::AcceptedOrUnreviewed => !state.excluded(),
            VoteSelection::Accepted => state == ReviewState::Accepted,
        }
    }
}

/// How a gold vote compares with the item's agreed answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GoldFilter {
    /// Every vote.
    #[default]
    Any,
    /// Votes on gold items.
    Gold,
    /// Votes on gold items that match the agreed answer.
    Correct,
    /// Votes on gold items that miss it.
    Wrong,
    /// Votes on items that are not gold.
    NotGold,
}

impl GoldFilter {
    fn keeps(self, correct: Option<bool>) -> bool {
        match self {
            GoldFilter::Any => true,
            GoldFilter::Gold => correct.is_some(),
            GoldFilter::Correct => correct == Some(true),
            GoldFilter::Wrong => correct == Some(false),
            GoldFilter::NotGold => correct.is_none(),
        }
    }
}

impl GoldFilter {
    pub const ALL: [GoldFilter; 5] = [
        GoldFilter::Any,
        GoldFilter::Gold,
        GoldFilter::Correct,
        GoldFilter::Wrong,
        GoldFilter::NotGold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GoldFilter::Any => "any",
            GoldFilter::Gold => "gold",
            GoldFilter::Correct => "correct",
            GoldFilter::Wrong => "wrong",
            GoldFilter::NotGold => "not_gold",
        }
    }
}

impl std::str::FromStr for GoldFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s.trim())
            .ok_or_else(|| {
                format!("unknown gold filter `{s}` (any, gold, correct, wrong, not_gold)")
            })
    }
}

impl std::str::FromStr for ReviewState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s.trim()).ok_or_else(|| {
            format!("unknown review state `{s}` (unreviewed, accepted, rejected, requeued)")
        })
    }
}

impl std::str::FromStr for ReviewDecision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

/// Which votes the review page lists (reviewer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(default)]
pub struct ReviewFilter {
    /// Only this annotator's votes.
    #[cfg_attr(feature = "cli", arg(long))]
    pub annotator: Option<String>,
    /// Only votes in this review state.
    #[cfg_attr(feature = "cli", arg(long, value_enum))]
    pub state: Option<ReviewState>,
    /// Gold result: any, gold, correct, wrong or not_gold.
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value_t = GoldFilter::Any))]
    pub gold: GoldFilter,
    /// Only items whose pairwise agreement (main and gold votes) is at most this, in [0, 1]:
    /// 0.5 finds the disputed ones. Items with one vote have no agreement and are left out.
    #[cfg_attr(feature = "cli", arg(long))]
    pub max_agreement: Option<f64>,
    /// Only votes cast in at most this many milliseconds.
    #[cfg_attr(feature = "cli", arg(long))]
    pub max_duration_ms: Option<i64>,
    /// Only votes faster than the project's reading speed allows (the careless-vote check).
    #[cfg_attr(feature = "cli", arg(long))]
    pub fast_only: bool,
    /// Kinds of showing: main and gold (repeats only measure consistency) unless this is set.
    #[cfg_attr(feature = "cli", arg(long))]
    pub include_repeats: bool,
    /// Most rows listed (at most 500); the total says how many matched.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 100))]
    pub limit: u64,
}

impl Default for ReviewFilter {
    fn default() -> Self {
        Self {
            annotator: None,
            state: None,
            gold: GoldFilter::Any,
            max_agreement: None,
            max_duration_ms: None,
            fast_only: false,
            include_repeats: false,
            limit: 100,
        }
    }
}

impl ReviewFilter {
    /// Bounds are checked here so every surface reports the same field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(a) = self.max_agreement {
            if !(0.0..=1.0).contains(&a) {
                return Err(("max_agreement", format!("{a} is not in [0, 1]")));
            }
        }
        if self.max_duration_ms.is_some_and(|d| d < 0) {
            return Err(("max_duration_ms", "must not be negative".into()));
        }
        if self.limit == 0 || self.limit > MAX_REVIEW_ROWS {
            return Err(("limit", format!("must be in 1..={MAX_REVIEW_ROWS}")));
        }
        Ok(())
    }
}

/// A reviewer's decision as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewMark {
    pub state: ReviewState,
    pub reason: String,
    pub reviewer: String,
    /// RFC 3339.
    pub at: String,
}

/// One vote on the review page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewRow {
    pub vote: i64,
    pub item: i64,
    pub annotator: String,
    /// `main`, `gold` or `repeat`.
    pub kind: String,
    /// The vote in item terms: `x`, `y`, `tie` or `both_bad`.
    pub label: String,
    pub duration_ms: i64,
    /// The least time the answers' length allows at the project's reading speed.
    pub min_ms: i64,
    pub rationale: String,
    /// Pairwise agreement of the item's main and gold votes (none below two votes).
    pub agreement: Option<f64>,
    /// Main and gold votes on the item.
    pub item_votes: u64,
    /// The agreed answer, where the item is gold.
    pub gold: Option<String>,
    /// The prompt's last user turn and the two answers (cut to a preview length).
    pub prompt: String,
    pub answer_x: String,
    pub answer_y: String,
    pub review: Option<ReviewMark>,
}

impl ReviewRow {
    pub fn fast(&self) -> bool {
        self.duration_ms < self.min_ms
    }

    pub fn gold_correct(&self) -> Option<bool> {
        self.gold.as_ref().map(|g| *g == self.label)
    }

    pub fn state(&self) -> ReviewState {
        self.review
            .as_ref()
            .map_or(ReviewState::Unreviewed, |r| r.state)
    }
}

/// The review page: the matching votes, and the project's votes counted by review state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewList {
    pub project: String,
    /// Votes matching the filter (the rows are the first `limit` of them, oldest first).
    pub matched: u64,
    pub rows: Vec<ReviewRow>,
    /// Main and gold votes of the project by review state (`unreviewed`, `accepted`, …).
    pub counts: BTreeMap<String, u64>,
    /// Annotators with votes, for the filter.
    pub annotators: Vec<String>,
}

/// A decision on one or more votes of a project (reviewer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewRequest {
    pub votes: Vec<i64>,
    pub decision: ReviewDecision,
    /// Why (required to reject; kept with the decision and in the audit log).
    #[serde(default)]
    pub reason: String,
}

impl ReviewRequest {
    /// The reason, trimmed; errors name the field.
    pub fn validate(&self) -> Result<String, (&'static str, String)> {
        if self.votes.is_empty() {
            return Err(("votes", "name at least one vote".into()));
        }
        if self.votes.len() > MAX_REVIEW_ROWS as usize {
            return Err((
                "votes",
                format!("at most {MAX_REVIEW_ROWS} votes per decision"),
            ));
        }
        let reason = self.reason.trim().to_owned();
        if self.decision == ReviewDecision::Reject && reason.is_empty() {
            return Err(("reason", "a rejection needs a reason".into()));
        }
        if reason.chars().count() > MAX_REVIEW_REASON {
            return Err((
                "reason",
                format!("longer than {MAX_REVIEW_REASON} characters"),
            ));
        }
        Ok(reason)
    }
}

/// What a decision did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewOutcome {
    /// Votes whose state changed.
    pub changed: u64,
    /// Votes already in that state.
    pub unchanged: u64,
    /// Slots given back to the queue (requeue).
    pub reopened: u64,
}

/// Votes of a project with what the review page shows of their items, in vote order.
pub struct ReviewInput<'a> {
    pub votes: &'a [VoteRow],
    pub items: &'a BTreeMap<i64, ItemInfo>,
    pub marks: &'a BTreeMap<i64, ReviewMark>,
    pub chars_per_s: f64,
}

/// A vote that passed the filter, before its item's texts are read.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    pub matched: u64,
    pub rows: Vec<ReviewRow>,
    pub counts: BTreeMap<String, u64>,
    pub annotators: Vec<String>,
}

/// Applies `filter` to the votes: every matching vote counted, the first `limit` (oldest first)
/// as rows without texts (prompt and answers empty; the caller reads them for these rows only).
pub fn select(input: &ReviewInput<'_>, filter: &ReviewFilter) -> Selected {
    let counted = |v: &&VoteRow| v.kind != "repeat";
    let mut labels: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for v in input.votes.iter().filter(counted) {
        labels.entry(v.comparison).or_default().push(&v.label);
    }
    let mut counts: BTreeMap<String, u64> = ReviewState::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    let mut annotators: Vec<String> = Vec::new();
    let mut matched = 0u64;
    let mut rows = Vec::new();
    for v in input.votes {
        let state = input.marks.get(&v.id).map(|m| m.state);
        if v.kind != "repeat" {
            *counts
                .entry(state.unwrap_or(ReviewState::Unreviewed).as_str().to_owned())
                .or_default() += 1;
        }
        if !annotators.contains(&v.annotator) {
            annotators.push(v.annotator.clone());
        }
        if v.kind == "repeat" && !filter.include_repeats {
            continue;
        }
        if filter.annotator.as_ref().is_some_and(|a| *a != v.annotator) {
            continue;
        }
        if filter
            .state
            .is_some_and(|s| s != state.unwrap_or(ReviewState::Unreviewed))
        {
            continue;
        }
        let item = input.items.get(&v.comparison);
        let gold = item.and_then(|i| i.gold.clone());
        if !filter.gold.keeps(gold.as_ref().map(|g| *g == v.label)) {
            continue;
        }
        let item_labels = labels.get(&v.comparison).map_or(&[][..], Vec::as_slice);
        let agreement = item_agreement(item_labels);
        if let Some(max) = filter.max_agreement {
            if agreement.is_none_or(|a| a > max + 1e-12) {
                continue;
            }
        }
        if filter.max_duration_ms.is_some_and(|m| v.duration_ms > m) {
            continue;
        }
        let min_ms = min_duration_ms(item.map_or(0, |i| i.chars), input.chars_per_s);
        if filter.fast_only && v.duration_ms >= min_ms {
            continue;
        }
        matched += 1;
        if (rows.len() as u64) < filter.limit {
            rows.push(ReviewRow {
                vote: v.id,
                item: v.comparison,
                annotator: v.annotator.clone(),
                kind: v.kind.clone(),
                label: v.label.clone(),
                duration_ms: v.duration_ms,
                min_ms,
                rationale: v.rationale.clone(),
                agreement,
                item_votes: item_labels.len() as u64,
                gold,
                prompt: String::new(),
                answer_x: String::new(),
                answer_y: String::new(),
                review: input.marks.get(&v.id).cloned(),
            });
        }
    }
    annotators.sort();
    Selected {
        matched,
        rows,
        counts,
        annotators,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(id: i64, item: i64, who: &str, kind: &str, label: &str, ms: i64) -> VoteRow {
        VoteRow {
            id,
            comparison: item,
            annotator: who.into(),
            kind: kind.into(),
            label: label.into(),
            choice: "a".into(),
            duration_ms: ms,
            dimensions: BTreeMap::new(),
            rationale: String::new(),
        }
    }

    fn item(gold: Option<&str>, chars: u64) -> ItemInfo {
        ItemInfo {
            gold: gold.map(Into::into),
            reference_label: None,
            reference: None,
            chars,
        }
    }

    fn mark(state: ReviewState) -> ReviewMark {
        ReviewMark {
            state,
            reason: "r".into(),
            reviewer: "rev".into(),
            at: String::new(),
        }
    }

    fn fixture() -> (Vec<VoteRow>, BTreeMap<i64, ItemInfo>) {
        let votes = vec![
            vote(1, 10, "ann", "main", "x", 9000),
            vote(2, 10, "bob", "main", "x", 8000),
            vote(3, 10, "cat", "main", "y", 300),
            vote(4, 20, "ann", "gold", "x", 7000),
            vote(5, 20, "bob", "gold", "y", 7000),
            vote(6, 10, "ann", "repeat", "x", 7000),
            vote(7, 30, "ann", "main", "y", 7000),
        ];
        let items = BTreeMap::from([
            (10, item(None, 600)),
            (20, item(Some("x"), 60)),
            (30, item(None, 60)),
        ]);
        (votes, items)
    }

    fn ids(s: &Selected) -> Vec<i64> {
        s.rows.iter().map(|r| r.vote).collect()
    }

    #[test]
    fn filters_compose_and_counts_cover_every_counted_vote() {
        let (votes, items) = fixture();
        let marks = BTreeMap::from([
            (1, mark(ReviewState::Accepted)),
            (3, mark(ReviewState::Rejected)),
        ]);
        let input = ReviewInput {
            votes: &votes,
            items: &items,
            marks: &marks,
            chars_per_s: 60.0,
        };
        let all = select(&input, &ReviewFilter::default());
        assert_eq!(ids(&all), [1, 2, 3, 4, 5, 7], "repeats are left out");
        assert_eq!(all.counts["unreviewed"], 4);
        assert_eq!(all.counts["accepted"], 1);
        assert_eq!(all.counts["rejected"], 1);
        assert_eq!(all.annotators, ["ann", "bob", "cat"]);
        let by = |f: ReviewFilter| ids(&select(&input, &f));
        let ann = || ReviewFilter {
            annotator: Some("ann".into()),
            ..Default::default()
        };
        assert_eq!(by(ann()), [1, 4, 7]);
        assert_eq!(
            by(ReviewFilter {
                include_repeats: true,
                ..ann()
            }),
            [1, 4, 6, 7]
        );
        let state = |s| ReviewFilter {
            state: Some(s),
            ..Default::default()
        };
        assert_eq!(by(state(ReviewState::Unreviewed)), [2, 4, 5, 7]);
        assert_eq!(by(state(ReviewState::Rejected)), [3]);
        let gold = |g| ReviewFilter {
            gold: g,
            ..Default::default()
        };
        assert_eq!(by(gold(GoldFilter::Gold)), [4, 5]);
        assert_eq!(by(gold(GoldFilter::Correct)), [4]);
        assert_eq!(by(gold(GoldFilter::Wrong)), [5]);
        assert_eq!(by(gold(GoldFilter::NotGold)), [1, 2, 3, 7]);
        // Item 10: x, x, y → agreement 1/3; item 20: 0; item 30 has one vote (no agreement).
        let disputed = ReviewFilter {
            max_agreement: Some(0.5),
            ..Default::default()
        };
        assert_eq!(by(disputed), [1, 2, 3, 4, 5]);
        let fast = ReviewFilter {
            fast_only: true,
            ..Default::default()
        };
        // 600 characters at 60/s need 11 s: votes 1, 2 and 3 are all too fast on item 10.
        assert_eq!(by(fast), [1, 2, 3]);
        let quick = ReviewFilter {
            max_duration_ms: Some(1000),
            ..Default::default()
        };
        assert_eq!(by(quick), [3]);
        let first = select(
            &input,
            &ReviewFilter {
                limit: 2,
                ..Default::default()
            },
        );
        assert_eq!((first.matched, ids(&first)), (6, vec![1, 2]));
        let row = &all.rows[2];
        assert_eq!((row.agreement, row.item_votes), (Some(1.0 / 3.0), 3));
        assert_eq!(row.state(), ReviewState::Rejected);
        assert!(row.fast());
        assert_eq!(all.rows[3].gold_correct(), Some(true));
    }

    #[test]
    fn selections_and_requests_are_checked() {
        use ReviewState::*;
        let default = VoteSelection::default();
        assert!(default.counts(Unreviewed) && default.counts(Accepted));
        assert!(!default.counts(Rejected) && !default.counts(Requeued));
        let strict = VoteSelection::Accepted;
        assert!(strict.counts(Accepted) && !strict.counts(Unreviewed));
        let request = |decision, reason: &str| ReviewRequest {
            votes: vec![1],
            decision,
            reason: reason.into(),
        };
        assert_eq!(
            request(ReviewDecision::Reject, "  ")
                .validate()
                .unwrap_err()
                .0,
            "reason"
        );
        assert_eq!(
            request(ReviewDecision::Reject, " copied the left answer ").validate(),
            Ok("copied the left answer".into())
        );
        assert_eq!(
            request(ReviewDecision::Requeue, "").validate(),
            Ok("".into())
        );
        let none = ReviewRequest {
            votes: vec![],
            ..request(ReviewDecision::Accept, "")
        };
        assert_eq!(none.validate().unwrap_err().0, "votes");
        let bad = ReviewFilter {
            max_agreement: Some(1.5),
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().0, "max_agreement");
        assert_eq!(
            ReviewDecision::parse("requeued"),
            Ok(ReviewDecision::Requeue)
        );
        assert!(ReviewDecision::parse("maybe").is_err());
    }
}
