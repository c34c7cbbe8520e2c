//! /projects/NAME/calibration (reviewers): agreement between annotators (Cohen's κ per pair as
//! a heatmap, Fleiss' κ, Krippendorff's α, percent agreement), accuracy on silent gold, position
//! bias, swapped-repeat consistency, speed, the judge/imported preference against gold and the
//! human majority, and the κ gate (run it, inspect and release quarantines). Charts are SVG.

use crate::{
    api::{
        annotation::SaveAnnotationSettings,
        calibration::{
            calibration, promote_gold, release_quarantine, run_kappa_gate, BuildHumanPairs,
            FillQueue, GoldFromPairs,
        },
    },
    components::guard::{action_error, ErrorBox, Guarded},
    pages::datasets::{ImportOutcome, PairImportForm},
};
use leptos::prelude::*;
use leptos_meta::Title;

mod drift;
use leptos_router::hooks::use_params_map;
use pairwise_core::{
    agreement::PairKappa,
    annotation::{careless::STREAK_FLAG, AnnotatorStats, CalibrationReport},
    Role,
};

#[component]
pub fn CalibrationPage() -> impl IntoView {
    view! {
        <Title text="Calibration" />
        <Guarded role=Role::Reviewer>
            <Calibration />
        </Guarded>
    }
}

fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.3}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.1}%", v * 100.0))
}

#[component]
fn Calibration() -> impl IntoView {
    let params = use_params_map();
    let project = move || params.with(|p| p.get("name").unwrap_or_default());
    let gate = Action::new(move |p: &String| run_kappa_gate(p.clone()));
    let release = Action::new(move |(p, id): &(String, i64)| release_quarantine(p.clone(), *id));
    let gold = Action::new(move |(p, id, a): &(String, i64, String)| {
        promote_gold(p.clone(), *id, a.clone())
    });
    let save = ServerAction::<SaveAnnotationSettings>::new();
    let human = ServerAction::<BuildHumanPairs>::new();
    let fill = ServerAction::<FillQueue>::new();
    let make_gold = ServerAction::<GoldFromPairs>::new();
    let data = Resource::new(
        move || {
            (
                project(),
                gate.version().get(),
                release.version().get(),
                gold.version().get(),
                save.version().get(),
                fill.version().get() + make_gold.version().get(),
            )
        },
        |(p, ..)| calibration(p),
    );
    view! {
        <ImportOutcome target="gold" />
        <QueueForms project=project() fill make_gold />
        <PairImportForm project=project() target="gold" />
        <Transition fallback=|| view! { <p class="muted">"Computing…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(report) => view! { <Report report gate release gold save human /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Filling the annotation queue and making queued pair items gold.
#[component]
fn QueueForms(
    project: String,
    fill: ServerAction<FillQueue>,
    make_gold: ServerAction<GoldFromPairs>,
) -> impl IntoView {
    let p_gold = project.clone();
    view! {
        <details class="card" open>
            <summary>"Annotation queue"</summary>
            <ActionForm action=fill attr:class="row">
                <input type="hidden" name="project" value=project />
                <label title="inconsistent judge verdicts are queued first, then pairs by smallest margin, imports last">"Pairs to queue (empty = all) " <input type="number" name="limit" min="1" size="8" data-testid="fill-limit" /></label>
                <label><input type="checkbox" name="redteam" value="on" /> " mark every new item red-team (content warning)"</label>
                <button type="submit" data-testid="fill-queue">"Fill the queue"</button>
            </ActionForm>
            {action_error(fill.value())}
            {move || fill.value().get().and_then(|r| r.ok()).map(|r| view! {
                <p class="ok" role="status" data-testid="fill-result">{format!(
                    "Queued {} items from inconsistent judge verdicts and {} from pairs ({} already queued; {} red-team).",
                    r.judge_inconsistent.added, r.pairs.added,
                    r.judge_inconsistent.duplicates + r.pairs.duplicates,
                    r.judge_inconsistent.redteam + r.pairs.redteam
                )}</p>
            })}
            <ActionForm action=make_gold attr:class="row">
                <input type="hidden" name="project" value=p_gold />
                <label title="queued items made from pairs become silent gold: the pair's chosen side is the agreed answer">"Gold items from pairs " <input type="number" name="n" min="1" value="10" size="6" data-testid="gold-n" /></label>
                <button type="submit" data-testid="make-gold">"Make gold"</button>
            </ActionForm>
            {action_error(make_gold.value())}
            {move || make_gold.value().get().and_then(|r| r.ok()).map(|n| view! {
                <p class="ok" role="status" data-testid="gold-result">{format!("{n} items are gold now.")}</p>
            })}
        </details>
    }
}

#[component]
fn Report(
    report: CalibrationReport,
    gate: Action<String, Result<u64, crate::error::AppError>>,
    release: Action<(String, i64), Result<(), crate::error::AppError>>,
    gold: Action<(String, i64, String), Result<(), crate::error::AppError>>,
    save: ServerAction<SaveAnnotationSettings>,
    human: ServerAction<BuildHumanPairs>,
) -> impl IntoView {
    let built = move || {
        human.value().get().and_then(|r| r.ok()).map(|r| view! {
            <p class="ok" role="status" data-testid="human-result">{format!(
                "Decided {} items: {} new pairs, {} already stored ({} brought up to date); {} quarantined and {} reviewed-out votes left out.",
                r.decided, r.inserted, r.duplicates, r.refreshed, r.quarantined_votes, r.reviewed_out_votes
            )}</p>
        })
    };
    let a = &report.agreement;
    let project = report.project.clone();
    let p_gate = project.clone();
    let p_human = project.clone();
    let s = report.settings.clone();
    let votes: u64 = report.annotators.iter().map(|a| a.votes).sum();
    view! {
        <h1>{format!("Calibration · {}", report.project)}</h1>
        <p><a href=format!("/projects/{}/datasets", report.project)>"Datasets"</a></p>
        <dl class="card facts" data-testid="calibration-summary">
            <dt>"Items"</dt><dd>{report.comparisons}" ("{report.gold_items}" gold)"</dd>
            <dt>"Votes"</dt><dd data-testid="votes-total">{votes}</dd>
            <dt>"Percent agreement"</dt><dd data-testid="percent-agreement">{pct(a.percent_agreement)}</dd>
            <dt>"Fleiss' κ"</dt><dd data-testid="fleiss">{fmt(a.fleiss_kappa)}" ("{a.fleiss_items}" items)"</dd>
            <dt>"Krippendorff's α (nominal)"</dt><dd data-testid="alpha">{fmt(a.krippendorff_alpha)}</dd>
            <dt>"Human left-choice rate"</dt><dd data-testid="left-rate">{pct(report.left_rate)}</dd>
            <dt>"κ threshold"</dt><dd>{report.settings.kappa_threshold}</dd>
        </dl>

        <h2>"Per dimension"</h2>
        {if report.dimensions.is_empty() {
            view! { <p class="muted" data-testid="dimensions-none">"No vote has per-dimension choices yet."</p> }.into_any()
        } else {
            view! {
                <table class="data" data-testid="dimensions">
                    <thead><tr>
                        <th>"Dimension"</th><th class="num">"Votes"</th><th class="num">"Items (2+ votes)"</th>
                        <th class="num">"Percent agreement"</th><th class="num">"Fleiss' κ"</th>
                        <th class="num">"Krippendorff's α"</th><th class="num">"Mean Cohen's κ"</th>
                    </tr></thead>
                    <tbody>
                        {report.dimensions.iter().map(|d| view! {
                            <tr data-testid=format!("dimension-{}", d.dimension)>
                                <td>{d.dimension.clone()}</td>
                                <td class="num">{d.votes}</td>
                                <td class="num">{d.items}</td>
                                <td class="num">{pct(d.percent_agreement)}</td>
                                <td class="num">{fmt(d.fleiss_kappa)}</td>
                                <td class="num">{fmt(d.krippendorff_alpha)}</td>
                                <td class="num">{fmt(d.mean_cohen_kappa)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}

        <h2>"Cohen's κ per annotator pair"</h2>
        <Heatmap names=a.annotators.clone() pairs=a.cohen.clone() />

        <h2>"Annotators"</h2>
        <table class="data" data-testid="annotators">
            <thead><tr>
                <th>"Annotator"</th><th class="num">"Votes"</th><th class="num">"Gold"</th><th class="num">"Gold accuracy"</th>
                <th class="num">"κ vs gold"</th><th class="num">"κ vs peers"</th><th class="num">"Left choices"</th>
                <th class="num">"Swapped repeats"</th><th class="num">"Repeat consistency"</th><th class="num">"Median time"</th>
                <th class="num">"Skipped (distressing)"</th><th class="num" title="votes faster than 1 s plus both answers at the reading speed of the settings">"Too fast"</th>
                <th class="num" title="the longest run of one key in a row">"Same-key streak"</th><th class="num" title="MACE: how often the label reflects the item rather than a habit">"Competence (MACE)"</th><th>"Gate"</th>
            </tr></thead>
            <tbody>
                {report.annotators.iter().map(|s| view! {
                    <tr data-testid=format!("annotator-{}", s.annotator)>
                        <td>{s.annotator.clone()}</td>
                        <td class="num">{s.votes}</td>
                        <td class="num">{s.gold_n}</td>
                        <td class="num" data-testid="gold-accuracy">{pct(s.gold_accuracy)}</td>
                        <td class="num" data-testid="kappa-gold">{fmt(s.kappa_gold)}</td>
                        <td class="num">{fmt(s.kappa_peers)}</td>
                        <td class="num">{pct(s.left_rate)}</td>
                        <td class="num" data-testid="repeats">{s.repeats}</td>
                        <td class="num">{pct(s.repeat_consistency)}</td>
                        <td class="num">{s.median_ms.map_or_else(|| "—".into(), |ms| format!("{:.1} s", ms as f64 / 1000.0))}</td>
                        <td class="num">{s.skipped_distressing}</td>
                        <td class="num" data-testid="fast-votes">{s.fast_votes}{(s.fast_votes > 0).then(|| view! { " " <span class="badge warn">"flagged"</span> })}</td>
                        <td class="num" data-testid="streak">{s.longest_streak}{(s.longest_streak >= STREAK_FLAG).then(|| view! { " " <span class="badge warn">"flagged"</span> })}</td>
                        <td class="num" data-testid="competence">{fmt(s.competence)}</td>
                        <td>{s.quarantined.then(|| view! { <span class="badge warn">"quarantined"</span> })}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <Bars title="Gold accuracy" rows=report.annotators.clone() value=|s: &AnnotatorStats| s.gold_accuracy testid="bars-gold" />
        <Bars title="Left-choice rate (0.5 = no position bias)" rows=report.annotators.clone() value=|s: &AnnotatorStats| s.left_rate testid="bars-left" />

        <h2>"Votes cast too fast"</h2>
        <p class="muted" data-testid="fast-summary">{format!(
            "{} votes took less than 1 s plus both answers at {} characters/s; the gate {} them.",
            report.fast_vote_count,
            report.settings.fast_vote_chars_per_s,
            if report.settings.gate_fast_votes { "excludes" } else { "does not exclude (see the settings)" }
        )}</p>
        {(!report.fast_votes.is_empty()).then(|| view! {
            <table class="data" data-testid="fast-votes-list">
                <thead><tr><th>"Annotator"</th><th class="num">"Item"</th><th class="num">"Time"</th><th class="num">"Minimum"</th></tr></thead>
                <tbody>
                    {report.fast_votes.iter().map(|f| view! {
                        <tr><td>{f.annotator.clone()}</td><td class="num">{f.comparison}</td>
                            <td class="num">{format!("{:.1} s", f.duration_ms as f64 / 1000.0)}</td>
                            <td class="num">{format!("{:.1} s", f.min_ms as f64 / 1000.0)}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}

        <h2>"Judge and imported preferences against people"</h2>
        <table class="data" data-testid="references">
            <thead><tr><th>"Reference"</th><th class="num">"Gold items"</th><th class="num">"Agreement"</th><th class="num">"κ"</th>
                <th class="num">"Items with a human majority"</th><th class="num">"Agreement"</th><th class="num">"κ"</th></tr></thead>
            <tbody>
                {report.references.iter().map(|r| view! {
                    <tr>
                        <td>{r.reference.clone()}</td>
                        <td class="num">{r.gold_n}</td><td class="num">{pct(r.gold_agreement)}</td><td class="num">{fmt(r.gold_kappa)}</td>
                        <td class="num">{r.majority_n}</td><td class="num">{pct(r.majority_agreement)}</td><td class="num">{fmt(r.majority_kappa)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        {(!report.judge_flips.is_empty()).then(|| view! {
            <h3>"Pairwise judge order flips (A/B vs B/A verdicts disagree)"</h3>
            <table class="data">
                <thead><tr><th>"Judge"</th><th>"Rubric"</th><th class="num">"Judgments"</th><th class="num">"Flips"</th></tr></thead>
                <tbody>
                    {report.judge_flips.iter().map(|f| view! {
                        <tr><td>{f.judge.clone()}</td><td>{f.rubric.clone()}</td><td class="num">{f.n}</td>
                            <td class="num">{format!("{} ({})", f.flips, pct(Some(f.flips as f64 / f.n.max(1) as f64)))}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}

        <drift::GoldDriftSection drift=report.gold_drift.clone() gold_items=report.gold_items />

        <h2>"κ gate"</h2>
        <p class="muted">"Annotators whose κ against gold (or against peers while they have fewer than 5 gold votes) is below the threshold, and items whose agreement is below it, are quarantined — and, where the settings say so, votes cast too fast; dataset versions and human-decided pairs leave their votes out."</p>
        <button type="button" class="primary" on:click=move |_| { gate.dispatch(p_gate.clone()); } data-testid="run-gate">"Run the κ gate"</button>
        {move || gate.value().get().map(|r| match r {
            Ok(n) => view! { <p class="ok" role="status" data-testid="gate-result">{format!("{n} quarantined.")}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })}
        <table class="data" data-testid="quarantines">
            <thead><tr><th>"Subject"</th><th>"Reason"</th><th>"Since"</th><th></th></tr></thead>
            <tbody>
                {report.quarantines.iter().cloned().map(|q| {
                    let p = project.clone();
                    view! {
                        <tr>
                            <td>{q.subject.clone()}</td><td>{q.reason.clone()}</td><td><time>{q.created_at.clone()}</time></td>
                            <td>{if q.released {
                                view! { <span class="muted">"released"</span> }.into_any()
                            } else {
                                view! { <button type="button" on:click=move |_| { release.dispatch((p.clone(), q.id)); }>"Release"</button> }.into_any()
                            }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>

        <h2>"Items, least agreement first"</h2>
        <table class="data" data-testid="items">
            <thead><tr><th class="num">"Item"</th><th>"Prompt"</th><th class="num">"Votes"</th><th class="num">"Agreement"</th><th>"Majority"</th><th></th></tr></thead>
            <tbody>
                {report.items.iter().take(50).map(|i| {
                    let p = project.clone();
                    let majority = i.majority.clone();
                    let id = i.comparison;
                    view! {
                        <tr>
                            <td class="num">{i.comparison}</td>
                            <td>{i.prompt.clone()}</td>
                            <td class="num">{i.votes}</td>
                            <td class="num">{pct(i.agreement)}{i.quarantined.then(|| view! { " " <span class="badge warn">"quarantined"</span> })}</td>
                            <td>{i.majority.clone().unwrap_or_else(|| "—".into())}</td>
                            <td>{majority.map(|m| view! {
                                <button type="button" class="link" title="Use the majority answer as this item's gold answer"
                                    on:click=move |_| { gold.dispatch((p.clone(), id, m.clone())); }>"Make gold"</button>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>

        <details class="card" open>
            <summary>"Build human pairs"</summary>
            <ActionForm action=human attr:class="row">
                <input type="hidden" name="project" value=p_human />
                <label>"Min votes " <input type="number" name="min_votes" min="1" max="50" value="2" /></label>
                <label>"Decided by " <select name="dimension">
                    <option value="">"the overall choice"</option>
                    <option value="helpful">"helpful"</option>
                    <option value="honest">"honest"</option>
                    <option value="harmless">"harmless"</option>
                </select></label>
                <label title="Count votes of quarantined annotators and items too"><input type="checkbox" name="include_quarantined" value="on" /> " include quarantined votes"</label>
                <label title="Count only votes a reviewer accepted on /review (rejected and requeued votes never count)"><input type="checkbox" name="accepted_votes_only" value="on" /> " reviewed votes only"</label>
                <button type="submit" data-testid="build-human">"Build pairs"</button>
            </ActionForm>
            {action_error(human.value())}
            {built}
        </details>

        <details class="card">
            <summary>"Queue settings"</summary>
            <ActionForm action=save>
                <input type="hidden" name="project" value=project.clone() />
                <div class="row">
                    <label>"Annotators per item (k) " <input type="number" name="settings[overlap]" min="1" max="50" value=s.overlap /></label>
                    <label>"Swapped repeats " <input type="number" name="settings[repeat_rate]" min="0" max="0.5" step="0.01" value=s.repeat_rate /></label>
                    <label>"Gold rate " <input type="number" name="settings[gold_rate]" min="0" max="0.5" step="0.01" value=s.gold_rate /></label>
                    <label>"Pending per annotator " <input type="number" name="settings[max_pending]" min="1" max="20" value=s.max_pending /></label>
                    <label>"Lease (s) " <input type="number" name="settings[lease_seconds]" min="10" max="86400" value=s.lease_seconds /></label>
                    <label>"κ threshold " <input type="number" name="settings[kappa_threshold]" min="-1" max="1" step="0.05" value=s.kappa_threshold /></label>
                    <label title="characters of both answers per second a vote may not beat">"Reading speed (chars/s) " <input type="number" name="settings[fast_vote_chars_per_s]" min="1" max="100000" step="any" value=s.fast_vote_chars_per_s /></label>
                    <label><input type="checkbox" name="settings[gate_fast_votes]" value="true" checked=s.gate_fast_votes data-testid="gate-fast-votes" /> " the gate excludes too-fast votes"</label>
                </div>
                <button type="submit">"Save settings"</button>
            </ActionForm>
            {action_error(save.value())}
        </details>
    }
}

fn kappa_color(k: Option<f64>) -> &'static str {
    match k {
        None => "#e5e7eb",
        Some(k) if k >= 0.8 => "#15803d",
        Some(k) if k >= 0.6 => "#4ade80",
        Some(k) if k >= 0.4 => "#facc15",
        Some(k) if k >= 0.2 => "#fb923c",
        Some(_) => "#ef4444",
    }
}

/// The annotator × annotator matrix of Cohen's κ, coloured by band, with n in each title.
#[component]
fn Heatmap(names: Vec<String>, pairs: Vec<PairKappa>) -> impl IntoView {
    const CELL: usize = 44;
    const LABEL: usize = 110;
    let n = names.len();
    let size = LABEL + CELL * n.max(1);
    let lookup = move |a: &str, b: &str| {
        pairs
            .iter()
            .find(|p| (p.a == a && p.b == b) || (p.a == b && p.b == a))
            .map(|p| (p.kappa, p.n))
    };
    let mut cells = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for (j, b) in names.iter().enumerate() {
            let (kappa, shared) = if i == j {
                (Some(1.0), 0)
            } else {
                lookup(a, b).unwrap_or((None, 0))
            };
            let x = LABEL + j * CELL;
            let y = LABEL + i * CELL;
            let text = if i == j { String::new() } else { fmt(kappa) };
            cells.push(view! {
                <g>
                    <rect x=x y=y width=CELL - 2 height=CELL - 2 fill=kappa_color(if i == j { None } else { kappa })>
                        <title>{format!("{a} × {b}: κ {} on {shared} shared items", fmt(kappa))}</title>
                    </rect>
                    <text x=x + CELL / 2 - 1 y=y + CELL / 2 + 4 text-anchor="middle" class="cell">{text}</text>
                </g>
            });
        }
    }
    view! {
        <svg class="heatmap" viewBox=format!("0 0 {size} {size}") width=size height=size role="img" aria-label="Cohen's kappa heatmap" data-testid="kappa-heatmap">
            {names.iter().enumerate().map(|(i, name)| view! {
                <text x=LABEL - 6 y=LABEL + i * CELL + CELL / 2 + 4 text-anchor="end" class="axis">{name.clone()}</text>
                <text x=LABEL + i * CELL + CELL / 2 y=LABEL - 8 text-anchor="start" class="axis" transform=format!("rotate(-45 {} {})", LABEL + i * CELL + CELL / 2, LABEL - 8)>{name.clone()}</text>
            }).collect_view()}
            {cells}
        </svg>
    }
}

/// A horizontal bar per annotator for a share in [0, 1].
#[component]
fn Bars(
    title: &'static str,
    rows: Vec<AnnotatorStats>,
    value: fn(&AnnotatorStats) -> Option<f64>,
    testid: &'static str,
) -> impl IntoView {
    const W: usize = 420;
    const LABEL: usize = 110;
    const ROW: usize = 22;
    let h = ROW * rows.len().max(1) + 8;
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <svg viewBox=format!("0 0 {} {h}", W + LABEL + 60) role="img" aria-label=title data-testid=testid>
                {rows.iter().enumerate().map(|(i, r)| {
                    let v = value(r);
                    let w = (v.unwrap_or(0.0).clamp(0.0, 1.0) * W as f64) as usize;
                    view! {
                        <text x=LABEL - 6 y=i * ROW + 15 text-anchor="end" class="axis">{r.annotator.clone()}</text>
                        <rect x=LABEL y=i * ROW + 3 width=w height=ROW - 6 class="bar"><title>{format!("{}: {}", r.annotator, pct(v))}</title></rect>
                        <text x=LABEL + w + 4 y=i * ROW + 15 class="axis">{pct(v)}</text>
                    }
                }).collect_view()}
            </svg>
        </figure>
    }
}
