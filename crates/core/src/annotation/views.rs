//! What an annotator is shown and sends back over the API: showings, the queue of a project,
//! the projects with work, and a vote's receipt.

use crate::ChatMessage;
use serde::{Deserialize, Serialize};

/// One item as an annotator sees it. Deliberately nothing else: no model, source, scores, gold
/// flag, kind of showing or other people's votes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Showing {
    /// The showing to vote on (opaque to the annotator).
    pub assignment: i64,
    pub prompt: Vec<ChatMessage>,
    pub left: String,
    pub right: String,
    /// The answers as sanitized Markdown HTML (raw HTML off, allowlisted tags).
    pub left_html: String,
    pub right_html: String,
    pub content_warning: bool,
}

/// An annotator's queue in a project: what to show now and next, and how far they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotateQueue {
    pub project: String,
    pub items: Vec<Showing>,
    pub done: u64,
    /// Items still open to this annotator (an estimate: others may take slots first).
    pub remaining: u64,
    pub redteam_opt_out: bool,
}

/// A project with work for the signed-in annotator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotateProject {
    pub name: String,
    pub description: String,
    pub done: u64,
    pub remaining: u64,
}

/// A vote's stored result, for the undo button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteReceipt {
    pub assignment: i64,
    pub undo_until: String,
}
