//! The annotation queue and votes.
//!
//! An annotator asks for work; the queue hands out items in rank order with three guarantees
//! that hold under concurrency on SQLite and PostgreSQL alike, because each is a database rule
//! rather than a check in this process:
//! - at most `k` annotators per item: a main assignment takes one of the item's `k` slots and
//!   `(comparison_id, slot)` is unique;
//! - nobody sees an item twice except as a planned swapped repeat: `(comparison_id,
//!   annotator_id, kind)` is unique;
//! - a lease that runs out returns the item: another annotator takes the expired assignment over
//!   with a compare-and-set update.
//!
//! Which answer is shown left is drawn here, per showing, and stored with the assignment and the
//! vote. Votes, undo and skips are single guarded updates, so a retry can never double-count.

mod calibration;
mod context;
mod evidence;
mod fill;
mod gold;
mod progress;
mod quarantine;
mod queue;
mod review;
mod settings;
mod votes;

pub use calibration::{calibration_data, comparisons, CalibrationData};
pub use context::{queue_context, showing_project, ProjectKey, QueueContext, ShowingProject};
pub use evidence::item_candidates;
pub use fill::{fill_from_inconsistent, fill_from_pairs, FillReport};
pub use gold::{gold_from_pairs, insert_gold, set_gold};
pub use progress::{progress, projects_for, vote_counts};
pub use quarantine::{apply_gate, gated_human_pairs, quarantined, release, Quarantined};
pub use queue::{fetch, next, Fetched, Showing};
pub use review::{decide, marks, reviewed, reviewed_out_human_pairs, Reviewed};
pub use settings::{redteam_opt_out, set_redteam_opt_out, set_settings, settings};
pub use votes::{skip, undo, vote, NewVote};

use sea_orm::{DbErr, SqlErr};

pub const MAIN: &str = "main";
pub const REPEAT: &str = "repeat";
pub const GOLD: &str = "gold";
pub const PENDING: &str = "pending";
pub const VOTED: &str = "voted";
pub const SKIPPED: &str = "skipped";
/// The only skip reason: never counted against the annotator.
pub const DISTRESSING: &str = "distressing";
/// A swapped repeat comes back only after this many other items of the annotator.
const REPEAT_GAP: u64 = 3;

fn unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
