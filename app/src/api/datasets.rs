//! Server functions of the /datasets and version pages: dataset versions (list, freeze, diff,
//! quality report) and the pair browser.
// Filter forms have one field per argument; the server-fn macro copies the signature.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::dto::Page;

#[cfg(feature = "ssr")]
use super::PAIR_PAGE;
#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, member_project};
#[cfg(feature = "ssr")]
use pairwise_core::Role;

#[server]
pub async fn list_versions(
    project: String,
) -> Result<Vec<pairwise_core::dto::DatasetVersionView>, AppError> {
    let db = db()?;
    let p = member_project(&project, Role::Reviewer).await?;
    Ok(pairwise_store::datasets::list(&db, p.id).await?)
}

/// Pairs of a project, for the datasets page header.
#[server]
pub async fn pair_count(project: String) -> Result<u64, AppError> {
    let db = db()?;
    let p = member_project(&project, Role::Reviewer).await?;
    Ok(pairwise_store::pairs::count(&db, p.id).await?)
}

#[server]
pub async fn freeze_version(
    project: String,
    tag: String,
    sources: String,
    min_margin: String,
    max_margin: String,
    /// Share of prompts that go to eval (empty: the pairs' own splits).
    #[server(default)]
    eval_fraction: Option<String>,
    /// The κ gate checkbox: absent (unchecked) turns it off.
    #[server(default)]
    kappa_gate: Option<String>,
    /// The review checkbox: present, human pairs count only votes a reviewer accepted.
    #[server(default)]
    accepted_votes_only: Option<String>,
    /// Strategy order of the mix, comma-separated (`extreme, margin`); empty: no mix.
    #[server(default)]
    strategy_order: Option<String>,
    /// Rubric versions (`name@version`, comma-separated) whose pairs to take; empty: any.
    #[server(default)]
    rubrics: Option<String>,
    /// Length balance: the target share of pairs whose chosen answer is longer (empty: off).
    #[server(default)]
    length_balance: Option<String>,
    /// Length balance: allowed distance from the target (empty: 0.05).
    #[server(default)]
    length_tolerance: Option<String>,
    /// Most characters by which chosen and rejected may differ (empty: no cap).
    #[server(default)]
    max_length_gap: Option<String>,
    /// Drop pairs whose prompt is a near-duplicate (similarity at least this; empty: off).
    #[server(default)]
    near_duplicate_jaccard: Option<String>,
    /// How the near-duplicate rule compares prompts: `minhash` (Jaccard) or `minilm` (cosine).
    #[server(default)]
    near_duplicate_method: Option<String>,
    /// Versions whose prompts are evaluation prompts for the near-duplicate rule, comma-separated.
    #[server(default)]
    near_duplicate_against: Option<String>,
    /// A whole recipe as JSON; when given it replaces every field above but the tag.
    #[server(default)]
    recipe_json: Option<String>,
) -> Result<pairwise_core::dto::DatasetVersionView, AppError> {
    let number = |field: &str, s: &str| -> Result<Option<f64>, AppError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<f64>().map(Some).map_err(|_| AppError::Invalid {
            field: field.into(),
            message: "must be a number".into(),
        })
    };
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let written = recipe_json
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let recipe = if let Some(json) = written {
        serde_json::from_str::<pairwise_core::Recipe>(json).map_err(|e| AppError::Invalid {
            field: "recipe_json".into(),
            message: e.to_string(),
        })?
    } else {
        pairwise_core::Recipe {
            sources: list(&sources),
            strategies: Vec::new(),
            rubrics: list(rubrics.as_deref().unwrap_or("")),
            min_margin: number("min_margin", &min_margin)?,
            max_margin: number("max_margin", &max_margin)?,
            kappa_gate: kappa_gate.is_none().then_some(false),
            votes: accepted_votes_only
                .is_some()
                .then_some(pairwise_core::annotation::review::VoteSelection::Accepted),
            split: number("eval_fraction", eval_fraction.as_deref().unwrap_or(""))?.map(|f| {
                pairwise_core::recipe::SplitRule {
                    eval_fraction: f,
                    seed: 0,
                    keep_prompt_split: true,
                }
            }),
            mix: pairwise_core::Recipe::mix_from_order(strategy_order.as_deref().unwrap_or("")),
            near_duplicates: number(
                "near_duplicate_jaccard",
                near_duplicate_jaccard.as_deref().unwrap_or(""),
            )?
            .map(|threshold| {
                let minilm = near_duplicate_method.as_deref() == Some("minilm");
                pairwise_core::recipe::NearDuplicates {
                    method: if minilm {
                        pairwise_core::recipe::NearDuplicateMethod::Minilm
                    } else {
                        pairwise_core::recipe::NearDuplicateMethod::Minhash
                    },
                    jaccard: if minilm { 0.8 } else { threshold },
                    cosine: minilm.then_some(threshold),
                    against: list(near_duplicate_against.as_deref().unwrap_or("")),
                }
            }),
            max_length_gap: match max_length_gap.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(chars) => Some(pairwise_core::recipe::LengthGap {
                    chars: Some(chars.parse::<u64>().map_err(|_| AppError::Invalid {
                        field: "max_length_gap".into(),
                        message: "must be a whole number of characters".into(),
                    })?),
                    tokens: None,
                }),
            },
            length_balance: match number("length_balance", length_balance.as_deref().unwrap_or(""))?
            {
                Some(share) => Some(pairwise_core::recipe::LengthBalance {
                    share_chosen_longer: share,
                    tolerance: number(
                        "length_tolerance",
                        length_tolerance.as_deref().unwrap_or(""),
                    )?
                    .unwrap_or(0.05),
                    unit: pairwise_core::recipe::LengthUnit::Chars,
                }),
                None => None,
            },
            tokenizer: None,
        }
    };
    let request = pairwise_core::requests::FreezeRequest {
        tag,
        recipe,
        from: None,
    };
    Ok(pairwise_pipeline::datasets::freeze_version(&db()?, &actor()?, &project, request).await?)
}

#[server]
pub async fn diff_versions(
    project: String,
    from: String,
    to: String,
) -> Result<pairwise_core::dto::DatasetDiff, AppError> {
    let db = db()?;
    let p = member_project(&project, Role::Reviewer).await?;
    Ok(pairwise_store::datasets::diff(&db, p.id, &from, &to).await?)
}

#[server]
pub async fn list_pairs(
    project: String,
    offset: u64,
    source: String,
    strategy: String,
    search: String,
    min_margin: String,
    max_margin: String,
    length: String,
    flag: String,
    /// Tag of a dataset version: only its members, in version order (empty: the project's pairs).
    #[server(default)]
    version: String,
    /// `train` or `eval` (needs a version).
    #[server(default)]
    split: String,
) -> Result<Page<pairwise_core::dto::PairView>, AppError> {
    let db = db()?;
    let p = member_project(&project, Role::Reviewer).await?;
    let version = match version.trim() {
        "" => None,
        tag => Some(pairwise_store::datasets::require(&db, p.id, tag).await?.id),
    };
    let number = |field: &str, v: String| -> Result<Option<f64>, AppError> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| AppError::Invalid {
                field: field.into(),
                message: format!("`{v}` is not a number"),
            })
    };
    let filter = pairwise_store::pairs::PairFilter {
        source: Some(source).filter(|s| !s.is_empty()),
        strategy: Some(strategy).filter(|s| !s.is_empty()),
        search: Some(search).filter(|s| !s.is_empty()),
        min_margin: number("min_margin", min_margin)?,
        max_margin: number("max_margin", max_margin)?,
        length: Some(length).filter(|s| !s.is_empty()),
        flag: Some(flag).filter(|s| !s.is_empty()),
        version,
        split: Some(split).filter(|s| !s.is_empty()),
    };
    Ok(pairwise_store::pairs::page(&db, p.id, &filter, PAIR_PAGE, offset).await?)
}

/// A dataset version with its quality report (the version page).
#[server]
pub async fn version_report(
    project: String,
    tag: String,
    against: Option<String>,
) -> Result<
    (
        pairwise_core::dto::DatasetVersionView,
        pairwise_core::dto::QualityReport,
    ),
    AppError,
> {
    let db = db()?;
    let p = member_project(&project, Role::Reviewer).await?;
    let version = pairwise_store::datasets::get_view(&db, p.id, &tag).await?;
    let against = against.filter(|a| !a.trim().is_empty());
    let report = pairwise_pipeline::quality_report(&db, &project, &tag, against.as_deref()).await?;
    Ok((version, report))
}
