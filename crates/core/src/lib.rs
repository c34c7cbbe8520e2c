//! Pure domain of Pairwise: roles, prompt normalization and stable hashes, and the prompt import
//! formats. No IO beyond reading from a caller's `BufRead`; builds for wasm32 too.

pub mod actor;
pub mod agreement;
pub mod annotation;
pub mod audit_query;
pub mod builders;
pub mod constitution;
pub mod curation;
pub mod decoding;
pub mod dto;
pub mod duel;
pub mod eval;
pub mod export_formats;
pub mod generation;
pub mod hash;
pub mod judge;
pub mod leaderboard;
#[cfg(feature = "markdown")]
pub mod markdown;
pub mod pair_formats;
#[cfg(feature = "parquet")]
pub mod parquet_lines;
pub mod prompt_import;
pub mod ranking;
pub mod recipe;
pub mod refusal;
pub mod requests;
pub mod role;
pub mod rubric;
pub mod run_requests;
pub mod strategy;

pub use actor::{Actor, CLI_ACTOR};
pub use export_formats::{export_rows, write_rows, ExportFormat, ExportPair};
pub use hash::{normalize_text, stable_hash};
pub use pair_formats::{pair_hash, PairError, PairFormat, PairRecord};
pub use prompt_import::{
    ChatMessage, ImportFormat, PromptImportError, PromptReader, PromptRecord,
    MAX_PROMPT_RECORD_BYTES,
};
pub use recipe::Recipe;
pub use role::{Role, Split};
