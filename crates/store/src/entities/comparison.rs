//! An item to annotate: one prompt and two answers, X and Y (X is the chosen side where the item
//! came from a pair). Which of them is shown left is drawn per showing, never stored here.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "comparisons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    /// sha256 of the canonical prompt and both answers (an item is queued once).
    pub hash: String,
    /// JSON list of `{role, content}` turns before the answers.
    pub prompt: String,
    pub prompt_text: String,
    pub answer_x: String,
    pub answer_y: String,
    /// `judge-inconsistent`, `pair` (from the pipeline) or `imported`.
    pub source: String,
    pub pair_id: Option<i64>,
    pub judgment_id: Option<i64>,
    /// Queue order: lower first (inconsistent judge verdicts, then small margins, then imports).
    pub rank: f64,
    /// What the pair's maker preferred (`x`), if anything.
    pub reference_label: Option<String>,
    /// Who made that preference: `judge <version> rubric <name@v>` or `import <source>`.
    pub reference: Option<String>,
    /// The agreed answer of a gold item: `x`, `y`, `tie` or `both_bad`.
    pub gold_answer: Option<String>,
    /// From a red-team prompt: shown with a content warning, never to opted-out annotators.
    pub redteam: bool,
    /// All k slots are held (a hint for the queue; the unique slots are the rule).
    pub saturated: bool,
    pub created_at: DateTimeUtc,
    /// Main votes holding a slot, kept by triggers on `assignments` (migration 18): the item
    /// has all its votes when this reaches k.
    pub main_votes: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
