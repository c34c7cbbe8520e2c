//! One critique → revision loop run (reviewers): per prompt, the principle drawn, the original
//! answer, every critique with its verdict and every revision, how the loop ended, the pair it
//! made, and the models, parameters and seeds behind it.

use crate::{
    api::runs::{critique_loops, LOOP_PAGE},
    components::{
        guard::{ErrorBox, Guarded},
        pager::Pager,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use pairwise_core::{dto::CritiqueLoopView, Role};

#[component]
pub fn CritiquesPage() -> impl IntoView {
    view! {
        <Title text="Critique loops" />
        <Guarded role=Role::Reviewer>
            <Critiques />
        </Guarded>
    }
}

#[component]
fn Critiques() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let run = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let offset = move || {
        query
            .with(|q| q.get("offset"))
            .and_then(|o| o.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let page = Resource::new(
        move || (run(), offset()),
        |(run, offset)| critique_loops(run, offset),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => {
                        let r = page.run;
                        let summary = &r.summary;
                        let count = |k: &str| summary.get("by_end").and_then(|e| e.get(k)).and_then(|n| n.as_u64()).unwrap_or(0);
                        let header = format!(
                            "{} prompts · {} pairs · {} revised, {} still violating after the last round, {} without violation, {} unchanged, {} ended in a template refusal · {} verdicts unread",
                            summary.get("prompts").and_then(|n| n.as_u64()).unwrap_or(r.done),
                            summary.get("pairs").and_then(|n| n.as_u64()).unwrap_or(0),
                            count("revised"), count("max_rounds"), count("no_violation"), count("unchanged"), count("templated_refusal"),
                            summary.get("unread_verdicts").and_then(|n| n.as_u64()).unwrap_or(0),
                        );
                        let models = ["generator", "critic", "reviser"].iter().filter_map(|role| {
                            let m = r.payload.get(*role)?;
                            Some(format!("{role} {}", m.get("name").and_then(|n| n.as_str()).unwrap_or("(directory)")))
                        }).collect::<Vec<_>>().join(" · ");
                        let constitution = r.payload.get("constitution").and_then(|c| c.as_str()).unwrap_or("").to_owned();
                        let shown = page.loops.len() as u64;
                        view! {
                            <h1>{format!("Critique loop run #{} ", r.id)} <span class=format!("badge status-{}", r.status)>{r.status.clone()}</span></h1>
                            <p data-testid="loop-run">{format!("Project {} · constitution {constitution} · {models}", r.project)}</p>
                            <p data-testid="loop-summary">{(r.status == "done").then_some(header)}</p>
                            {r.warnings.into_iter().map(|w| view! { <p class="warning" role="note">"⚠ " {w}</p> }).collect_view()}
                            <Pager offset=offset() shown total=r.done page_size=LOOP_PAGE empty="No loops stored yet." label="Loop pages" summary_testid="loop-pages" next_testid="loop-next" />
                            <div data-testid="loops">{page.loops.into_iter().map(|l| view! { <Loop l /> }).collect_view()}</div>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Loop(l: CritiqueLoopView) -> impl IntoView {
    let provenance = serde_json::to_string_pretty(&l.provenance).unwrap_or_default();
    let pair = l.pair_hash.map(|h| h[..16.min(h.len())].to_owned());
    view! {
        <details class="card loop" data-testid="loop" data-end=l.end.clone()>
            <summary>
                {format!("Prompt {}: ", l.prompt_id)} <q>{l.prompt.chars().take(120).collect::<String>()}</q>
                " " <span class="badge">{l.principle.clone()}</span>
                " " <span class=format!("badge end-{}", l.end)>{l.end.replace('_', " ")}</span>
                {format!(" · {} revision(s)", l.revisions)}
                {pair.map(|h| view! { " · " <span data-testid="loop-pair">{format!("pair {h}")}</span> })}
            </summary>
            <h3>"Original answer (rejected)"</h3>
            <pre class="answer" data-testid="loop-original">{l.original}</pre>
            {l.steps.into_iter().map(|s| view! {
                <section class="step" data-testid="loop-step">
                    <h3>{format!("Round {}: critique against {} — {}", s.round, l.principle, s.verdict.as_str().replace('_', " "))}</h3>
                    <pre class="critique">{s.critique}</pre>
                    {s.revision.map(|r| view! { <h3>{format!("Revision {}", s.round)}</h3><pre class="answer">{r}</pre> })}
                </section>
            }).collect_view()}
            <h3>"Final answer (chosen where a pair was made)"</h3>
            <pre class="answer" data-testid="loop-final">{l.final_text}</pre>
            <details>
                <summary>"Provenance"</summary>
                <pre class="code" data-testid="loop-provenance">{provenance}</pre>
            </details>
        </details>
    }
}
