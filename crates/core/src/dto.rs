//! Views that cross the wire: server functions, the REST API and the CLI's `--json` share them.

use crate::{ChatMessage, Role, Split};
use serde::{Deserialize, Serialize};

/// A user as admins see it (never the password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub active: bool,
    /// RFC 3339.
    pub created_at: String,
}

/// A project with its prompt count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub prompt_count: u64,
    /// RFC 3339.
    pub created_at: String,
}

/// One stored prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromptView {
    pub id: i64,
    pub external_id: Option<String>,
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub messages: Option<Vec<ChatMessage>>,
    pub source: Option<String>,
    pub domain: Option<String>,
    pub split: Split,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: serde_json::Value,
    pub hash: String,
    /// RFC 3339.
    pub created_at: String,
}

/// One page of a server-side paginated list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
    pub items: Vec<T>,
}

/// What an import did. Nothing is written unless the whole file was valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// Records read from the file.
    pub records: u64,
    /// Records stored as new prompts.
    pub inserted: u64,
    /// Records skipped because an equal prompt (same normalized text) was already there.
    pub duplicates: u64,
}

/// An API token as listed (the secret itself is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenView {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// A frozen dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetVersionView {
    pub id: i64,
    pub tag: String,
    pub parent: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub recipe: crate::recipe::Recipe,
    /// sha256 over the ordered pair hashes.
    pub content_hash: String,
    pub pair_count: u64,
    pub created_by: Option<i64>,
    pub created_at: String,
}

/// How two versions differ, by pair hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetDiff {
    pub from: String,
    pub to: String,
    pub added: u64,
    pub removed: u64,
    pub unchanged: u64,
    /// Up to ten hashes of each side, for a look.
    pub added_examples: Vec<String>,
    pub removed_examples: Vec<String>,
    pub from_pair_count: u64,
    pub to_pair_count: u64,
}

/// What a pair import did; nothing is stored unless every row was valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairImportReport {
    pub rows: u64,
    pub inserted: u64,
    pub duplicates: u64,
}

/// One preference pair as the pair browser shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairView {
    pub id: i64,
    pub hash: String,
    /// The last user turn.
    pub prompt: String,
    /// Turns in the prompt (more than one for multi-turn context).
    pub turns: usize,
    pub chosen: String,
    pub rejected: String,
    pub strategy: String,
    pub source: String,
    pub margin: Option<f64>,
}
