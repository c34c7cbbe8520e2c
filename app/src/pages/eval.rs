//! Safety evaluation (reviewers): every evaluated model (or dataset version) as a point —
//! harmlessness on red-team prompts against helpfulness (the judge's score on benign prompts)
//! or against 1 − over-refusal — with the Pareto frontier highlighted, the table of figures,
//! and a form to evaluate a model on a project's benign and red-team prompts.

use crate::{
    api::{
        evals::{list_evaluations, list_refusal_checks, StartEval},
        models::list_models,
        projects::list_projects,
    },
    components::guard::{action_error, ErrorBox, Guarded},
};
use leptos::prelude::*;
use leptos_meta::Title;
use pairwise_core::{
    dto::{EvalPointView, RefusalCheckView},
    eval::pareto_frontier,
    refusal::RefusalEval,
    Role,
};

#[component]
pub fn EvalPage() -> impl IntoView {
    view! {
        <Title text="Evaluation" />
        <Guarded role=Role::Reviewer>
            <Evaluations />
        </Guarded>
    }
}

/// What the plot's y axis shows.
#[derive(Clone, Copy, PartialEq)]
enum Axis {
    Helpfulness,
    Compliance,
}

impl Axis {
    fn of(self, p: &EvalPointView) -> Option<f64> {
        match self {
            Axis::Helpfulness => p.figures.helpfulness,
            Axis::Compliance => p.figures.over_refusal.map(|r| 1.0 - r),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Axis::Helpfulness => "helpfulness (judge score on benign prompts)",
            Axis::Compliance => "1 − over-refusal (benign prompts answered)",
        }
    }
}

#[component]
fn Evaluations() -> impl IntoView {
    let start = ServerAction::<StartEval>::new();
    let list = Resource::new(move || start.version().get(), |_| list_evaluations());
    let axis = RwSignal::new(Axis::Compliance);
    view! {
        <h1>"Evaluation"</h1>
        <p class="muted">"Harmlessness is the share of red-team prompts a model refuses; over-refusal the share of benign prompts it refuses (XSTest's safe prompts in the demo); helpfulness the judge's score of its benign answers. A model that refuses everything is harmless and useless: the frontier shows which points no other point beats on both axes."</p>
        <StartForm start />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(points) if points.is_empty() => view! { <p class="muted" data-testid="evals-empty">"No evaluations yet."</p> }.into_any(),
                    Ok(points) => {
                        let any_helpfulness = points.iter().any(|p| p.figures.helpfulness.is_some());
                        let table = points.clone();
                        view! {
                            <div class="row">
                                <label>"y axis "
                                    <select data-testid="pareto-axis" on:change=move |ev| axis.set(if event_target_value(&ev) == "helpfulness" { Axis::Helpfulness } else { Axis::Compliance })>
                                        <option value="compliance">{Axis::Compliance.label()}</option>
                                        {any_helpfulness.then(|| view! { <option value="helpfulness">{Axis::Helpfulness.label()}</option> })}
                                    </select>
                                </label>
                            </div>
                            {move || view! { <Pareto points=points.clone() axis=axis.get() /> }}
                            <EvalTable points=table />
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
        <RefusalChecks />
    }
}

/// The refusal classifier against human labels: every recorded check (the rules, and the
/// rules with a judge deciding refusal vs compliance), so the figures above can be trusted as
/// far as the classifier can.
#[component]
fn RefusalChecks() -> impl IntoView {
    let checks = Resource::new(|| (), |_| list_refusal_checks());
    let cells = |e: &RefusalEval| {
        view! {
            <td class="num">{e.n}</td>
            <td class="num" data-testid="check-accuracy">{format!("{:.1}%", e.accuracy * 100.0)}</td>
            <td class="num" data-testid="check-kappa">{e.kappa.map_or("—".to_owned(), |k| format!("{k:.3}"))}</td>
            <td class="num">{format!("{:.1}%", e.binary_accuracy * 100.0)}</td>
        }
    };
    view! {
        <h2>"Refusal classifier against human labels"</h2>
        <p class="muted">"Over-refusal and harmlessness are only as good as the classifier that reads the answers. Each row measures it on labelled answers (XSTest's human final labels: full compliance, full refusal, partial refusal): accuracy and Cohen's κ over the three labels, and accuracy of refusal vs compliance. `pairwise eval refusal-classifier --input FILE --judge MODEL` adds a row."</p>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match checks.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="checks-empty">"No classifier checks recorded yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="data" data-testid="refusal-checks">
                            <thead><tr><th>"Run"</th><th>"Labelled answers"</th><th>"Classifier"</th><th class="num">"n"</th><th class="num">"Accuracy"</th><th class="num">"κ"</th><th class="num">"Refusal vs compliance"</th></tr></thead>
                            <tbody>
                                {list.into_iter().flat_map(|c: RefusalCheckView| {
                                    let mut rows = vec![view! {
                                        <tr data-testid="check-row" data-classifier="rules">
                                            <td>{format!("#{}", c.run)}</td><td>{c.source.clone()}</td><td>"rules"</td>
                                            {cells(&c.rules)}
                                        </tr>
                                    }.into_any()];
                                    if let (Some(judged), Some(judge)) = (&c.with_judge, &c.judge) {
                                        rows.push(view! {
                                            <tr data-testid="check-row" data-classifier="judge">
                                                <td>{format!("#{}", c.run)}</td><td>{c.source.clone()}</td><td>{format!("rules + judge {judge}")}</td>
                                                {cells(judged)}
                                            </tr>
                                        }.into_any());
                                    }
                                    rows
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn name(p: &EvalPointView) -> String {
    match &p.dataset_version {
        Some(v) => format!("{} ({}/{v})", p.model, p.project),
        None => p.model.clone(),
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or("—".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

/// The scatter plot: x harmlessness, y the chosen axis, both 0–1; frontier points joined.
#[component]
fn Pareto(points: Vec<EvalPointView>, axis: Axis) -> impl IntoView {
    const W: f64 = 560.0;
    const H: f64 = 380.0;
    const PAD: f64 = 48.0;
    let sx = |x: f64| PAD + x.clamp(0.0, 1.0) * (W - 2.0 * PAD);
    let sy = |y: f64| H - PAD - y.clamp(0.0, 1.0) * (H - 2.0 * PAD);
    let plotted: Vec<(&EvalPointView, f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p, p.figures.harmlessness?, axis.of(p)?)))
        .collect();
    let on_frontier =
        pareto_frontier(&plotted.iter().map(|(_, x, y)| (*x, *y)).collect::<Vec<_>>());
    let mut frontier: Vec<(f64, f64)> = plotted
        .iter()
        .zip(&on_frontier)
        .filter(|(_, on)| **on)
        .map(|((_, x, y), _)| (*x, *y))
        .collect();
    frontier.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let line = frontier
        .iter()
        .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
        .collect::<Vec<_>>()
        .join(" ");
    let ticks = [0.0, 0.25, 0.5, 0.75, 1.0];
    let left_out = points.len() - plotted.len();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {W} {H}") width="100%" style="max-width: 560px" role="img" aria-label="Pareto plot of harmlessness against the chosen axis" data-testid="pareto">
                <rect x=PAD y=PAD width=W - 2.0 * PAD height=H - 2.0 * PAD class="frame" fill="none" stroke="currentColor" stroke-opacity="0.3" />
                {ticks.iter().map(|t| view! {
                    <g class="tick">
                        <text x=sx(*t) y=H - PAD + 16.0 text-anchor="middle" font-size="11">{format!("{t}")}</text>
                        <text x=PAD - 8.0 y=sy(*t) + 4.0 text-anchor="end" font-size="11">{format!("{t}")}</text>
                    </g>
                }).collect_view()}
                <text x=W / 2.0 y=H - 8.0 text-anchor="middle" font-size="12">"harmlessness (red-team prompts refused)"</text>
                <text x=14.0 y=H / 2.0 text-anchor="middle" font-size="12" transform=format!("rotate(-90 14 {})", H / 2.0)>{axis.label()}</text>
                {(frontier.len() > 1).then(|| view! { <polyline points=line.clone() fill="none" stroke="#c2410c" stroke-width="2" data-testid="pareto-frontier" /> })}
                {plotted.iter().zip(&on_frontier).map(|((p, x, y), on)| {
                    let label = name(p);
                    view! {
                        <g class=if *on { "point frontier" } else { "point" } data-testid="pareto-point" data-frontier=on.to_string()>
                            <circle cx=sx(*x) cy=sy(*y) r=if *on { 7 } else { 5 } fill=if *on { "#c2410c" } else { "#64748b" }>
                                <title>{format!("{label}: harmlessness {:.3}, {:.3}", x, y)}</title>
                            </circle>
                            <text x=sx(*x) + 9.0 y=sy(*y) - 6.0 font-size="11">{label.clone()}</text>
                        </g>
                    }
                }).collect_view()}
            </svg>
            <figcaption class="muted">
                {format!("{} points; the frontier (orange) are those no other point beats on both axes.", plotted.len())}
                {(left_out > 0).then(|| format!(" {left_out} evaluation(s) lack this axis and are left out."))}
            </figcaption>
        </figure>
    }
}

#[component]
fn EvalTable(points: Vec<EvalPointView>) -> impl IntoView {
    view! {
        <table class="data" data-testid="evals">
            <thead><tr><th>"Run"</th><th>"Model"</th><th>"Project"</th><th>"Dataset version"</th><th class="num">"Benign"</th><th class="num">"Over-refusal"</th><th class="num">"Red-team"</th><th class="num">"Harmlessness"</th><th class="num">"Helpfulness"</th><th>"Judge"</th><th>"Finished"</th></tr></thead>
            <tbody>
                {points.into_iter().rev().map(|p| view! {
                    <tr data-testid="eval-row">
                        <td>{format!("#{}", p.run)}</td>
                        <td title=p.model_version.clone()>{format!("{}@{}", p.model, &p.model_version[..12.min(p.model_version.len())])}</td>
                        <td>{p.project.clone()}</td>
                        <td>{p.dataset_version.clone().unwrap_or_default()}</td>
                        <td class="num">{p.figures.benign}</td>
                        <td class="num" data-testid="eval-over-refusal">{percent(p.figures.over_refusal)}</td>
                        <td class="num">{p.figures.harmful}</td>
                        <td class="num" data-testid="eval-harmlessness">{percent(p.figures.harmlessness)}</td>
                        <td class="num">{p.figures.helpfulness.map_or("—".to_owned(), |h| format!("{h:.3}"))}</td>
                        <td>{match (&p.judge, &p.rubric) { (Some(j), Some(r)) => format!("{j} ({r})"), _ => String::new() }}</td>
                        <td><time>{p.finished_at.clone().unwrap_or_default()}</time></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn StartForm(start: ServerAction<StartEval>) -> impl IntoView {
    let choices = Resource::new(
        || (),
        |_| async { (list_projects().await, list_models().await) },
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let (projects, models) = choices.await;
                let projects: Vec<String> = projects.map(|l| l.into_iter().map(|p| p.name).collect()).unwrap_or_default();
                let models: Vec<String> = models.map(|l| l.into_iter().map(|m| m.name).collect()).unwrap_or_default();
                let options = |list: &[String]| list.iter().map(|v| view! { <option value=v.clone()>{v.clone()}</option> }).collect_view();
                view! {
                    <details class="card">
                        <summary>"Evaluate a model"</summary>
                        <ActionForm action=start attr:class="row">
                            <label>"Project" <select name="project" data-testid="eval-project">{options(&projects)}</select></label>
                            <label>"Model" <select name="model" data-testid="eval-model">{options(&models)}</select></label>
                            <label title="scores the benign answers for helpfulness (probability-weighted ratings of the default rubric)">"Judge" <select name="judge" data-testid="eval-judge"><option value="">"none"</option>{options(&models)}</select></label>
                            <label>"Prompts per side (empty = all)" <input name="limit" inputmode="numeric" size="6" data-testid="eval-limit" /></label>
                            <label>"Max new tokens" <input name="max_new_tokens" type="number" min="1" max="4096" value="128" size="5" data-testid="eval-max-new-tokens" /></label>
                            <label title="the dataset version (tag in this project) the model was trained on, if any">"Dataset version" <input name="dataset_version" size="10" data-testid="eval-dataset-version" /></label>
                            <button type="submit" class="primary" data-testid="start-eval">"Start evaluation"</button>
                        </ActionForm>
                        <p class="muted">"The run appears on /runs with live progress; its point appears here when it finishes."</p>
                        {action_error(start.value())}
                        {move || start.value().get().and_then(|r| r.ok()).map(|r| view! { <p class="ok" role="status" data-testid="eval-started">{format!("Evaluation run #{} queued.", r.id)}</p> })}
                    </details>
                }
            })}
        </Suspense>
    }
}
