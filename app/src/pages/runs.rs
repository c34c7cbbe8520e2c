//! Generation and judge runs (reviewers): start them, watch their progress live (server-sent
//! events from `/api/v1/runs/events`, no reloading), cancel and retry them, and build pairs from
//! a finished judge run with a live preview.

mod pair_build;

use crate::{
    api::{
        constitutions::list_constitutions,
        models::list_models,
        projects::list_projects,
        rubrics::list_rubrics,
        runs::{list_runs, CancelRun, RetryRun, StartCritique, StartGeneration, StartJudge},
    },
    components::guard::{action_error, ErrorBox, Guarded},
};
use leptos::prelude::*;
use leptos_meta::Title;
use pairwise_core::{
    dto::RunView,
    run_requests::{parse_presets, GenerateRequest},
    Role,
};

#[component]
pub fn RunsPage() -> impl IntoView {
    view! {
        <Title text="Runs" />
        <Guarded role=Role::Reviewer>
            <Runs />
        </Guarded>
    }
}

#[derive(Clone, Copy)]
struct RunActions {
    generate: ServerAction<StartGeneration>,
    judge: ServerAction<StartJudge>,
    critique: ServerAction<StartCritique>,
    cancel: ServerAction<CancelRun>,
    retry: ServerAction<RetryRun>,
}

#[component]
fn Runs() -> impl IntoView {
    let actions = RunActions {
        generate: ServerAction::new(),
        judge: ServerAction::new(),
        critique: ServerAction::new(),
        cancel: ServerAction::new(),
        retry: ServerAction::new(),
    };
    let version = move || {
        actions.generate.version().get()
            + actions.judge.version().get()
            + actions.critique.version().get()
            + actions.cancel.version().get()
            + actions.retry.version().get()
    };
    let initial = Resource::new(version, |_| list_runs());
    // Pushed by the server whenever a run changes; None until the first event arrives.
    let live: RwSignal<Option<Vec<RunView>>> = RwSignal::new(None);
    let connected = RwSignal::new(false);
    subscribe(live, connected);
    Effect::new(move |_| {
        // A form's own answer arrives before the next event: show the list it produced.
        version();
        live.set(None);
    });
    view! {
        <h1>"Runs " <span class="badge" data-testid="live-status" title="progress arrives as server-sent events">{move || if connected.get() { "live" } else { "not live" }}</span></h1>
        <StartForms actions />
        {action_error(actions.cancel.value())}
        {action_error(actions.retry.value())}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let first = initial.await;
                let listed = first.clone().unwrap_or_default();
                let judge_runs = Memo::new(move |_| {
                    live.with(|l| pair_build::judge_runs(l.as_deref().unwrap_or(&listed)))
                });
                view! {
                    <pair_build::PairBuildForm runs=judge_runs />
                    {move || match (live.get(), first.clone()) {
                        (Some(list), _) | (None, Ok(list)) => view! { <RunTable list actions /> }.into_any(),
                        (None, Err(error)) => view! { <ErrorBox error /> }.into_any(),
                    }}
                }
            })}
        </Transition>
    }
}

/// Opens the event stream in the browser; each message is the JSON list of recent runs.
#[allow(unused_variables)]
fn subscribe(live: RwSignal<Option<Vec<RunView>>>, connected: RwSignal<bool>) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::{closure::Closure, JsCast};
        let Ok(source) = web_sys::EventSource::new("/api/v1/runs/events") else {
            return;
        };
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                if let Some(text) = event.data().as_string() {
                    if let Ok(list) = serde_json::from_str::<Vec<RunView>>(&text) {
                        live.set(Some(list));
                        connected.set(true);
                    }
                }
            },
        );
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let source = send_wrapper::SendWrapper::new(source);
        on_cleanup(move || source.close());
    });
}

#[component]
fn StartForms(actions: RunActions) -> impl IntoView {
    // The generation form is read in the browser into the one request type the REST API and the
    // CLI take; a field that does not parse is named here, the rest is validated by the use case.
    let form_error = RwSignal::new(None::<String>);
    let on_generate = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match form_fields(&ev).and_then(|f| generation_request(&f)) {
            Ok(request) => {
                form_error.set(None);
                actions.generate.dispatch(StartGeneration { request });
            }
            Err(e) => form_error.set(Some(e)),
        }
    };
    let choices = Resource::new(
        || (),
        |_| async {
            (
                list_projects().await,
                list_models().await,
                list_rubrics().await,
                list_constitutions().await,
            )
        },
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let (projects, models, rubrics, constitutions) = choices.await;
                let projects: Vec<String> = projects.map(|l| l.into_iter().map(|p| p.name).collect()).unwrap_or_default();
                let models = models.unwrap_or_default();
                let rubrics: Vec<String> = rubrics.map(|l| l.into_iter().map(|r| format!("{}@{}", r.name, r.version)).collect()).unwrap_or_default();
                let project_options = projects.iter().map(|p| view! { <option value=p.clone()>{p.clone()}</option> }).collect_view();
                let project_options2 = project_options.clone();
                let generators = models.iter().map(|m| view! { <option value=m.name.clone()>{format!("{} ({})", m.name, m.kind)}</option> }).collect_view();
                let judges = models.iter().map(|m| view! { <option value=m.name.clone()>{format!("{} ({})", m.name, m.kind)}</option> }).collect_view();
                let constitution_options = constitutions.map(|l| l.into_iter().map(|c| format!("{}@{}", c.name, c.version)).collect::<Vec<_>>()).unwrap_or_default()
                    .into_iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view();
                let project_options3 = project_options.clone();
                let model_options = |testid: &'static str, name: &'static str, optional: bool| {
                    let options = models.iter().map(|m| view! { <option value=m.name.clone()>{format!("{} ({})", m.name, m.kind)}</option> }).collect_view();
                    view! { <select name=name data-testid=testid>{optional.then(|| view! { <option value="">"the generator"</option> })}{options}</select> }
                };
                let loop_generator = model_options("loop-generator", "generator", false);
                let loop_critic = model_options("loop-critic", "critic", false);
                let loop_reviser = model_options("loop-reviser", "reviser", true);
                let rubric_options = rubrics.iter().map(|r| view! { <option value=r.clone()>{r.clone()}</option> }).collect_view();
                view! {
                    <details class="card" open>
                        <summary>"Generate candidates"</summary>
                        <form class="row" on:submit=on_generate>
                            <label>"Project" <select name="project" data-testid="gen-project">{project_options}</select></label>
                            <label>"Model" <select name="model" data-testid="gen-model">{generators}</select></label>
                            <label>"Candidates per prompt" <input name="n" type="number" min="1" max="64" value="8" size="4" /></label>
                            <fieldset class="row">
                                <legend>"Paths"</legend>
                                <label><input type="checkbox" name="paths" value="conservative" checked /> " conservative"</label>
                                <label><input type="checkbox" name="paths" value="diverse" checked /> " diverse"</label>
                                <label><input type="checkbox" name="paths" value="adversarial" checked /> " adversarial"</label>
                            </fieldset>
                            <label>"Max new tokens" <input name="max_new_tokens" type="number" min="1" max="4096" value="128" size="5" /></label>
                            <label>"Prompts (empty = all)" <input name="limit" inputmode="numeric" size="6" data-testid="gen-limit" /></label>
                            <label>"Split"
                                <select name="split">
                                    <option value="">"all"</option>
                                    <option value="train">"train"</option>
                                    <option value="eval">"eval"</option>
                                    <option value="benign">"benign"</option>
                                    <option value="redteam">"redteam"</option>
                                </select>
                            </label>
                            <label title="empty: a random seed, recorded on the run">"Seed (empty = random)" <input name="seed" inputmode="numeric" size="12" data-testid="gen-seed" /></label>
                            <details class="grow">
                                <summary>"Decoding presets per path"</summary>
                                <textarea name="presets" rows="8" class="code" data-testid="gen-presets">{crate::api::runs::default_presets_json()}</textarea>
                            </details>
                            <label><input type="checkbox" name="confirm_high_temperature" value="true" /> " allow temperature above 1.3"</label>
                            <button type="submit" class="primary" data-testid="start-generation">"Start generation"</button>
                        </form>
                        {move || form_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                        {action_error(actions.generate.value())}
                    </details>
                    <details class="card" open>
                        <summary>"Judge candidates"</summary>
                        <ActionForm action=actions.judge attr:class="row">
                            <label>"Project" <select name="project" data-testid="judge-project">{project_options2}</select></label>
                            <label>"Judge model" <select name="model" data-testid="judge-model">{judges}</select></label>
                            <label>"Rubric" <select name="rubric" data-testid="judge-rubric">{rubric_options}</select></label>
                            <label>"Mode"
                                <select name="mode" data-testid="judge-mode">
                                    <option value="pairwise">"pairwise (A/B and B/A)"</option>
                                    <option value="prob">"probability-weighted"</option>
                                    <option value="json">"generative JSON"</option>
                                    <option value="reward">"reward model (classifier)"</option>
                                </select>
                            </label>
                            <label title="every judge prompt asks the judge to leave the answers' length out of its verdict; the run reports how its scores follow length"><input type="checkbox" name="length_controlled" value="on" data-testid="judge-length-controlled" /> " length-controlled"</label>
                            <label title="also judge up to this many of the project's gold items (the oldest), kept out of pairs: /calibration shows the judge's accuracy against gold run by run">"Gold items" <input type="number" name="gold_items" min="0" max="100000" value=pairwise_core::run_requests::DEFAULT_GOLD_ITEMS.to_string() style="width: 6rem" data-testid="judge-gold-items" /></label>
                            <button type="submit" class="primary" data-testid="start-judge">"Start judging"</button>
                        </ActionForm>
                        {action_error(actions.judge.value())}
                    </details>
                    <details class="card">
                        <summary>"Critique → revision loop (Constitutional AI)"</summary>
                        <p class="muted">"Per prompt: the generator answers; the critic critiques the answer against a principle drawn from the constitution (temperature 0.3); the reviser rewrites it (temperature 0.7); until a critique finds no violation or the rounds run out. The final revision becomes chosen, the original rejected; a bare template refusal never becomes chosen."</p>
                        <ActionForm action=actions.critique attr:class="row">
                            <label>"Loop project" <select name="project" data-testid="loop-project">{project_options3}</select></label>
                            <label>"Generator" {loop_generator}</label>
                            <label title="another model than the generator: a model critiquing its own answers tends to find them fine (allowed, with a warning on the run)">"Critic" {loop_critic}</label>
                            <label>"Reviser" {loop_reviser}</label>
                            <label>"Constitution" <select name="constitution" data-testid="loop-constitution">{constitution_options}</select></label>
                            <label>"Rounds" <input name="rounds" type="number" min="1" max="5" value=pairwise_core::constitution::DEFAULT_ROUNDS.to_string() style="width: 4rem" data-testid="loop-rounds" /></label>
                            <label>"Split"
                                <select name="split" data-testid="loop-split">
                                    <option value="redteam">"redteam"</option>
                                    <option value="probes" title="the 20 built-in false-premise probes, added to the project as red-team prompts">"false-premise probes"</option>
                                    <option value="all">"all"</option>
                                    <option value="benign">"benign"</option>
                                    <option value="train">"train"</option>
                                    <option value="eval">"eval"</option>
                                </select>
                            </label>
                            <label>"Loop prompts (empty = all)" <input name="limit" inputmode="numeric" size="6" data-testid="loop-limit" /></label>
                            <label title="most new tokens of each answer, critique and revision">"Tokens per text" <input name="max_new_tokens" type="number" min="1" max="4096" value="128" size="5" data-testid="loop-max-new-tokens" /></label>
                            <label title="empty: a random seed, recorded on the run">"Loop seed (empty = random)" <input name="seed" inputmode="numeric" size="12" /></label>
                            <button type="submit" class="primary" data-testid="start-critique">"Start loop"</button>
                        </ActionForm>
                        {action_error(actions.critique.value())}
                    </details>
                }
            })}
        </Suspense>
    }
}

/// The submitted form's fields as (name, value) pairs, in document order.
fn form_fields(ev: &leptos::ev::SubmitEvent) -> Result<Vec<(String, String)>, String> {
    use leptos::wasm_bindgen::JsCast;
    let form = ev
        .target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlFormElement>().ok())
        .ok_or("the form is missing")?;
    let data =
        leptos::web_sys::FormData::new_with_form(&form).map_err(|_| "the form is unreadable")?;
    let mut fields = Vec::new();
    let entries = js_entries(&data);
    for pair in entries {
        fields.push(pair);
    }
    Ok(fields)
}

/// FormData entries as strings (files are not part of this form).
fn js_entries(data: &leptos::web_sys::FormData) -> Vec<(String, String)> {
    use leptos::wasm_bindgen::JsCast;
    let Ok(iter) = leptos::web_sys::js_sys::try_iter(data) else {
        return Vec::new();
    };
    iter.into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pair = entry.dyn_into::<leptos::web_sys::js_sys::Array>().ok()?;
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
}

/// Builds the generation request from the form's fields; errors name the field.
fn generation_request(fields: &[(String, String)]) -> Result<GenerateRequest, String> {
    let one = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    fn number<T: std::str::FromStr>(
        name: &str,
        value: Option<String>,
    ) -> Result<Option<T>, String> {
        value
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("{name}: `{v}` is not a whole number"))
            })
            .transpose()
    }
    let mut request = GenerateRequest::new(
        one("project").ok_or("project: choose a project")?,
        one("model").ok_or("model: choose a model")?,
    );
    request.n = number("n", one("n"))?.unwrap_or(request.n);
    request.paths = fields
        .iter()
        .filter(|(k, _)| k == "paths")
        .map(|(_, v)| v.parse().map_err(|e| format!("paths: {e}")))
        .collect::<Result<_, String>>()?;
    request.max_new_tokens =
        number("max_new_tokens", one("max_new_tokens"))?.unwrap_or(request.max_new_tokens);
    request.limit = number("limit", one("limit"))?;
    request.seed = number("seed", one("seed"))?;
    request.split = one("split")
        .map(|s| s.parse().map_err(|e| format!("split: {e}")))
        .transpose()?;
    request.presets =
        parse_presets(&one("presets").unwrap_or_default()).map_err(|e| format!("presets: {e}"))?;
    request.confirm_high_temperature = one("confirm_high_temperature").is_some();
    Ok(request)
}

/// A finished build: pairs made, stored and their counts per error type, grade or verdict.
fn build_results(summary: &serde_json::Value) -> String {
    let Some(pairs) = summary.get("pairs").and_then(|p| p.as_u64()) else {
        return String::new();
    };
    let stored = summary["stored"]["inserted"].as_u64().unwrap_or(0);
    let counts = ["by_error", "grades", "by_verdict", "by_guard"]
        .iter()
        .find_map(|k| summary.get(*k).and_then(|c| c.as_object()))
        .map(|c| {
            c.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    format!("{pairs} pairs, {stored} new stored · {counts}")
}

/// A finished critique loop run: pairs made, and how its loops ended.
fn loop_results(summary: &serde_json::Value) -> String {
    let Some(pairs) = summary.get("pairs").and_then(|p| p.as_u64()) else {
        return String::new();
    };
    let ends = summary
        .get("by_end")
        .and_then(|c| c.as_object())
        .map(|c| {
            c.iter()
                .map(|(k, v)| format!("{} {v}", k.replace('_', " ")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    format!("{pairs} pairs · {ends}")
}

fn rate(summary: &serde_json::Value, key: &str) -> Option<String> {
    summary
        .get(key)
        .and_then(|v| v.as_f64())
        .map(|r| format!("{:.0}%", r * 100.0))
}

#[component]
fn RunTable(list: Vec<RunView>, actions: RunActions) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted">"No runs yet."</p> }.into_any();
    }
    view! {
        <table class="data runs" data-testid="runs">
            <thead><tr><th>"Run"</th><th>"Project"</th><th>"Status"</th><th>"Progress"</th><th>"Speed"</th><th>"Results"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|r| {
                    let percent = (r.done * 100).checked_div(r.total).unwrap_or(0);
                    let mode = r.payload.get("mode").or_else(|| r.payload.get("builder")).and_then(|m| m.as_str()).map(str::to_owned);
                    let results = match r.kind.as_str() {
                        "generate" => [
                            r.summary.get("candidates").map(|c| format!("{c} candidates")),
                            r.summary.get("refusals").and_then(|n| n.as_u64()).filter(|n| *n > 0).map(|n| format!(
                                "{n} refusals, {} templated",
                                r.summary.get("templated_refusals").and_then(|t| t.as_u64()).unwrap_or(0)
                            )),
                        ].into_iter().flatten().collect::<Vec<_>>().join(" · "),
                        "build" => build_results(&r.summary),
                        "critique" => loop_results(&r.summary),
                        "eval" => [
                            rate(&r.summary, "over_refusal").map(|p| format!("over-refusal {p}")),
                            rate(&r.summary, "harmlessness").map(|p| format!("harmlessness {p}")),
                            r.summary.get("helpfulness").and_then(|h| h.as_f64()).map(|h| format!("helpfulness {h:.2}")),
                        ].into_iter().flatten().collect::<Vec<_>>().join(" · "),
                        "duel" => r.summary.get("tally").and_then(|t| t.get("all")).map(|all| format!(
                            "first answer wins {} of {} items (both orders)",
                            rate(all, "win_rate").unwrap_or_else(|| "—".into()),
                            all.get("items").and_then(|n| n.as_u64()).unwrap_or(0)
                        )).unwrap_or_default(),
                        _ => [
                            rate(&r.summary, "parse_failure_rate").map(|p| format!("parse failures {p}")),
                            rate(&r.summary, "inconsistency_rate").map(|p| format!("position inconsistency {p}")),
                            r.summary.get("length_score_correlation").and_then(|c| c.as_f64()).map(|c| format!("score~length r {c:+.2}")),
                            r.payload.get("length_controlled").and_then(|c| c.as_bool()).filter(|c| *c).map(|_| "length-controlled".to_owned()),
                            r.summary.get("gold").and_then(|g| Some((g.get("n")?.as_u64()?, g.get("accuracy")?.as_f64()?)))
                                .map(|(n, a)| format!("gold accuracy {:.1}% of {n}", a * 100.0)),
                        ].into_iter().flatten().collect::<Vec<_>>().join(" · "),
                    };
                    let speed = [
                        r.tokens_per_s.map(|t| format!("{t:.1} tok/s")),
                        r.eta_s.map(|e| format!("ETA {e:.0} s")),
                    ].into_iter().flatten().collect::<Vec<_>>().join(" · ");
                    let (id, status) = (r.id, r.status.clone());
                    let can_cancel = matches!(status.as_str(), "queued" | "running");
                    let can_retry = matches!(status.as_str(), "failed" | "cancelled");
                    let candidates = format!("/projects/{}/candidates", r.project);
                    view! {
                        <tr data-testid=format!("run-{id}") data-status=status.clone() data-kind=r.kind.clone()>
                            <td>
                                {format!("#{id} {}", r.kind)} {mode.map(|m| view! { " " <span class="badge">{m}</span> })}
                                {r.seed.map(|seed| view! { <br /><small class="muted" data-testid="run-seed" title="the run's seed: with the model version, prompt and parameters it reproduces every candidate">{format!("seed {seed}")}</small> })}
                            </td>
                            <td><a href=candidates>{r.project}</a></td>
                            <td><span class=format!("badge status-{status}")>{status.clone()}</span></td>
                            <td>
                                <progress max=r.total.max(1) value=r.done aria-label=format!("run {id} progress")></progress>
                                " " <span data-testid="run-progress">{format!("{}/{} ({percent}%)", r.done, r.total)}</span>
                            </td>
                            <td>{speed}</td>
                            <td data-testid="run-results">
                                {results}
                                {(r.kind == "critique").then(|| view! { " " <a href=format!("/runs/{id}/critiques") data-testid="run-loops">"loops"</a> })}
                                {r.error.map(|e| view! { <p class="error">{e}</p> })}
                                {r.warnings.into_iter().map(|w| view! { <p class="warning" role="note">"⚠ " {w}</p> }).collect_view()}
                            </td>
                            <td>
                                {can_cancel.then(|| view! { <button type="button" on:click=move |_| { actions.cancel.dispatch(CancelRun { id }); }>"Cancel"</button> })}
                                {can_retry.then(|| view! { <button type="button" on:click=move |_| { actions.retry.dispatch(RetryRun { id }); }>"Retry"</button> })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::generation_request;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_form_becomes_the_request_with_no_seed_when_left_empty() {
        let r = generation_request(&fields(&[
            ("project", "gen"),
            ("model", "tiny"),
            ("n", "4"),
            ("paths", "diverse"),
            ("max_new_tokens", "24"),
            ("limit", ""),
            ("split", ""),
            ("seed", ""),
            ("presets", ""),
        ]))
        .expect("valid");
        assert_eq!(
            (r.n, r.max_new_tokens, r.seed, r.limit),
            (4, 24, None, None)
        );
        assert_eq!(r.paths.len(), 1);
        assert!(!r.confirm_high_temperature);
    }

    #[test]
    fn a_bad_field_is_named() {
        let e = generation_request(&fields(&[
            ("project", "gen"),
            ("model", "m"),
            ("seed", "x"),
        ]))
        .expect_err("seed is not a number");
        assert!(e.starts_with("seed:"), "{e}");
    }
}
