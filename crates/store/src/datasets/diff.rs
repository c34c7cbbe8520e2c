//! Comparing two versions: the pairs added and removed, and their summary statistics side by
//! side.

use super::{pages::in_version, require, PAGE};
use crate::{
    entities::{dataset_member, pair},
    error::Result,
};
use pairwise_core::dto::{DatasetDiff, StatDelta};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::HashSet;

async fn hashes(db: &impl ConnectionTrait, version_id: i64) -> Result<HashSet<String>> {
    use sea_orm::{JoinType, RelationTrait as _};
    let mut set = HashSet::new();
    let mut position = 0;
    loop {
        let query = dataset_member::Entity::find()
            .select_only()
            .column(dataset_member::Column::Position)
            .column(pair::Column::Hash)
            .join(JoinType::InnerJoin, dataset_member::Relation::Pair.def());
        let page: Vec<(i64, String)> = in_version(query, version_id, position, PAGE)
            .into_tuple()
            .all(db)
            .await?;
        let Some(&(last, _)) = page.last() else {
            return Ok(set);
        };
        position = last + 1;
        set.extend(page.into_iter().map(|(_, h)| h));
    }
}

/// Summary statistics of one version, computed in the database: pairs per strategy, source and
/// split, mean margin, the share of pairs whose chosen answer is longer and the mean length
/// difference (characters, chosen − rejected).
async fn version_stats(
    db: &impl ConnectionTrait,
    version_id: i64,
) -> Result<std::collections::BTreeMap<String, f64>> {
    use sea_orm::{sea_query::Expr, JoinType, RelationTrait as _};
    let members = || {
        dataset_member::Entity::find()
            .select_only()
            .join(JoinType::InnerJoin, dataset_member::Relation::Pair.def())
            .filter(dataset_member::Column::VersionId.eq(version_id))
    };
    let mut out = std::collections::BTreeMap::new();
    let count = || sea_orm::sea_query::Func::count(Expr::col((pair::Entity, pair::Column::Id)));
    let groups: [(&str, sea_orm::sea_query::SimpleExpr); 3] = [
        (
            "strategy",
            Expr::col((pair::Entity, pair::Column::Strategy)),
        ),
        ("source", Expr::col((pair::Entity, pair::Column::Source))),
        (
            "split",
            Expr::col((dataset_member::Entity, dataset_member::Column::Split)),
        ),
    ];
    for (name, expr) in groups {
        let rows: Vec<(Option<String>, i64)> = members()
            .expr_as(expr.clone(), "key")
            .expr_as(count(), "n")
            .group_by(expr)
            .into_tuple()
            .all(db)
            .await?;
        for (key, n) in rows {
            let key = key.unwrap_or_else(|| "(derived on read)".into());
            out.insert(format!("{name}: {key}"), n as f64);
        }
    }
    let (margin, longer, diff): (Option<f64>, Option<f64>, Option<f64>) = members()
        .expr_as(
            Expr::cust("CAST(AVG(margin) AS DOUBLE PRECISION)"),
            "margin",
        )
        .expr_as(
            Expr::cust(
                "CAST(AVG(CASE WHEN length(chosen) > length(rejected) THEN 1.0 ELSE 0.0 END) \
                 AS DOUBLE PRECISION)",
            ),
            "longer",
        )
        .expr_as(
            Expr::cust("CAST(AVG(length(chosen) - length(rejected)) AS DOUBLE PRECISION)"),
            "diff",
        )
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or_default();
    for (name, v) in [
        ("mean margin", margin),
        ("share where chosen is longer", longer),
        ("mean length difference (chars)", diff),
    ] {
        if let Some(v) = v {
            out.insert(name.to_owned(), v);
        }
    }
    Ok(out)
}

/// Both versions' statistics by name: the summary lines first, then the groups.
fn compare(
    a: &std::collections::BTreeMap<String, f64>,
    b: &std::collections::BTreeMap<String, f64>,
) -> Vec<StatDelta> {
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort_by_key(|n| (n.contains(": "), n.as_str()));
    names.dedup();
    names
        .into_iter()
        .map(|name| StatDelta {
            name: name.clone(),
            // A group missing on one side has no pairs there; a mean missing has no data.
            from: a
                .get(name)
                .copied()
                .or((name.contains(": ")).then_some(0.0)),
            to: b
                .get(name)
                .copied()
                .or((name.contains(": ")).then_some(0.0)),
        })
        .collect()
}

/// Pairs added and removed going from version `a` to version `b`.
pub async fn diff(
    db: &impl ConnectionTrait,
    project_id: i64,
    a: &str,
    b: &str,
) -> Result<DatasetDiff> {
    let (va, vb) = (
        require(db, project_id, a).await?,
        require(db, project_id, b).await?,
    );
    let (ha, hb) = (hashes(db, va.id).await?, hashes(db, vb.id).await?);
    let mut added: Vec<&String> = hb.difference(&ha).collect();
    let mut removed: Vec<&String> = ha.difference(&hb).collect();
    added.sort();
    removed.sort();
    Ok(DatasetDiff {
        from: a.to_owned(),
        to: b.to_owned(),
        added: added.len() as u64,
        removed: removed.len() as u64,
        unchanged: ha.intersection(&hb).count() as u64,
        added_examples: added.iter().take(10).map(|s| (*s).clone()).collect(),
        removed_examples: removed.iter().take(10).map(|s| (*s).clone()).collect(),
        from_pair_count: u64::try_from(va.pair_count).unwrap_or(0),
        to_pair_count: u64::try_from(vb.pair_count).unwrap_or(0),
        stats: compare(
            &version_stats(db, va.id).await?,
            &version_stats(db, vb.id).await?,
        ),
    })
}
