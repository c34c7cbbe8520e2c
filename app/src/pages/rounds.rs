//! /rounds?project=NAME (reviewers): a project's iteration rounds side by side — each round's
//! generator, its dataset version's pairs, its judge runs against gold, over-refusal and
//! harmlessness from its evaluation, and the win rate of its generator against the previous
//! round's on held-out prompts (the pairwise judge in both orders). Forms record the next round
//! and start the comparison with the previous one.

use crate::{
    api::{
        models::list_models,
        projects::list_projects,
        rounds::{list_rounds, SaveRound, StartDuel},
    },
    components::guard::{action_error, ErrorBox, Guarded},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use pairwise_core::{dto::RoundView, duel::ALL, Role};

#[component]
pub fn RoundsPage() -> impl IntoView {
    view! {
        <Title text="Rounds" />
        <Guarded role=Role::Reviewer>
            <Rounds />
        </Guarded>
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or("—".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}

fn runs(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "—".into();
    }
    ids.iter()
        .map(|id| format!("#{id}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[component]
fn Rounds() -> impl IntoView {
    let query = use_query_map();
    let save = ServerAction::<SaveRound>::new();
    let duel = ServerAction::<StartDuel>::new();
    // Every resource at the page's top, so hydration finds each one's data where SSR put it.
    let models = Resource::new(|| (), |_| list_models());
    let projects = Resource::new(|| (), |_| list_projects());
    let data = Resource::new(
        move || {
            (
                query.with(|q| q.get("project")),
                save.version().get(),
                duel.version().get(),
            )
        },
        |(project, _, _)| async move {
            let projects: Vec<String> =
                list_projects().await?.into_iter().map(|p| p.name).collect();
            let project = project
                .or_else(|| projects.first().cloned())
                .unwrap_or_default();
            let rounds = if project.is_empty() {
                Vec::new()
            } else {
                list_rounds(project.clone()).await?
            };
            Ok::<_, crate::error::AppError>((projects, project, rounds))
        },
    );
    view! {
        <h1>"Rounds"</h1>
        <p class="muted">"Preference data is made in rounds: a new generator makes new candidates, a judge scores them, a dataset version is frozen and trained on. Each column is a round; the win rate is the round's generator against the previous round's on the benign prompts both evaluations answered (held out from every pair), read by the pairwise judge in both orders so position bias cancels: 50% is parity."</p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let models: Vec<String> = models.await.map(|l| l.into_iter().map(|m| m.name).collect()).unwrap_or_default();
                let (projects, project, rounds) = match data.await {
                    Ok(data) => data,
                    Err(error) => return view! { <ErrorBox error /> }.into_any(),
                };
                view! {
                    <nav class="row" aria-label="project" style="gap: 1rem">
                        {projects.into_iter().map(|p| {
                            let current = p == project;
                            let href = format!("/rounds?project={p}");
                            view! { <a href=href class:current=current aria-current=current.then_some("page")>{p}</a> }
                        }).collect_view()}
                    </nav>
                    {if rounds.is_empty() {
                        view! { <p class="muted" data-testid="rounds-empty">"No rounds recorded in this project yet."</p> }.into_any()
                    } else {
                        view! {
                            <Columns rounds=rounds.clone() />
                            <CompareForm project=project.clone() rounds duel models=models.clone() />
                        }.into_any()
                    }}
                }.into_any()
            })}
        </Transition>
        // Outside the rounds' Transition: a refused save keeps the form open with its fields.
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let models: Vec<String> = models.await.map(|l| l.into_iter().map(|m| m.name).collect()).unwrap_or_default();
                let first = projects.await.ok().and_then(|l| l.into_iter().next()).map(|p| p.name).unwrap_or_default();
                let project = query.with(|q| q.get("project")).unwrap_or(first);
                view! { <SaveForm project save models /> }
            })}
        </Suspense>
        {action_error(duel.value())}
        {move || duel.value().get().and_then(|r| r.ok()).map(|r| view! { <p class="ok" role="status" data-testid="compare-started">{format!("Duel run #{} queued; the win rate fills in as it runs (follow it on /runs).", r.id)}</p> })}
        {action_error(save.value())}
        {move || save.value().get().and_then(|r| r.ok()).map(|r| view! { <p class="ok" role="status" data-testid="round-saved">{format!("Round {} recorded.", r.number)}</p> })}
    }
}

/// One row of the side-by-side table: a label and a cell per round.
fn row(
    label: &'static str,
    testid: &'static str,
    rounds: &[RoundView],
    cell: impl Fn(&RoundView) -> String,
) -> impl IntoView {
    view! {
        <tr data-testid=testid>
            <th scope="row">{label}</th>
            {rounds.iter().map(|r| view! { <td class="num">{cell(r)}</td> }).collect_view()}
        </tr>
    }
}

#[component]
fn Columns(rounds: Vec<RoundView>) -> impl IntoView {
    let win = |r: &RoundView| match &r.vs_previous {
        None if r.number == 1 => "— (first round)".to_owned(),
        None => "not compared".to_owned(),
        Some(d) => match d.tally.get(ALL) {
            Some(t) => format!(
                "{} ({}–{}, {} split, of {}){}",
                percent(t.win_rate),
                t.first_wins,
                t.second_wins,
                t.split,
                t.items,
                if d.status == "done" {
                    String::new()
                } else {
                    format!(" · {}", d.status)
                }
            ),
            None => format!("run #{} {}", d.run, d.status),
        },
    };
    view! {
        <table class="data rounds" data-testid="rounds">
            <thead>
                <tr>
                    <th></th>
                    {rounds.iter().map(|r| view! {
                        <th scope="col" data-testid="round-head">{format!("Round {}", r.number)}{(!r.name.is_empty()).then(|| view! { <br /><small class="muted">{r.name.clone()}</small> })}</th>
                    }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {row("Generator", "round-generator", &rounds, |r| format!("{}@{}", r.generator, short(&r.generator_version)))}
                {row("Dataset version", "round-version", &rounds, |r| r.dataset_version.clone().unwrap_or_else(|| "—".into()))}
                {row("Pairs", "round-pairs", &rounds, |r| r.pairs.map_or("—".into(), |n| n.to_string()))}
                {row("Generation runs", "round-generation", &rounds, |r| runs(&r.generation_runs))}
                {row("Judge runs", "round-judges", &rounds, |r| runs(&r.judge_runs))}
                {row("Judge vs gold", "round-gold", &rounds, |r| {
                    if r.judge_gold.is_empty() {
                        return "—".into();
                    }
                    r.judge_gold.iter().map(|g| format!("#{}: {} of {} (κ {})", g.run, percent(g.accuracy), g.n, g.kappa.map_or("—".into(), |k| format!("{k:.2}")))).collect::<Vec<_>>().join("; ")
                })}
                {row("Evaluation", "round-eval", &rounds, |r| r.eval_run.map_or("—".into(), |id| format!("#{id}")))}
                {row("Over-refusal", "round-over-refusal", &rounds, |r| percent(r.figures.as_ref().and_then(|f| f.over_refusal)))}
                {row("Harmlessness", "round-harmlessness", &rounds, |r| percent(r.figures.as_ref().and_then(|f| f.harmlessness)))}
                {row("Helpfulness", "round-helpfulness", &rounds, |r| r.figures.as_ref().and_then(|f| f.helpfulness).map_or("—".into(), |h| format!("{h:.3}")))}
                {row("Win rate vs previous", "round-win", &rounds, win)}
                {row("Judge order consistency", "round-consistency", &rounds, |r| percent(r.vs_previous.as_ref().and_then(|d| d.tally.get(ALL)).and_then(|t| t.consistency)))}
            </tbody>
        </table>
    }
}

#[component]
fn CompareForm(
    project: String,
    rounds: Vec<RoundView>,
    duel: ServerAction<StartDuel>,
    models: Vec<String>,
) -> impl IntoView {
    let comparable: Vec<i32> = rounds
        .iter()
        .filter(|r| r.number > 1 && r.eval_run.is_some())
        .map(|r| r.number)
        .collect();
    if comparable.is_empty() {
        return view! { <p class="muted">"A round is compared with the previous one once both record an evaluation."</p> }.into_any();
    }
    view! {
        <ActionForm action=duel attr:class="row card">
            <input type="hidden" name="project" value=project />
            <label>"Round " <select name="round" data-testid="compare-round">
                {comparable.into_iter().rev().map(|n| view! { <option value=n.to_string()>{format!("{n} vs {}", n - 1)}</option> }).collect_view()}
            </select></label>
            <label title="the pairwise judge reads both answers in both orders">"Judge " <select name="judge" data-testid="compare-judge">
                {models.iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
            </select></label>
            <button type="submit" class="primary" data-testid="compare-start">"Compare with the previous round"</button>
        </ActionForm>
    }
    .into_any()
}

#[component]
fn SaveForm(project: String, save: ServerAction<SaveRound>, models: Vec<String>) -> impl IntoView {
    view! {
        <details class="card">
            <summary>"Record the next round"</summary>
            <ActionForm action=save attr:class="row">
                <input type="hidden" name="project" value=project />
                <label>"Generator " <select name="generator" data-testid="round-form-generator">
                    {models.iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
                </select></label>
                <label>"Name " <input name="name" size="14" data-testid="round-form-name" /></label>
                <label title="comma-separated run ids">"Generation runs " <input name="generation_runs" size="8" data-testid="round-form-generation" /></label>
                <label title="comma-separated run ids">"Judge runs " <input name="judge_runs" size="8" data-testid="round-form-judges" /></label>
                <label>"Dataset version " <input name="dataset_version" size="8" data-testid="round-form-version" /></label>
                <label title="a finished evaluation run of the generator">"Evaluation run " <input name="eval_run" size="5" data-testid="round-form-eval" /></label>
                <label>"Note " <input name="note" size="20" /></label>
                <button type="submit" class="primary" data-testid="round-form-save">"Record round"</button>
            </ActionForm>
        </details>
    }
}
