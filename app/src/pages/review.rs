//! /projects/NAME/review (reviewers): annotators' votes filtered by annotator, review state,
//! gold result, item agreement and time on task, each with its item (prompt and both answers),
//! and the decisions on them: accept, reject (with the reason) or requeue (the vote stops
//! counting and another annotator gets the item). The filter lives in the query string, so a
//! filtered view can be linked and reloaded.

use crate::{
    api::review::{list_review_votes, review_votes, ReviewQuery},
    components::guard::{action_error, ErrorBox, Guarded},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use pairwise_core::{
    annotation::review::{GoldFilter, ReviewList, ReviewRow, ReviewState},
    Role,
};

#[component]
pub fn ReviewPage() -> impl IntoView {
    view! {
        <Title text="Review" />
        <Guarded role=Role::Reviewer>
            <Review />
        </Guarded>
    }
}

type Decide = Action<
    (String, Vec<i64>, String, String),
    Result<pairwise_core::annotation::review::ReviewOutcome, crate::error::AppError>,
>;

#[component]
fn Review() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project = move || params.with(|p| p.get("name").unwrap_or_default());
    let filter = move || {
        query.with(|q| {
            let get = |k: &str| q.get(k).unwrap_or_default();
            ReviewQuery {
                annotator: get("annotator"),
                state: get("state"),
                gold: get("gold"),
                max_agreement: get("max_agreement"),
                max_duration_ms: get("max_duration_ms"),
                fast_only: q.get("fast_only").is_some(),
                include_repeats: q.get("include_repeats").is_some(),
            }
        })
    };
    let decide: Decide = Action::new(
        |(p, votes, decision, reason): &(String, Vec<i64>, String, String)| {
            review_votes(p.clone(), votes.clone(), decision.clone(), reason.clone())
        },
    );
    let data = Resource::new(
        move || (project(), filter(), decide.version().get()),
        |(p, f, _)| list_review_votes(p, f),
    );
    let reason = RwSignal::new(String::new());
    view! {
        <h1>"Review votes " <small class="muted">{project}</small></h1>
        <p class="muted">"A rejected or requeued vote stops counting: human pairs built again leave it out, and frozen versions leave out the human pairs resting on it. A requeued vote's item goes back to the queue for another annotator."</p>
        <Transition fallback=|| view! { <p class="muted">"Loading votes…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) => view! { <Votes list filter=filter() decide reason /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{:.0}%", v * 100.0))
}

#[component]
fn Votes(
    list: ReviewList,
    filter: ReviewQuery,
    decide: Decide,
    reason: RwSignal<String>,
) -> impl IntoView {
    let counts = ReviewState::ALL
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                list.counts.get(s.as_str()).copied().unwrap_or(0),
                s.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let project = list.project.clone();
    let shown: Vec<i64> = list.rows.iter().map(|r| r.vote).collect();
    let bulk = {
        let (project, shown) = (project.clone(), shown.clone());
        move |decision: &'static str| {
            let (project, shown) = (project.clone(), shown.clone());
            move |_| {
                decide.dispatch((
                    project.clone(),
                    shown.clone(),
                    decision.into(),
                    reason.get_untracked(),
                ));
            }
        }
    };
    let selected = |current: &str, value: &str| current == value;
    let states = ReviewState::ALL
        .iter()
        .map(|s| {
            let v = s.as_str();
            view! { <option value=v selected=selected(&filter.state, v)>{v}</option> }
        })
        .collect_view();
    let golds = GoldFilter::ALL.iter().skip(1).map(|g| {
        let v = g.as_str();
        view! { <option value=v selected=selected(&filter.gold, v)>{v.replace('_', " ")}</option> }
    }).collect_view();
    let annotators = list.annotators.iter().map(|a| {
        view! { <option value=a.clone() selected=selected(&filter.annotator, a)>{a.clone()}</option> }
    }).collect_view();
    let rows = list
        .rows
        .into_iter()
        .map(|row| view! { <Row row project=project.clone() decide reason /> })
        .collect_view();
    let empty = shown.is_empty();
    view! {
        <p data-testid="review-counts">{counts}</p>
        <form method="get" class="row card" aria-label="filter">
            <label>"Annotator " <select name="annotator" data-testid="filter-annotator"><option value="">"any"</option>{annotators}</select></label>
            <label>"State " <select name="state" data-testid="filter-state"><option value="">"any"</option>{states}</select></label>
            <label>"Gold " <select name="gold" data-testid="filter-gold"><option value="">"any"</option>{golds}</select></label>
            <label title="pairwise agreement of the item's votes; 0.5 finds the disputed ones">"Agreement at most " <input type="number" name="max_agreement" min="0" max="1" step="0.05" size="5" value=filter.max_agreement.clone() /></label>
            <label>"Time at most (ms) " <input type="number" name="max_duration_ms" min="0" size="7" value=filter.max_duration_ms.clone() /></label>
            <label title="faster than the answers' length allows at the project's reading speed"><input type="checkbox" name="fast_only" value="on" checked=filter.fast_only /> " too fast only"</label>
            <label><input type="checkbox" name="include_repeats" value="on" checked=filter.include_repeats /> " swapped repeats too"</label>
            <button type="submit" data-testid="filter-apply">"Filter"</button>
        </form>
        <div class="row card">
            <label>"Reason (required to reject) " <input type="text" size="40" maxlength="2000" data-testid="review-reason"
                prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev)) /></label>
            <button type="button" disabled=empty on:click=bulk("accept") data-testid="accept-shown">{format!("Accept the {} shown", shown.len())}</button>
            <button type="button" disabled=empty on:click=bulk("reject") data-testid="reject-shown">{format!("Reject the {} shown", shown.len())}</button>
        </div>
        {action_error(decide.value())}
        {move || decide.value().get().and_then(|r| r.ok()).map(|o| view! {
            <p class="ok" role="status" data-testid="review-result">{format!(
                "{} votes changed, {} already so, {} slots reopened.", o.changed, o.unchanged, o.reopened
            )}</p>
        })}
        <p class="muted">{format!("{} votes match; showing the first {}, oldest first.", list.matched, shown.len())}</p>
        <table class="review" data-testid="review-table">
            <thead><tr><th>"Vote"</th><th>"Annotator"</th><th>"Choice"</th><th>"Time"</th><th>"Agreement"</th><th>"Gold"</th><th>"Item"</th><th>"State"</th><th>"Decide"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
fn Row(row: ReviewRow, project: String, decide: Decide, reason: RwSignal<String>) -> impl IntoView {
    let vote = row.vote;
    let state = row.state();
    let on = move |decision: &'static str| {
        let project = project.clone();
        move |_| {
            decide.dispatch((
                project.clone(),
                vec![vote],
                decision.into(),
                reason.get_untracked(),
            ));
        }
    };
    let time = format!("{:.1} s", row.duration_ms as f64 / 1000.0);
    let fast = row.fast().then(|| {
        view! { <span class="error" title=format!("under the {} ms the answers take", row.min_ms)>" too fast"</span> }
    });
    let gold = match row.gold_correct() {
        Some(true) => "✓ matches",
        Some(false) => "✗ misses",
        None => "—",
    };
    let choice = match row.label.as_str() {
        "x" => "answer X".to_owned(),
        "y" => "answer Y".to_owned(),
        other => other.replace('_', " "),
    };
    let review = row.review.clone().map(|m| {
        let detail = if m.reason.is_empty() {
            format!("by {}", m.reviewer)
        } else {
            format!("by {}: {}", m.reviewer, m.reason)
        };
        view! { <br /><small class="muted">{detail}</small> }
    });
    let final_ = state == ReviewState::Requeued;
    let requeue_off = final_ || row.kind != "main";
    view! {
        <tr data-testid="review-row" data-vote=vote data-state=state.as_str()>
            <td>{vote}<br /><small class="muted">{row.kind.clone()}</small></td>
            <td>{row.annotator.clone()}</td>
            <td>{choice}{(!row.rationale.is_empty()).then(|| view! { <br /><small>{format!("“{}”", row.rationale)}</small> })}</td>
            <td>{time}{fast}</td>
            <td>{pct(row.agreement)}<br /><small class="muted">{format!("{} votes", row.item_votes)}</small></td>
            <td>{gold}</td>
            <td>
                <details>
                    <summary>{format!("item {}: {}", row.item, row.prompt.chars().take(80).collect::<String>())}</summary>
                    <p><strong>"Prompt: "</strong>{row.prompt.clone()}</p>
                    <p><strong>"Answer X: "</strong>{row.answer_x.clone()}</p>
                    <p><strong>"Answer Y: "</strong>{row.answer_y.clone()}</p>
                </details>
            </td>
            <td data-testid="review-state">{state.as_str()}{review}</td>
            <td class="actions">
                <button type="button" disabled=final_ on:click=on("accept") data-testid="accept">"Accept"</button>
                <button type="button" disabled=final_ on:click=on("reject") data-testid="reject">"Reject"</button>
                <button type="button" disabled=requeue_off on:click=on("requeue") data-testid="requeue" title="the vote stops counting and the item goes back to the queue for another annotator">"Requeue"</button>
            </td>
        </tr>
    }
}
