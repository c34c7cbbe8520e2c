//! Inter-annotator agreement on nominal labels: percent agreement, Cohen's κ for every pair of
//! annotators, Fleiss' κ and Krippendorff's α (missing ratings allowed). The definitions follow
//! the reference implementations the tests compare against: scikit-learn's `cohen_kappa_score`,
//! statsmodels' `fleiss_kappa` and the `krippendorff` package (level "nominal").

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One rating: `annotator` gave `label` to `item`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub item: String,
    pub annotator: String,
    pub label: String,
}

/// Cohen's κ between two annotators on the items both rated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairKappa {
    pub a: String,
    pub b: String,
    /// `None` when undefined (fewer than one shared item, or both always gave one same label).
    pub kappa: Option<f64>,
    /// Items both annotators rated.
    pub n: u64,
}

/// Every statistic of a set of ratings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Mean over items with ≥ 2 ratings of the share of agreeing rating pairs.
    pub percent_agreement: Option<f64>,
    /// Over the items rated by the most common number (≥ 2) of annotators.
    pub fleiss_kappa: Option<f64>,
    /// Items Fleiss' κ used.
    pub fleiss_items: u64,
    pub krippendorff_alpha: Option<f64>,
    pub cohen: Vec<PairKappa>,
    pub annotators: Vec<String>,
    pub items: u64,
    pub labels: Vec<String>,
    pub ratings: u64,
}

/// A bad line of a ratings file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {message}", field.as_ref().map(|f| format!(", field `{f}`")).unwrap_or_default())]
pub struct RatingsError {
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

fn scalar(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// JSONL lines `{"item": …, "annotator": …, "label": …}` (strings or numbers; a null or empty
/// label is a missing rating and is skipped). Blank lines are skipped.
pub fn read_jsonl(reader: impl std::io::BufRead) -> Result<Vec<Rating>, RatingsError> {
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        let err = |field: Option<&str>, message: String| RatingsError {
            line: line_no,
            field: field.map(str::to_owned),
            message,
        };
        let line = line.map_err(|e| err(None, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| err(None, format!("invalid JSON: {e}")))?;
        if !value.is_object() {
            return Err(err(None, "expected a JSON object".into()));
        }
        let item = scalar(value.get("item"))
            .ok_or_else(|| err(Some("item"), "missing or not a string/number".into()))?;
        let annotator = scalar(value.get("annotator"))
            .ok_or_else(|| err(Some("annotator"), "missing or not a string/number".into()))?;
        if value.get("label").is_none() {
            return Err(err(
                Some("label"),
                "missing (use null for no rating)".into(),
            ));
        }
        if let Some(label) = scalar(value.get("label")) {
            out.push(Rating {
                item,
                annotator,
                label,
            });
        }
    }
    Ok(out)
}

/// How a CSV holds ratings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvLayout {
    /// One rating per row.
    Long {
        item: String,
        annotator: String,
        label: String,
    },
    /// One item per row, one column per annotator (the column name is the annotator); the item
    /// is the `item` column when given, else the row number.
    Wide {
        columns: Vec<String>,
        item: Option<String>,
    },
}

/// Ratings from a CSV with a header row; empty cells are missing ratings.
pub fn read_csv(
    reader: impl std::io::Read,
    layout: &CsvLayout,
) -> Result<Vec<Rating>, RatingsError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let header_err = |e: csv::Error| RatingsError {
        line: 1,
        field: None,
        message: e.to_string(),
    };
    let headers = csv.headers().map_err(header_err)?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| RatingsError {
                line: 1,
                field: Some(name.to_owned()),
                message: format!(
                    "no such column (columns: {})",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            })
    };
    let (item_col, cols): (Option<usize>, Vec<(String, usize)>) = match layout {
        CsvLayout::Long {
            item,
            annotator,
            label,
        } => (
            Some(column(item)?),
            vec![
                (annotator.clone(), column(annotator)?),
                (label.clone(), column(label)?),
            ],
        ),
        CsvLayout::Wide { columns, item } => (
            item.as_deref().map(column).transpose()?,
            columns
                .iter()
                .map(|c| Ok((c.clone(), column(c)?)))
                .collect::<Result<_, RatingsError>>()?,
        ),
    };
    let mut out = Vec::new();
    for (i, record) in csv.records().enumerate() {
        let record = record.map_err(|e| RatingsError {
            line: e.position().map_or(i as u64 + 2, |p| p.line()),
            field: None,
            message: e.to_string(),
        })?;
        let line = record.position().map_or(i as u64 + 2, |p| p.line());
        let cell = |idx: usize| record.get(idx).unwrap_or("").trim().to_owned();
        let item = match item_col {
            Some(c) => cell(c),
            None => (i + 1).to_string(),
        };
        if item.is_empty() {
            return Err(RatingsError {
                line,
                field: match layout {
                    CsvLayout::Long { item, .. } => Some(item.clone()),
                    CsvLayout::Wide { item, .. } => item.clone(),
                },
                message: "empty item".into(),
            });
        }
        match layout {
            CsvLayout::Long { .. } => {
                let (annotator, label) = (cell(cols[0].1), cell(cols[1].1));
                if annotator.is_empty() {
                    return Err(RatingsError {
                        line,
                        field: Some(cols[0].0.clone()),
                        message: "empty annotator".into(),
                    });
                }
                if !label.is_empty() {
                    out.push(Rating {
                        item,
                        annotator,
                        label,
                    });
                }
            }
            CsvLayout::Wide { .. } => {
                for (name, idx) in &cols {
                    let label = cell(*idx);
                    if !label.is_empty() {
                        out.push(Rating {
                            item: item.clone(),
                            annotator: name.clone(),
                            label,
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Cohen's κ of two parallel label sequences (unweighted, as sklearn computes it).
pub fn cohen_kappa(a: &[&str], b: &[&str]) -> Option<f64> {
    let n = a.len().min(b.len());
    if n == 0 {
        return None;
    }
    let labels: BTreeSet<&str> = a.iter().chain(b.iter()).copied().collect();
    let index: BTreeMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let k = labels.len();
    let mut confusion = vec![vec![0f64; k]; k];
    for i in 0..n {
        confusion[index[a[i]]][index[b[i]]] += 1.0;
    }
    let rows: Vec<f64> = confusion.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..k)
        .map(|j| confusion.iter().map(|r| r[j]).sum())
        .collect();
    let total = n as f64;
    let observed_disagreement: f64 = (0..k)
        .flat_map(|i| (0..k).map(move |j| (i, j)))
        .filter(|(i, j)| i != j)
        .map(|(i, j)| confusion[i][j])
        .sum();
    let expected_disagreement: f64 = (0..k)
        .flat_map(|i| (0..k).map(move |j| (i, j)))
        .filter(|(i, j)| i != j)
        .map(|(i, j)| rows[i] * cols[j] / total)
        .sum();
    (expected_disagreement > 0.0).then(|| 1.0 - observed_disagreement / expected_disagreement)
}

/// Fleiss' κ of an items × categories count table where every item has the same number of
/// ratings (statsmodels' `fleiss_kappa(table, method="fleiss")`).
pub fn fleiss_kappa(table: &[Vec<f64>]) -> Option<f64> {
    let raters = table.first()?.iter().sum::<f64>();
    if raters < 2.0
        || table
            .iter()
            .any(|row| (row.iter().sum::<f64>() - raters).abs() > 1e-9)
    {
        return None;
    }
    let total: f64 = table.iter().flatten().sum();
    let categories = table[0].len();
    let p_cat: Vec<f64> = (0..categories)
        .map(|j| table.iter().map(|r| r[j]).sum::<f64>() / total)
        .collect();
    let p_item: Vec<f64> = table
        .iter()
        .map(|r| (r.iter().map(|x| x * x).sum::<f64>() - raters) / (raters * (raters - 1.0)))
        .collect();
    let p_mean = p_item.iter().sum::<f64>() / table.len() as f64;
    let p_expected: f64 = p_cat.iter().map(|p| p * p).sum();
    (p_expected < 1.0).then(|| (p_mean - p_expected) / (1.0 - p_expected))
}

/// Krippendorff's α for nominal data: `units` holds each unit's labels (missing ratings simply
/// absent); units with fewer than two labels are not pairable and are skipped.
pub fn krippendorff_alpha(units: &[Vec<&str>]) -> Option<f64> {
    let labels: BTreeSet<&str> = units.iter().flatten().copied().collect();
    let index: BTreeMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let k = labels.len();
    let mut coincidence = vec![vec![0f64; k]; k];
    for unit in units.iter().filter(|u| u.len() >= 2) {
        let m = unit.len() as f64;
        for (i, a) in unit.iter().enumerate() {
            for (j, b) in unit.iter().enumerate() {
                if i != j {
                    coincidence[index[a]][index[b]] += 1.0 / (m - 1.0);
                }
            }
        }
    }
    let n_c: Vec<f64> = coincidence.iter().map(|r| r.iter().sum()).collect();
    let n: f64 = n_c.iter().sum();
    if n <= 1.0 {
        return None;
    }
    let observed: f64 = (0..k)
        .flat_map(|c| (0..k).map(move |d| (c, d)))
        .filter(|(c, d)| c != d)
        .map(|(c, d)| coincidence[c][d])
        .sum();
    let expected: f64 = (0..k)
        .flat_map(|c| (0..k).map(move |d| (c, d)))
        .filter(|(c, d)| c != d)
        .map(|(c, d)| n_c[c] * n_c[d])
        .sum::<f64>()
        / (n - 1.0);
    (expected > 0.0).then(|| 1.0 - observed / expected)
}

/// Every statistic over `ratings`. An annotator who rates an item twice counts once (the last
/// rating wins), as one rater per cell in a reliability matrix.
pub fn agreement(ratings: &[Rating]) -> Agreement {
    let mut cells: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for r in ratings {
        cells
            .entry(r.item.as_str())
            .or_default()
            .insert(r.annotator.as_str(), r.label.as_str());
    }
    let annotators: BTreeSet<&str> = ratings.iter().map(|r| r.annotator.as_str()).collect();
    let labels: BTreeSet<&str> = ratings.iter().map(|r| r.label.as_str()).collect();
    let label_index: BTreeMap<&str, usize> =
        labels.iter().enumerate().map(|(i, l)| (*l, i)).collect();

    let units: Vec<Vec<&str>> = cells
        .values()
        .map(|m| m.values().copied().collect())
        .collect();
    let pairable: Vec<&Vec<&str>> = units.iter().filter(|u| u.len() >= 2).collect();
    let percent_agreement = (!pairable.is_empty()).then(|| {
        pairable
            .iter()
            .map(|u| {
                let m = u.len() as f64;
                let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
                for l in u.iter() {
                    *counts.entry(l).or_default() += 1.0;
                }
                counts.values().map(|c| c * (c - 1.0)).sum::<f64>() / (m * (m - 1.0))
            })
            .sum::<f64>()
            / pairable.len() as f64
    });

    // Fleiss: the items rated by the most common number of annotators (ties → more raters).
    let mut by_size: BTreeMap<usize, u64> = BTreeMap::new();
    for u in &pairable {
        *by_size.entry(u.len()).or_default() += 1;
    }
    let modal = by_size
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)))
        .map(|(size, _)| *size);
    let table: Vec<Vec<f64>> = pairable
        .iter()
        .filter(|u| Some(u.len()) == modal)
        .map(|u| {
            let mut row = vec![0.0; labels.len()];
            for l in u.iter() {
                row[label_index[l]] += 1.0;
            }
            row
        })
        .collect();

    let names: Vec<&str> = annotators.iter().copied().collect();
    let mut cohen = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let (mut la, mut lb) = (Vec::new(), Vec::new());
            for item in cells.values() {
                if let (Some(x), Some(y)) = (item.get(a), item.get(b)) {
                    la.push(*x);
                    lb.push(*y);
                }
            }
            cohen.push(PairKappa {
                a: (*a).to_owned(),
                b: (*b).to_owned(),
                kappa: cohen_kappa(&la, &lb),
                n: la.len() as u64,
            });
        }
    }
    Agreement {
        percent_agreement,
        fleiss_items: table.len() as u64,
        fleiss_kappa: fleiss_kappa(&table),
        krippendorff_alpha: krippendorff_alpha(&units),
        cohen,
        annotators: names.iter().map(|s| (*s).to_owned()).collect(),
        items: cells.len() as u64,
        labels: labels.iter().map(|s| (*s).to_owned()).collect(),
        ratings: ratings.len() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cohen_matches_the_textbook_example() {
        // 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 → p_o 0.7, p_e 0.5, κ 0.4.
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (x, y, n) in [
            ("y", "y", 20),
            ("y", "n", 5),
            ("n", "y", 10),
            ("n", "n", 15),
        ] {
            for _ in 0..n {
                a.push(x);
                b.push(y);
            }
        }
        assert!((cohen_kappa(&a, &b).expect("kappa") - 0.4).abs() < 1e-12);
        assert_eq!(
            cohen_kappa(&["x", "x"], &["x", "x"]),
            None,
            "undefined, not 1"
        );
    }

    #[test]
    fn perfect_agreement_and_missing_ratings() {
        let ratings: Vec<Rating> = [
            ("1", "a", "x"),
            ("1", "b", "x"),
            ("2", "a", "y"),
            ("2", "b", "y"),
            ("3", "a", "x"),
        ]
        .iter()
        .map(|(i, a, l)| Rating {
            item: (*i).into(),
            annotator: (*a).into(),
            label: (*l).into(),
        })
        .collect();
        let r = agreement(&ratings);
        assert_eq!(r.percent_agreement, Some(1.0));
        assert_eq!(r.krippendorff_alpha, Some(1.0));
        assert_eq!(r.fleiss_kappa, Some(1.0));
        assert_eq!(r.cohen[0].n, 2);
        assert_eq!(r.items, 3);
    }
}
