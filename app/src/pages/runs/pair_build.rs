//! The pair-building form of /runs: a finished judge run, a strategy and its filters become
//! chosen/rejected pairs. Every change of the form previews what a build would make (new pairs,
//! duplicates, filtered by margin) before anything is stored.

use crate::api::pairs::build_pairs;
use leptos::prelude::*;
use pairwise_core::{
    dto::{BuildReport, RunView},
    requests::BuildPairsRequest,
    strategy::{RankedPick, Strategy},
};

/// A finished judge run the form can build from.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeRunChoice {
    pub id: i64,
    pub project: String,
    pub mode: String,
}

/// The finished judge runs among `runs`, newest first.
pub fn judge_runs(runs: &[RunView]) -> Vec<JudgeRunChoice> {
    runs.iter()
        .filter(|r| r.kind == "judge" && r.status == "done")
        .map(|r| JudgeRunChoice {
            id: r.id,
            project: r.project.clone(),
            mode: r.payload["mode"].as_str().unwrap_or("").to_owned(),
        })
        .collect()
}

/// The form's fields; numbers are kept as typed so a bad one can be named.
#[derive(Debug, Clone, Default, PartialEq)]
struct Fields {
    run: String,
    strategy: String,
    pick: String,
    threshold: String,
    min_margin: String,
    max_margin: String,
}

/// The request the form's fields make; errors name the field.
fn request(fields: &Fields, preview: bool) -> Result<BuildPairsRequest, String> {
    fn number(name: &str, v: &str) -> Result<Option<f64>, String> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.parse()
            .map(Some)
            .map_err(|_| format!("{name}: `{v}` is not a number"))
    }
    let run: i64 = fields
        .run
        .parse()
        .map_err(|_| "judge_run: choose a finished judge run".to_owned())?;
    let strategy: Strategy = fields
        .strategy
        .parse()
        .map_err(|e| format!("strategy: {e}"))?;
    let mut request = BuildPairsRequest::new(run, strategy);
    if !fields.pick.is_empty() {
        request.pick = fields
            .pick
            .parse::<RankedPick>()
            .map_err(|e| format!("pick: {e}"))?;
    }
    if let Some(t) = number("threshold", &fields.threshold)? {
        request.threshold = t;
    }
    request.min_margin = number("min_margin", &fields.min_margin)?;
    request.max_margin = number("max_margin", &fields.max_margin)?;
    request.preview = preview;
    Ok(request)
}

fn summary(r: &BuildReport, preview: bool) -> String {
    let made = r.inserted + r.duplicates;
    let head = if preview {
        format!(
            "Would make {made} pairs: {} new, {} already stored",
            r.inserted, r.duplicates
        )
    } else {
        format!(
            "Built {made} pairs: {} new, {} already stored",
            r.inserted, r.duplicates
        )
    };
    let mut parts = vec![head, format!("{} prompts", r.prompts)];
    if r.filtered > 0 {
        parts.push(format!("{} filtered by margin", r.filtered));
    }
    if r.templated_refusals > 0 {
        parts.push(format!(
            "{} templated refusals not chosen",
            r.templated_refusals
        ));
    }
    if let Some(e) = r.evidence {
        parts.push(format!(
            "ranked from {} score comparisons, {} judge orders, {} human votes",
            e.judge_scores, e.judge_orders, e.human_votes
        ));
    }
    parts.join(" · ")
}

#[component]
pub fn PairBuildForm(runs: Memo<Vec<JudgeRunChoice>>) -> impl IntoView {
    let fields = RwSignal::new(Fields {
        strategy: "ranked".into(),
        pick: "top_bottom".into(),
        ..Default::default()
    });
    // Default to the newest finished run until one is chosen.
    Effect::new(move |_| {
        let list = runs.get();
        if fields.with_untracked(|f| f.run.is_empty()) {
            if let Some(first) = list.first() {
                fields.update(|f| f.run = first.id.to_string());
            }
        }
    });
    let project_of = move |id: &str| {
        runs.with(|l| {
            l.iter()
                .find(|r| r.id.to_string() == id)
                .map(|r| r.project.clone())
        })
    };
    let preview =
        Action::new(move |(p, r): &(String, BuildPairsRequest)| build_pairs(p.clone(), r.clone()));
    let build =
        Action::new(move |(p, r): &(String, BuildPairsRequest)| build_pairs(p.clone(), r.clone()));
    let form_error = RwSignal::new(None::<String>);
    // The live preview: every change of the form (or a build) asks again.
    Effect::new(move |_| {
        build.version().get();
        let f = fields.get();
        let Some(project) = project_of(&f.run) else {
            return;
        };
        match request(&f, true) {
            Ok(r) => {
                form_error.set(None);
                preview.dispatch((project, r));
            }
            Err(e) => form_error.set(Some(e)),
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f = fields.get_untracked();
        match (project_of(&f.run), request(&f, false)) {
            (Some(project), Ok(r)) => {
                form_error.set(None);
                build.dispatch((project, r));
            }
            (None, _) => form_error.set(Some("judge_run: choose a finished judge run".into())),
            (_, Err(e)) => form_error.set(Some(e)),
        }
    };
    let set = move |apply: fn(&mut Fields, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            fields.update(|f| apply(f, v));
        }
    };
    let report_line = move |value: Option<Result<BuildReport, crate::error::AppError>>,
                            is_preview: bool| {
        value.map(|r| match r {
            Ok(r) => view! { <p data-testid=if is_preview { "pairs-preview" } else { "pairs-built" }>{summary(&r, is_preview)}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <details class="card" open>
            <summary>"Build pairs from a judge run"</summary>
            <form class="row" on:submit=on_submit data-testid="pair-build">
                <label>"Judge run"
                    <select prop:value=move || fields.with(|f| f.run.clone()) on:change=set(|f, v| f.run = v) data-testid="pairs-run">
                        {move || runs.get().into_iter().map(|r| {
                            let label = format!("#{} {} ({})", r.id, r.project, r.mode);
                            view! { <option value=r.id.to_string()>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Strategy"
                    <select prop:value=move || fields.with(|f| f.strategy.clone()) on:change=set(|f, v| f.strategy = v) data-testid="pairs-strategy">
                        <option value="ranked">"ranked (Bradley–Terry over all evidence)"</option>
                        <option value="extreme">"extreme (best vs worst score)"</option>
                        <option value="margin">"margin (close neighbours)"</option>
                        <option value="pairwise">"pairwise (verdicts agreeing in both orders)"</option>
                    </select>
                </label>
                <label>"Ranked pick"
                    <select prop:value=move || fields.with(|f| f.pick.clone()) on:change=set(|f, v| f.pick = v) data-testid="pairs-pick">
                        <option value="top_bottom">"top vs bottom"</option>
                        <option value="adjacent">"adjacent ranks"</option>
                    </select>
                </label>
                <label title="margin strategy: neighbours whose score gap is below this">"Threshold"
                    <input inputmode="decimal" size="6" placeholder="0.05" on:input=set(|f, v| f.threshold = v) data-testid="pairs-threshold" />
                </label>
                <label title="ranked: the minimum Bradley–Terry gap">"Min margin"
                    <input inputmode="decimal" size="6" on:input=set(|f, v| f.min_margin = v) data-testid="pairs-min-margin" />
                </label>
                <label>"Max margin"
                    <input inputmode="decimal" size="6" on:input=set(|f, v| f.max_margin = v) data-testid="pairs-max-margin" />
                </label>
                <button type="submit" class="primary" data-testid="build-pairs">"Build pairs"</button>
            </form>
            {move || form_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || report_line(preview.value().get(), true)}
            {move || report_line(build.value().get(), false)}
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_the_request_and_a_bad_number_is_named() {
        let mut f = Fields {
            run: "7".into(),
            strategy: "ranked".into(),
            pick: "adjacent".into(),
            min_margin: "0.5".into(),
            ..Default::default()
        };
        let r = request(&f, true).expect("valid");
        assert_eq!(
            (r.judge_run, r.strategy, r.pick),
            (7, Strategy::Ranked, RankedPick::Adjacent)
        );
        assert_eq!(
            (r.min_margin, r.max_margin, r.preview),
            (Some(0.5), None, true)
        );
        f.max_margin = "lots".into();
        assert!(request(&f, false)
            .expect_err("bad")
            .starts_with("max_margin:"));
        f.run.clear();
        assert!(request(&f, false)
            .expect_err("no run")
            .starts_with("judge_run:"));
    }
}
