//! The judges against gold on /calibration: each judge × rubric version's accuracy and κ on the
//! project's gold items run by run, beside the annotators' own gold votes, as a table and as
//! lines over time (SVG).

use super::{fmt, pct};
use leptos::prelude::*;
use pairwise_core::annotation::{drift::JudgeGoldSeries, GoldDrift};

/// A judge's name as the chart and table show it: bare content hashes shortened, names and
/// servers kept.
fn short(judge: &str) -> String {
    if judge.contains('@') || judge.contains(' ') {
        judge.chars().take(48).collect()
    } else {
        judge.chars().take(12).collect()
    }
}

fn signed(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{:+.1} pts", v * 100.0))
}

#[component]
pub fn GoldDriftSection(drift: GoldDrift, gold_items: u64) -> impl IntoView {
    let empty = drift.judges.is_empty();
    let humans = drift.humans.clone();
    view! {
        <h2 id="judge-drift">"Judges against gold, over time"</h2>
        <p class="muted">{format!(
            "Every judge run also judges up to {} of the project's gold items (the oldest, so runs compare), kept out of pairs; \
             accuracy and κ are against the gold answers as they are now, beside the annotators' gold votes. The project has {} gold items.",
            pairwise_core::run_requests::DEFAULT_GOLD_ITEMS, gold_items
        )}</p>
        {empty.then(|| view! {
            <p class="muted" data-testid="gold-drift-empty">"No finished judge run has judged gold yet: add gold items (below), then start a judge run."</p>
        })}
        <table class="data" data-testid="gold-drift">
            <thead><tr><th>"Judge"</th><th>"Rubric"</th><th class="num">"Run"</th><th>"Finished"</th><th>"Mode"</th>
                <th class="num">"Gold items"</th><th class="num">"Unread"</th><th class="num">"Accuracy"</th><th class="num">"κ"</th><th>"Since the first run"</th></tr></thead>
            <tbody>
                {drift.judges.iter().flat_map(|s| {
                    let last = s.runs.len().saturating_sub(1);
                    s.runs.iter().enumerate().map(move |(i, r)| view! {
                        <tr data-testid="gold-drift-run">
                            <td title=s.judge.clone()>{short(&s.judge)}</td><td>{s.rubric.clone()}</td>
                            <td class="num"><a href=format!("/runs/{}", r.run)>{r.run}</a></td>
                            <td><time>{r.at.clone()}</time></td><td>{r.mode.clone()}</td>
                            <td class="num">{r.n}</td><td class="num">{r.unread}</td>
                            <td class="num" data-testid="judge-gold-accuracy">{pct(r.accuracy)}</td>
                            <td class="num" data-testid="judge-gold-kappa">{fmt(r.kappa)}</td>
                            <td>{(i == last).then(|| format!("{} {}", signed(s.accuracy_change),
                                s.kappa_change.map_or_else(String::new, |k| format!("(κ {k:+.3})"))))}</td>
                        </tr>
                    }).collect::<Vec<_>>()
                }).collect_view()}
                <tr data-testid="gold-drift-humans">
                    <td>"Annotators (all gold votes)"</td><td>"—"</td><td class="num">"—"</td>
                    <td>{humans.days.last().map(|d| d.day.clone())}</td><td>"votes"</td>
                    <td class="num">{humans.n}</td><td class="num">"—"</td>
                    <td class="num" data-testid="humans-gold-accuracy">{pct(humans.accuracy)}</td>
                    <td class="num">{fmt(humans.kappa)}</td><td></td>
                </tr>
            </tbody>
        </table>
        {(!empty).then(|| view! { <DriftChart judges=drift.judges.clone() humans=drift.humans.days.clone() /> })}
    }
}

/// A point of the chart: x, y and its tooltip.
type Point = (f64, f64, String);

/// Accuracy against gold per judge run (one line per judge × rubric version) and per day of
/// human gold votes (dashed), in time order.
#[component]
fn DriftChart(
    judges: Vec<JudgeGoldSeries>,
    humans: Vec<pairwise_core::annotation::drift::HumanGoldDay>,
) -> impl IntoView {
    const W: f64 = 560.0;
    const H: f64 = 180.0;
    const LEFT: f64 = 44.0;
    const TOP: f64 = 10.0;
    // Human days sort after every run of the same day.
    let day_key = |d: &str| format!("{d}T23:59:59Z");
    let mut keys: Vec<String> = judges
        .iter()
        .flat_map(|s| s.runs.iter().map(|r| r.at.clone()))
        .chain(humans.iter().map(|d| day_key(&d.day)))
        .collect();
    keys.sort();
    keys.dedup();
    let step = W / (keys.len().max(2) - 1) as f64;
    let x = move |key: &str| LEFT + keys.iter().position(|k| k == key).unwrap_or(0) as f64 * step;
    let y = |v: f64| TOP + (1.0 - v.clamp(0.0, 1.0)) * H;
    let line = |points: &[(f64, f64)]| {
        points
            .iter()
            .map(|(a, b)| format!("{a:.1},{b:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let series: Vec<(String, Vec<Point>)> = judges
        .iter()
        .map(|s| {
            let name = format!("{} · {} · {}", short(&s.judge), s.rubric, s.mode);
            let points = s
                .runs
                .iter()
                .filter_map(|r| {
                    r.accuracy.map(|a| {
                        (
                            x(&r.at),
                            y(a),
                            format!("{name} run {}: {} ({})", r.run, pct(Some(a)), r.at),
                        )
                    })
                })
                .collect();
            (name, points)
        })
        .collect();
    let human_points: Vec<Point> = humans
        .iter()
        .filter_map(|d| {
            d.accuracy.map(|a| {
                (
                    x(&day_key(&d.day)),
                    y(a),
                    format!("annotators {}: {} of {} votes", d.day, pct(Some(a)), d.n),
                )
            })
        })
        .collect();
    let legend_h = 18.0 * (series.len() + 1) as f64;
    let total_h = TOP + H + 24.0 + legend_h;
    view! {
        <figure class="chart">
            <figcaption>"Accuracy against gold, run by run (dashed: annotators per day)"</figcaption>
            <svg viewBox=format!("0 0 {} {total_h}", W + LEFT + 20.0) role="img" aria-label="Judge accuracy against gold over time" data-testid="gold-drift-chart">
                {[0.0, 0.5, 1.0].into_iter().map(|v| view! {
                    <line x1=LEFT x2=LEFT + W y1=y(v) y2=y(v) class="grid" />
                    <text x=LEFT - 6.0 y=y(v) + 4.0 text-anchor="end" class="axis">{format!("{:.0}%", v * 100.0)}</text>
                }).collect_view()}
                {series.iter().enumerate().map(|(i, (name, points))| {
                    let flat: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
                    let legend_y = TOP + H + 24.0 + 18.0 * i as f64;
                    view! {
                        <g class=format!("series s{}", i % 6)>
                            <polyline points=line(&flat) fill="none" />
                            {points.iter().map(|(px, py, tip)| view! {
                                <circle cx=*px cy=*py r="4"><title>{tip.clone()}</title></circle>
                            }).collect_view()}
                            <rect x=LEFT y=legend_y - 9.0 width="12" height="4" />
                            <text x=LEFT + 18.0 y=legend_y class="axis">{name.clone()}</text>
                        </g>
                    }
                }).collect_view()}
                {(!human_points.is_empty()).then(|| {
                    let flat: Vec<(f64, f64)> = human_points.iter().map(|p| (p.0, p.1)).collect();
                    let legend_y = TOP + H + 24.0 + 18.0 * series.len() as f64;
                    view! {
                        <g class="series humans">
                            <polyline points=line(&flat) fill="none" stroke-dasharray="5 4" />
                            {human_points.iter().map(|(px, py, tip)| view! {
                                <circle cx=*px cy=*py r="3"><title>{tip.clone()}</title></circle>
                            }).collect_view()}
                            <text x=LEFT + 18.0 y=legend_y class="axis">"annotators"</text>
                        </g>
                    }
                })}
            </svg>
        </figure>
    }
}
