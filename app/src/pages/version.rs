//! One dataset version (reviewers): how it was made (recipe, parent, content hash) and its
//! quality report — length bias, templated answers, contamination, margins, counts, judge runs —
//! with histograms drawn as SVG in the page.

use crate::{
    api::{datasets::version_report, models::list_models, rounds::StartDuel},
    components::guard::{action_error, ErrorBox, Guarded},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use pairwise_core::{
    dto::{Bin, CurationReport, CurationStats, DiffStats, QualityReport},
    Role,
};

#[component]
pub fn VersionPage() -> impl IntoView {
    view! {
        <Title text="Dataset version" />
        <Guarded role=Role::Reviewer>
            <Version />
        </Guarded>
    }
}

#[component]
fn Version() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || {
        (
            params.with(|p| p.get("name").unwrap_or_default()),
            params.with(|p| p.get("tag").unwrap_or_default()),
            query.with(|q| q.get("against")),
        )
    };
    let data = Resource::new(key, |(p, t, a)| version_report(p, t, a));
    // At the page's top (not inside the report's Suspend), so it hydrates where SSR put it.
    let models = Resource::new(|| (), |_| list_models());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Computing the report…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((version, report)) => {
                        let recipe = serde_json::to_string(&version.recipe).unwrap_or_default();
                        let back = format!("/projects/{}/datasets", report.project);
                        let browse = format!("{back}?version={}#pairs", version.tag);
                        view! {
                            <h1>{format!("{} · {}", report.project, version.tag)}</h1>
                            <p><a href=back>"All versions"</a> " · " <a href=browse data-testid="browse-version-pairs">"Browse its pairs"</a></p>
                            <dl class="card facts">
                                <dt>"Pairs"</dt><dd data-testid="version-pairs">{version.pair_count}</dd>
                                <dt>"Parent"</dt><dd>{version.parent.unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Content hash"</dt><dd><code>{version.content_hash}</code></dd>
                                <dt>"Recipe"</dt><dd><code>{recipe}</code></dd>
                                <dt>"Frozen"</dt><dd><time>{version.created_at}</time></dd>
                            </dl>
                            {version.curation.map(|curation| view! { <Curation curation /> })}
                            <Report report models />
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

#[component]
fn Report(
    report: QualityReport,
    models: Resource<Result<Vec<pairwise_core::dto::ModelView>, crate::error::AppError>>,
) -> impl IntoView {
    let counts = |map: std::collections::BTreeMap<String, u64>| {
        map.into_iter()
            .map(|(k, v)| view! { <li>{format!("{k}: {v}")}</li> })
            .collect_view()
    };
    view! {
        <section data-testid="quality-report">
            <h2>"Length bias"</h2>
            <LengthBlock label="characters" stats=report.length_chars />
            <LengthBlock label="words" stats=report.length_words />
            {match (report.length_tokens, report.tokenizer) {
                (Some(stats), Some(model)) => view! {
                    <LengthBlock label="tokens" stats />
                    <p class="muted">{format!("Tokens of {model}'s tokenizer, over the sample the template clustering uses.")}</p>
                }.into_any(),
                _ => view! { <p class="muted" data-testid="length-tokens-none">"Token lengths need a registered generator model (its tokenizer counts them)."</p> }.into_any(),
            }}
            <h2>"Templated chosen answers"</h2>
            <p data-testid="templated">{format!(
                "{} of {} chosen answers looked at are in clusters of {}+ near-identical answers (MinHash LSH).",
                pct(report.templated_share), report.templates_sampled, 3
            )}</p>
            <ul class="templates">
                {report.templates.into_iter().map(|c| view! {
                    <li>
                        <strong>{format!("{} ×", c.size)}</strong>
                        {c.refusal_like.then(|| view! { " " <span class="badge warn">"refusal"</span> })}
                        " " {c.examples.first().cloned().unwrap_or_default()}
                    </li>
                }).collect_view()}
            </ul>
            <h2>"Refusals"</h2>
            <p data-testid="refusals">{format!(
                "Chosen: {} refusals, {} of them templated (no reason or no safe alternative; {} of chosen answers). Rejected: {} refusals, {} templated.",
                report.refusals.chosen_refusals, report.refusals.chosen_templated,
                pct(report.refusals.chosen_templated_share), report.refusals.rejected_refusals,
                report.refusals.rejected_templated
            )}</p>
            <h2>"Contamination"</h2>
            <ul data-testid="contamination">
                {report.contamination.into_iter().map(|c| view! {
                    <li>{format!("{}: {} of {} prompts identical, {} near-duplicates (Jaccard ≥ {})", c.against, c.exact, c.compared, c.near, c.threshold)}</li>
                }).collect_view()}
            </ul>
            <form method="get" class="row">
                <label>"Check against version " <input name="against" size="10" /></label>
                <button type="submit">"Check"</button>
            </form>
            <h2>"Margins"</h2>
            <p>{format!("{} pairs have a margin; {} repeated prompts; {} trivial negatives.", report.pairs_with_margin, report.repeated_prompts, report.trivial_negatives)}</p>
            <Histogram bins=report.margin_histogram label="margin" />
            <h2>"Counts"</h2>
            <div class="row">
                <div><h3>"Strategy"</h3><ul>{counts(report.by_strategy)}</ul></div>
                <div><h3>"Source"</h3><ul>{counts(report.by_source)}</ul></div>
                <div data-testid="splits"><h3>"Split"</h3><ul>{counts(report.by_split)}</ul></div>
                <div><h3>"Chosen path"</h3><ul>{counts(report.by_chosen_path)}</ul></div>
                <div data-testid="rubrics"><h3>"Rubric version"</h3><ul>{counts(report.by_rubric)}</ul></div>
                {(!report.by_guard.is_empty()).then(|| {
                    let total = report.pairs.max(1) as f64;
                    let check = report.guard_check.clone();
                    view! {
                        <div data-testid="guards">
                            <h3>"Reward-hacking guards"</h3>
                            <GuardCheck project=report.project.clone() tag=report.version.clone() models />
                            <table class="data">
                                <thead><tr><th>"Guard"</th><th class="num">"Pairs"</th><th class="num">"Share"</th><th class="num" title="a pairwise judge reading both orders: how often it prefers the original (50% is a coin)">"Judge prefers original"</th></tr></thead>
                                <tbody>
                                    {report.by_guard.clone().into_iter().map(|(guard, n)| {
                                        let judged = check.get(&guard).map_or("not checked".to_owned(), |t| format!("{} of {}", pct(t.win_rate.unwrap_or(0.0)), t.items));
                                        view! { <tr data-testid="guard-row"><td>{guard}</td><td class="num">{n}</td><td class="num">{pct(n as f64 / total)}</td><td class="num" data-testid="guard-check">{judged}</td></tr> }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                })}
            </div>
            <h2>"Judge runs"</h2>
            <ul>
                {report.judge_runs.into_iter().map(|j| view! {
                    <li>{format!("run {} ({}, {}): parse failures {}{}", j.run, j.mode, j.rubric, pct(j.parse_failure_rate),
                        j.inconsistency_rate.map(|i| format!(", position inconsistency {}", pct(i))).unwrap_or_default())}</li>
                }).collect_view()}
            </ul>
        </section>
    }
}

/// What the recipe's curation rules did: the selection before and after side by side, and the
/// pairs each rule dropped.
#[component]
fn Curation(curation: CurationReport) -> impl IntoView {
    let side = |title: &'static str, testid: &'static str, stats: CurationStats| {
        view! {
            <div class="grow" data-testid=testid>
                <h3>{format!("{title}: {} pairs", stats.pairs)}</h3>
                <LengthBlock label="characters" stats=stats.length_chars />
                {stats.length_tokens.map(|stats| view! { <LengthBlock label="tokens" stats /> })}
            </div>
        }
    };
    let dropped = [
        (
            "near-duplicate of an evaluation prompt",
            curation.near_duplicate_eval,
        ),
        (
            "near-duplicate of an earlier kept prompt",
            curation.near_duplicate_earlier,
        ),
        ("length gap above the cap", curation.length_gap),
        ("length balance", curation.length_balance),
    ];
    view! {
        <section class="card" data-testid="curation">
            <h2>"Curation"</h2>
            <ul data-testid="curation-dropped">
                {dropped.into_iter().map(|(why, n)| view! { <li>{format!("Dropped {n}: {why}")}</li> }).collect_view()}
            </ul>
            {curation.tokenizer.map(|t| view! { <p class="muted">{format!("Tokens counted with {t}'s tokenizer.")}</p> })}
            <ul>
                {curation.near_duplicate_examples.into_iter().map(|e| view! {
                    <li>{format!("“{}” repeats “{}” ({})", e.dropped, e.duplicates, e.reason)}</li>
                }).collect_view()}
            </ul>
            <div class="row">
                {side("Before", "curation-before", curation.before)}
                {side("After", "curation-after", curation.after)}
            </div>
        </section>
    }
}

#[component]
fn LengthBlock(label: &'static str, stats: DiffStats) -> impl IntoView {
    view! {
        <p data-testid=format!("length-{label}")>{format!(
            "Chosen − rejected in {label}: mean {:.1}, median {:.1}; chosen is longer in {}.",
            stats.mean, stats.median, pct(stats.share_chosen_longer)
        )}</p>
        <Histogram bins=stats.histogram label=label />
    }
}

/// Bars of a histogram as an SVG (no chart library: a few rectangles).
#[component]
fn Histogram(bins: Vec<Bin>, label: &'static str) -> impl IntoView {
    const W: f64 = 480.0;
    const H: f64 = 120.0;
    if bins.is_empty() {
        return view! { <p class="muted">"No data."</p> }.into_any();
    }
    let max = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let width = W / bins.len() as f64;
    let (lo, hi) = (bins[0].lo, bins[bins.len() - 1].hi);
    let bars = bins
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let h = b.count as f64 / max * (H - 20.0);
            view! {
                <rect x=format!("{:.1}", i as f64 * width + 1.0) y=format!("{:.1}", H - 16.0 - h)
                    width=format!("{:.1}", (width - 2.0).max(1.0)) height=format!("{h:.1}") class="bar">
                    <title>{format!("{:.2} to {:.2}: {}", b.lo, b.hi, b.count)}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <svg class="histogram" viewBox=format!("0 0 {W} {H}") role="img" aria-label=format!("histogram of {label}") data-testid=format!("histogram-{label}")>
            {bars}
            <text x="0" y=format!("{}", H - 2.0) class="axis">{format!("{lo:.1}")}</text>
            <text x=format!("{}", W) y=format!("{}", H - 2.0) class="axis" text-anchor="end">{format!("{hi:.1}")}</text>
        </svg>
    }
    .into_any()
}

/// Starts the judge's check of the version's guard pairs (a duel run: original against each
/// degraded or premise-agreeing version, both orders); the table fills in when it finishes.
#[component]
fn GuardCheck(
    project: String,
    tag: String,
    models: Resource<Result<Vec<pairwise_core::dto::ModelView>, crate::error::AppError>>,
) -> impl IntoView {
    let start = ServerAction::<StartDuel>::new();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (project, tag) = (project.clone(), tag.clone());
                Suspend::new(async move {
                    let models: Vec<String> = models.await.map(|l| l.into_iter().map(|m| m.name).collect()).unwrap_or_default();
                    view! {
                        <ActionForm action=start attr:class="row">
                            <input type="hidden" name="project" value=project />
                            <input type="hidden" name="dataset_version" value=tag />
                            <label>"Judge " <select name="judge" data-testid="guard-check-judge">
                                {models.into_iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
                            </select></label>
                            <label>"Pairs (empty = all) " <input name="limit" inputmode="numeric" size="6" data-testid="guard-check-limit" /></label>
                            <button type="submit" data-testid="guard-check-start">"Check the guards with this judge"</button>
                        </ActionForm>
                    }
                })
            }}
        </Suspense>
        {action_error(start.value())}
        {move || start.value().get().and_then(|r| r.ok()).map(|r| view! { <p class="ok" role="status" data-testid="guard-check-started">{format!("Duel run #{} queued; reload when it finishes.", r.id)}</p> })}
    }
}
