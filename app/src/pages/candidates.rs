//! The candidate browser (reviewers): for each prompt, every candidate with its path, transform,
//! decoding parameters and seed, and its judge scores labelled by rubric version; pairwise
//! judgments show both orders. Answers are untrusted text (escaped, never HTML).

use crate::{
    api::{candidates::candidate_page, CANDIDATE_PAGE},
    components::{
        guard::{ErrorBox, Guarded},
        pager::Pager,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use pairwise_core::{
    dto::{CandidateView, Page, PromptCandidates},
    Role,
};

#[component]
pub fn CandidatesPage() -> impl IntoView {
    view! {
        <Title text="Candidates" />
        <Guarded role=Role::Reviewer>
            <Candidates />
        </Guarded>
    }
}

#[component]
fn Candidates() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let name = move || params.with(|p| p.get("name").unwrap_or_default());
    let page = Resource::new(
        move || {
            (
                name(),
                query.with(|q| {
                    q.get("offset")
                        .and_then(|o| o.parse::<u64>().ok())
                        .unwrap_or(0)
                }),
            )
        },
        |(name, offset)| candidate_page(name, offset),
    );
    view! {
        <h1>{name} " · candidates"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <PromptList page /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PromptList(page: Page<PromptCandidates>) -> impl IntoView {
    let (offset, shown, total) = (page.offset, page.items.len() as u64, page.total);
    view! {
        {page.items.into_iter().map(|p| view! { <PromptBlock p /> }).collect_view()}
        <Pager offset shown total page_size=CANDIDATE_PAGE empty="No candidates yet: start a generation run on the Runs page." label="Prompt pages" summary_testid="candidate-summary" next_testid="next-candidates" />
    }
}

fn param(c: &CandidateView, key: &str) -> String {
    c.params.get(key).map(|v| v.to_string()).unwrap_or_default()
}

#[component]
fn PromptBlock(p: PromptCandidates) -> impl IntoView {
    let PromptCandidates {
        prompt,
        candidates,
        pairwise,
    } = p;
    let index_of = |id: i64| {
        candidates.iter().find(|c| c.id == id).map_or_else(
            || format!("#{id}"),
            |c| format!("run {} · #{}", c.run_id, c.index),
        )
    };
    let comparisons: Vec<_> = pairwise
        .iter()
        .map(|j| {
            let verdict = |w: &str| match w {
                "first" => index_of(j.first),
                "second" => index_of(j.second),
                _ => "tie".to_owned(),
            };
            view! {
                <li data-consistent=j.consistent.to_string()>
                    {format!("{} vs {} ({}@{}): A/B → {}, B/A → {}", index_of(j.first), index_of(j.second), j.rubric, j.rubric_version, verdict(&j.winner_ab), verdict(&j.winner_ba))}
                    {if j.consistent { view! { " " <span class="badge">"consistent"</span> }.into_any() } else { view! { " " <span class="badge warn">"inconsistent · review"</span> }.into_any() }}
                </li>
            }
        })
        .collect();
    view! {
        <section class="card prompt-candidates" data-testid="prompt-candidates">
            <h2 class="prompt">{prompt.text}</h2>
            <div class="candidates">
                {candidates.into_iter().map(|c| {
                    let scores = c.scores.iter().map(|s| {
                        let dims = s.scores.as_object().map(|o| o.iter().map(|(k, v)| format!("{k} {:.2}", v.as_f64().unwrap_or(f64::NAN))).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                        let text = if s.parse_ok {
                            format!("{}@{} {}: {} → {:.2}", s.rubric, s.rubric_version, s.mode, dims, s.overall.unwrap_or(f64::NAN))
                        } else {
                            format!("{}@{} {}: parse failure", s.rubric, s.rubric_version, s.mode)
                        };
                        view! { <li>{text}</li> }
                    }).collect_view();
                    view! {
                        <article class="candidate" data-path=c.path.clone()>
                            <header>
                                <strong>{format!("run {} · #{}", c.run_id, c.index)}</strong> " "
                                <span class="badge">{c.path.clone()}</span>
                                {c.transform.clone().map(|t| view! { " " <span class="badge warn">{t}</span> })}
                            </header>
                            <p class="muted small">{format!(
                                "T {} · top-p {} · top-k {} · rep {} · seed {} · {} tokens ({}) · mean logprob {:.2}",
                                param(&c, "temperature"), param(&c, "top_p"), param(&c, "top_k"), param(&c, "repetition_penalty"),
                                c.seed, c.token_count, c.finish_reason, c.mean_logprob
                            )}</p>
                            {c.ref_logprob.map(|l| view! { <p class="muted small">{format!("reference mean logprob {l:.2}")}</p> })}
                            <div class="answer">{c.text}</div>
                            <ul class="scores">{scores}</ul>
                        </article>
                    }
                }).collect_view()}
            </div>
            {(!comparisons.is_empty()).then(|| view! {
                <h3>"Pairwise judgments"</h3>
                <ul class="pairwise" data-testid="pairwise">{comparisons}</ul>
            })}
        </section>
    }
}
