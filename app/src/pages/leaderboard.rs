//! /projects/NAME/leaderboard (reviewers): the project's generator versions, decoding paths or
//! adversarial transforms ranked by Bradley–Terry, each a point with its bootstrap 95% interval,
//! the judge's board beside the humans' and their rank correlation. Charts are SVG.

use crate::{
    api::leaderboard::leaderboard,
    components::guard::{ErrorBox, Guarded},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use pairwise_core::{
    leaderboard::{BoardBy, LeaderboardView, Standing},
    Role,
};

#[component]
pub fn LeaderboardPage() -> impl IntoView {
    view! {
        <Title text="Leaderboard" />
        <Guarded role=Role::Reviewer>
            <Leaderboard />
        </Guarded>
    }
}

#[component]
fn Leaderboard() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project = move || params.with(|p| p.get("name").unwrap_or_default());
    let by = move || query.with(|q| q.get("by").unwrap_or_else(|| "generator".into()));
    let data = Resource::new(move || (project(), by()), |(p, b)| leaderboard(p, b));
    view! {
        <h1>"Leaderboard " <small class="muted">{project}</small></h1>
        <nav class="row" aria-label="board" style="gap: 1rem">
            {BoardBy::ALL.into_iter().map(|b| {
                let href = move || format!("/projects/{}/leaderboard?by={}", project(), b.as_str());
                let current = move || by() == b.as_str();
                view! { <a href=href class:current=current aria-current=move || current().then_some("page")>{format!("by {}", b.as_str())}</a> }
            }).collect_view()}
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Ranking…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <Boards view /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Boards(view: LeaderboardView) -> impl IntoView {
    let judge_title = format!(
        "Judge ({}, {} comparisons)",
        view.rubric
            .clone()
            .unwrap_or_else(|| "no finished judge run".into()),
        view.judge_comparisons
    );
    let human_title = format!("Humans ({} comparisons)", view.human_comparisons);
    let rho = view.rank_correlation.map_or_else(
        || "— (fewer than two entries on both boards)".to_owned(),
        |r| format!("{r:.3}"),
    );
    view! {
        <p data-testid="rank-correlation">"Rank correlation of the two boards (Spearman ρ): " {rho}</p>
        <p class="muted">{format!("Log-strengths (mean 0) with bootstrap 95% intervals: {} rounds, seed {}.", view.rounds, view.seed)}</p>
        <div class="boards">
            <section class="card">
                <h2>{judge_title}</h2>
                <Board standings=view.judge testid="board-judge" />
            </section>
            <section class="card">
                <h2>{human_title}</h2>
                <Board standings=view.human testid="board-human" />
            </section>
        </div>
    }
}

/// Points with interval bars on a shared strength axis, strongest on top, and the table.
#[component]
fn Board(standings: Vec<Standing>, testid: &'static str) -> impl IntoView {
    if standings.is_empty() {
        return view! { <p class="muted" data-testid=testid>"No comparisons between two entries yet."</p> }.into_any();
    }
    const W: f64 = 360.0;
    const LABEL: f64 = 190.0;
    const ROW: f64 = 28.0;
    let lo = standings
        .iter()
        .map(|s| s.low)
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let hi = standings
        .iter()
        .map(|s| s.high)
        .fold(f64::NEG_INFINITY, f64::max)
        .max(0.0);
    let span = (hi - lo).max(1e-9);
    let x = move |v: f64| LABEL + (v - lo) / span * (W - 20.0) + 10.0;
    let h = ROW * standings.len() as f64 + 30.0;
    let rows = standings.iter().enumerate().map(|(i, s)| {
        let y = 20.0 + ROW * i as f64;
        let tip = format!("{}: {:+.3} [{:+.3}, {:+.3}], {} comparisons", s.name, s.strength, s.low, s.high, s.comparisons);
        view! {
            <g data-testid="board-entry">
                <text x=LABEL - 8.0 y=y + 4.0 text-anchor="end" class="axis">{s.name.clone()}</text>
                <line x1=x(s.low) x2=x(s.high) y1=y y2=y class="interval" stroke="currentColor" stroke-width="2" />
                <line x1=x(s.low) x2=x(s.low) y1=y - 5.0 y2=y + 5.0 stroke="currentColor" />
                <line x1=x(s.high) x2=x(s.high) y1=y - 5.0 y2=y + 5.0 stroke="currentColor" />
                <circle cx=x(s.strength) cy=y r="5" class="point"><title>{tip}</title></circle>
            </g>
        }
    }).collect_view();
    let zero = x(0.0);
    let table = standings.clone();
    view! {
        <svg viewBox=format!("0 0 {} {h}", LABEL + W) role="img" aria-label="strengths with 95% intervals" data-testid=testid>
            <line x1=zero x2=zero y1="5" y2=h - 20.0 class="zero" stroke="#999" stroke-dasharray="3 3" />
            <text x=zero y=h - 6.0 text-anchor="middle" class="axis">"0"</text>
            <text x=x(lo) y=h - 6.0 text-anchor="start" class="axis">{format!("{lo:+.2}")}</text>
            <text x=x(hi) y=h - 6.0 text-anchor="end" class="axis">{format!("{hi:+.2}")}</text>
            {rows}
        </svg>
        <table class="data">
            <thead><tr><th class="num">"Rank"</th><th>"Entry"</th><th class="num">"Strength"</th><th>"95% interval"</th><th class="num">"Comparisons"</th><th class="num">"Win rate"</th></tr></thead>
            <tbody>
                {table.into_iter().map(|s| view! {
                    <tr>
                        <td class="num">{s.rank}</td>
                        <td>{s.name}</td>
                        <td class="num">{format!("{:+.3}", s.strength)}</td>
                        <td>{format!("[{:+.3}, {:+.3}]", s.low, s.high)}</td>
                        <td class="num">{s.comparisons}</td>
                        <td class="num">{format!("{:.1}%", s.win_rate * 100.0)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
