//! Members' splits: the columns a split is decided from, the split a pair carries itself, and
//! the split of a pair under a recipe's split rule.

use crate::entities::pair;
use sea_orm::{EntityTrait, QuerySelect};

/// A member about to be written: pair id, pair hash, split.
pub(super) type NewMember = (i64, String, String);

/// The columns a member's split is decided from: id, hash, prompt, provenance, metadata.
pub(super) type SplitColumns = (i64, String, String, String, String);

pub(super) fn split_columns() -> sea_orm::Select<pair::Entity> {
    pair::Entity::find()
        .select_only()
        .column(pair::Column::Id)
        .column(pair::Column::Hash)
        .column(pair::Column::Prompt)
        .column(pair::Column::Provenance)
        .column(pair::Column::Metadata)
}

/// The `split` a pair carries itself (`provenance.split`, else `metadata.split`), if any.
fn own_split(provenance: &str, metadata: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Own {
        #[serde(default)]
        split: Option<serde_json::Value>,
    }
    [provenance, metadata].into_iter().find_map(|json| {
        serde_json::from_str::<Own>(json)
            .ok()
            .and_then(|o| o.split)
            .and_then(|v| v.as_str().map(str::to_owned))
    })
}

/// The split of a pair under `rule`: by the stable hash of its normalized prompt, or its own
/// split where the rule keeps it (or there is no rule). A pure function of the frozen recipe and
/// the immutable pair, so it never changes for a version.
pub fn pair_split(
    rule: Option<&pairwise_core::recipe::SplitRule>,
    prompt: &str,
    provenance: &str,
    metadata: &str,
) -> &'static str {
    let known = own_split(provenance, metadata);
    match rule {
        // Without a rule, or where the rule keeps a known split, the prompt is not hashed.
        None => return pairwise_core::recipe::split_of(None, "", known.as_deref()),
        Some(r) if r.keep_prompt_split && matches!(known.as_deref(), Some("train" | "eval")) => {
            return pairwise_core::recipe::split_of(rule, "", known.as_deref())
        }
        Some(_) => {}
    }
    let prompt_hash = pairwise_core::stable_hash(pairwise_core::normalize_text(prompt));
    pairwise_core::recipe::split_of(rule, &prompt_hash, known.as_deref())
}

pub(super) fn with_splits(
    rule: Option<&pairwise_core::recipe::SplitRule>,
    rows: Vec<SplitColumns>,
) -> Vec<NewMember> {
    rows.into_iter()
        .map(|(id, hash, prompt, provenance, metadata)| {
            let split = pair_split(rule, &prompt, &provenance, &metadata).to_owned();
            (id, hash, split)
        })
        .collect()
}
