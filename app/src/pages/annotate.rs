//! /annotate: blind A/B review, keyboard first. One prompt and two answers, A left and B right
//! (which answer is left was drawn on the server for this showing); keys 1–4 vote, `u` undoes
//! the last vote within 10 s, `m` switches the Markdown view. The next item is already in the
//! page when a vote is cast, so it appears at once; the vote is sent in the background. A vote
//! the server did not acknowledge (network error, server unreachable, HTTP 5xx) is sent again
//! with backoff, same showing and same choice (the server takes a repeated vote once), while a
//! "saving" note stays on the page; only after about two minutes does the page give up and say
//! so. An unfinished rationale is kept in the browser's localStorage and survives a reload.

use crate::{
    api::annotation::{
        annotate_projects, annotate_skip, annotate_undo, annotate_vote, fetch_queue,
        set_redteam_opt_out,
    },
    components::guard::{ErrorBox, Guarded},
    error::AppError,
};
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use pairwise_core::{
    annotation::{AnnotateQueue, Showing, DIMENSIONS, UNDO_SECONDS},
    Role,
};
use std::collections::HashSet;

/// Showings kept in the page: the current one and one prefetched.
const PREFETCH: u32 = 2;

/// The first wait before an unacknowledged vote is sent again; it doubles on each try.
const RETRY_FIRST_MS: u64 = 500;
/// The longest wait between two tries of one vote.
const RETRY_MAX_MS: u64 = 10_000;
/// How long (waits added up) an unacknowledged vote is retried before the page gives up.
const RETRY_GIVE_UP_MS: u64 = 120_000;

/// Whether a failed vote may have been lost on the way (or the server could not take it right
/// now), so that sending it again is right: the call never reached a handler or got no answer
/// (network error, server unreachable, a 5xx body that is not ours), an internal error, or too
/// many requests. Any other answer (401, 403, 404, 409, 422…) is final.
fn retryable(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Transport(_) | AppError::Internal | AppError::TooManyRequests
    )
}

/// The wait before try number `attempt + 1` (`attempt` ≥ 1 tries failed): 0.5 s, 1 s, 2 s, …
/// up to 10 s.
fn retry_delay_ms(attempt: u32) -> u64 {
    RETRY_FIRST_MS
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(20))
        .min(RETRY_MAX_MS)
}

/// One vote as sent, kept to send it again unchanged.
#[derive(Clone)]
struct PendingVote {
    id: i64,
    choice: &'static str,
    dims: [Option<String>; 3],
    rationale: String,
    duration: i64,
}

#[component]
pub fn AnnotatePage() -> impl IntoView {
    view! {
        <Title text="Annotate" />
        <Guarded role=Role::Annotator>
            <ProjectList />
        </Guarded>
    }
}

#[component]
fn ProjectList() -> impl IntoView {
    let list = Resource::new(|| (), |_| annotate_projects());
    view! {
        <h1>"Annotate"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"Nothing to annotate yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="data" data-testid="annotate-projects">
                            <thead><tr><th>"Project"</th><th class="num">"Done"</th><th class="num">"Open"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|p| view! {
                                    <tr>
                                        <td><a href=format!("/annotate/{}", p.name)>{p.name.clone()}</a> <span class="muted">{p.description}</span></td>
                                        <td class="num">{p.done}</td>
                                        <td class="num">{p.remaining}</td>
                                    </tr>
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

#[component]
pub fn AnnotateWorkPage() -> impl IntoView {
    let params = use_params_map();
    let project = move || params.with(|p| p.get("name").unwrap_or_default());
    let queue = Resource::new(project, |p| fetch_queue(p, PREFETCH));
    view! {
        <Title text="Annotate" />
        <Guarded role=Role::Annotator>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match queue.await {
                        Ok(queue) => view! { <Session queue /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Guarded>
    }
}

fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

fn draft_key(assignment: i64) -> String {
    format!("pairwise.rationale.{assignment}")
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn load_draft(assignment: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        storage()
            .and_then(|s| s.get_item(&draft_key(assignment)).ok().flatten())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = draft_key(assignment);
        String::new()
    }
}

fn save_draft(assignment: i64, text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(s) = storage() {
        let key = draft_key(assignment);
        let _ = if text.is_empty() {
            s.remove_item(&key)
        } else {
            s.set_item(&key, text)
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (assignment, text);
}

/// The working state of one annotation session (client side).
#[derive(Clone, Copy)]
struct State {
    project: StoredValue<String>,
    items: RwSignal<Vec<Showing>>,
    done: RwSignal<u64>,
    remaining: RwSignal<u64>,
    opt_out: RwSignal<bool>,
    markdown: RwSignal<bool>,
    rationale: RwSignal<String>,
    dims: [RwSignal<String>; 3],
    error: RwSignal<Option<String>>,
    /// The last vote, while it can be undone.
    last: RwSignal<Option<i64>>,
    shown_at: StoredValue<f64>,
    /// Votes sent but maybe not yet stored: never shown again from a refresh.
    sent: StoredValue<HashSet<i64>>,
    /// Votes whose first try got no acknowledgement and that are being sent again.
    retrying: RwSignal<Vec<i64>>,
}

impl State {
    fn current(&self) -> Option<Showing> {
        self.items.with_untracked(|v| v.first().cloned())
    }

    fn refresh(self) {
        let project = self.project.get_value();
        spawn_local(async move {
            match fetch_queue(project, PREFETCH).await {
                Ok(q) => {
                    let sent = self.sent.get_value();
                    self.items.set(
                        q.items
                            .into_iter()
                            .filter(|s| !sent.contains(&s.assignment))
                            .collect(),
                    );
                    self.done.set(q.done);
                    self.remaining.set(q.remaining);
                    self.opt_out.set(q.redteam_opt_out);
                }
                Err(e) => self.error.set(Some(e.to_string())),
            }
        });
    }

    fn cast(self, choice: &'static str) {
        let Some(cur) = self.current() else { return };
        let duration = (now_ms() - self.shown_at.get_value()).max(0.0) as i64;
        let dims = self
            .dims
            .map(|d| Some(d.get_untracked()).filter(|v| !v.is_empty()));
        let rationale = self.rationale.get_untracked();
        let id = cur.assignment;
        self.sent.update_value(|s| {
            s.insert(id);
        });
        // The prefetched item is already here: show it now, store the vote in the background.
        self.items.update(|v| {
            v.retain(|s| s.assignment != id);
        });
        self.error.set(None);
        self.send(
            PendingVote {
                id,
                choice,
                dims,
                rationale,
                duration,
            },
            1,
            0,
        );
    }

    /// Sends a vote (try number `attempt`, after `waited_ms` of backoff so far). Unacknowledged,
    /// it is sent again later with the same showing and choice, until [`RETRY_GIVE_UP_MS`].
    fn send(self, v: PendingVote, attempt: u32, waited_ms: u64) {
        spawn_local(async move {
            let id = v.id;
            let [helpful, honest, harmless] = v.dims.clone();
            let result = annotate_vote(
                id,
                v.choice.to_owned(),
                helpful,
                honest,
                harmless,
                Some(v.rationale.clone()),
                v.duration,
            )
            .await;
            match result {
                Err(e) if retryable(&e) && waited_ms < RETRY_GIVE_UP_MS => {
                    let delay = retry_delay_ms(attempt);
                    self.retrying.update(|r| {
                        if !r.contains(&id) {
                            r.push(id);
                        }
                    });
                    set_timeout(
                        move || self.send(v, attempt + 1, waited_ms + delay),
                        std::time::Duration::from_millis(delay),
                    );
                    return;
                }
                Ok(_) => {
                    save_draft(id, "");
                    self.last.set(Some(id));
                    set_timeout(
                        move || {
                            if self.last.get_untracked() == Some(id) {
                                self.last.set(None);
                            }
                        },
                        std::time::Duration::from_secs(UNDO_SECONDS as u64),
                    );
                }
                Err(e) => {
                    self.sent.update_value(|s| {
                        s.remove(&id);
                    });
                    let message = if retryable(&e) {
                        format!(
                            "Your vote was not saved: the server did not answer after {attempt} \
                             tries over two minutes ({e}). Please vote on this item again."
                        )
                    } else {
                        format!("Your vote was not saved: {e}")
                    };
                    self.error.set(Some(message));
                }
            }
            if self.retrying.with_untracked(|r| r.contains(&id)) {
                self.retrying.update(|r| r.retain(|x| *x != id));
            }
            self.refresh();
        });
    }

    fn undo(self) {
        let Some(id) = self.last.get_untracked() else {
            return;
        };
        self.last.set(None);
        spawn_local(async move {
            match annotate_undo(id).await {
                Ok(()) => {
                    self.sent.update_value(|s| {
                        s.remove(&id);
                    });
                }
                Err(e) => self.error.set(Some(e.to_string())),
            }
            self.refresh();
        });
    }

    fn skip(self) {
        let Some(cur) = self.current() else { return };
        let id = cur.assignment;
        self.sent.update_value(|s| {
            s.insert(id);
        });
        self.items.update(|v| v.retain(|s| s.assignment != id));
        spawn_local(async move {
            if let Err(e) = annotate_skip(id).await {
                self.error.set(Some(e.to_string()));
            }
            save_draft(id, "");
            self.refresh();
        });
    }
}

#[component]
fn Session(queue: AnnotateQueue) -> impl IntoView {
    let state = State {
        project: StoredValue::new(queue.project.clone()),
        items: RwSignal::new(queue.items),
        done: RwSignal::new(queue.done),
        remaining: RwSignal::new(queue.remaining),
        opt_out: RwSignal::new(queue.redteam_opt_out),
        markdown: RwSignal::new(false),
        rationale: RwSignal::new(String::new()),
        dims: [
            RwSignal::new(String::new()),
            RwSignal::new(String::new()),
            RwSignal::new(String::new()),
        ],
        error: RwSignal::new(None),
        last: RwSignal::new(None),
        shown_at: StoredValue::new(now_ms()),
        sent: StoredValue::new(HashSet::new()),
        retrying: RwSignal::new(Vec::new()),
    };
    let current = Memo::new(move |_| state.items.with(|v| v.first().cloned()));
    let current_id = Memo::new(move |_| current.with(|c| c.as_ref().map(|s| s.assignment)));
    // A new item on screen: its own draft rationale, fresh dimension choices, a new clock.
    Effect::new(move |_| {
        if let Some(id) = current_id.get() {
            state.rationale.set(load_draft(id));
            for d in state.dims {
                d.set(String::new());
            }
            state.shown_at.set_value(now_ms());
        }
    });
    // Keys 1–4 vote, u undoes, m toggles Markdown; not while typing, not on auto-repeat.
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.repeat() || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let typing = event_target::<leptos::web_sys::Element>(&ev)
                .tag_name()
                .to_ascii_lowercase();
            if matches!(typing.as_str(), "textarea" | "input" | "select") {
                return;
            }
            match ev.key().as_str() {
                "1" => state.cast("a"),
                "2" => state.cast("b"),
                "3" => state.cast("tie"),
                "4" => state.cast("both_bad"),
                "u" => state.undo(),
                "m" => state.markdown.update(|m| *m = !*m),
                _ => return,
            }
            ev.prevent_default();
        });
        on_cleanup(move || handle.remove());
    });
    let toggle_opt_out = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        spawn_local(async move {
            match set_redteam_opt_out(on).await {
                Ok(()) => state.refresh(),
                Err(e) => state.error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <div class="annotate" data-testid="annotate">
            <div class="row spread">
                <h1>{format!("Annotate · {}", queue.project)}</h1>
                <p class="muted" data-testid="progress">
                    <span data-testid="done">{move || state.done.get()}</span>" done · "
                    <span data-testid="remaining">{move || state.remaining.get()}</span>" open"
                </p>
            </div>
            {move || state.error.get().map(|e| view! { <p class="error" role="alert" data-testid="annotate-error">{e}</p> })}
            {move || {
                let n = state.retrying.with(Vec::len);
                (n > 0).then(|| view! {
                    <p class="muted" role="status" data-testid="vote-retrying">
                        {if n == 1 {
                            "Saving your last vote… the server did not answer yet, retrying.".to_owned()
                        } else {
                            format!("Saving {n} votes… the server did not answer yet, retrying.")
                        }}
                    </p>
                })
            }}
            {move || match current.get() {
                None => view! { <p class="card" data-testid="queue-empty">"Nothing left to annotate here right now. Thank you!"</p> }.into_any(),
                Some(item) => view! { <Item item state /> }.into_any(),
            }}
            <div class="row">
                <label><input type="checkbox" prop:checked=state.markdown on:change=move |ev| state.markdown.set(event_target_checked(&ev)) data-testid="markdown-toggle" />" Markdown view (m)"</label>
                {move || state.last.get().map(|_| view! {
                    <button type="button" on:click=move |_| state.undo() data-testid="undo">"Undo last vote (u)"</button>
                })}
                <label><input type="checkbox" prop:checked=state.opt_out on:change=toggle_opt_out data-testid="redteam-opt-out" />" Do not show me red-team items"</label>
            </div>
            <p class="muted small">"Keys: 1 A is better · 2 B is better · 3 tie · 4 both bad · u undo · m Markdown"</p>
        </div>
    }
}

#[component]
fn Item(item: Showing, state: State) -> impl IntoView {
    let id = item.assignment;
    let answer = move |text: String, html: String, testid: &'static str, label: &'static str| {
        view! {
            <article class="answer card" data-testid=testid>
                <h2>{label}</h2>
                {move || if state.markdown.get() {
                    view! { <div class="md" inner_html=html.clone()></div> }.into_any()
                } else {
                    view! { <pre class="text">{text.clone()}</pre> }.into_any()
                }}
            </article>
        }
    };
    view! {
        {item.content_warning.then(|| view! {
            <p class="warning" role="note" data-testid="content-warning">
                "Content warning: this item comes from a red-team prompt and may be disturbing. You may skip it; skipping is never counted against you."
            </p>
        })}
        <section class="prompt card" data-testid="prompt">
            {item.prompt.into_iter().map(|m| view! {
                <div class="turn"><span class="badge">{m.role}</span><pre class="text">{m.content}</pre></div>
            }).collect_view()}
        </section>
        <div class="answers">
            {answer(item.left, item.left_html, "answer-a", "A")}
            {answer(item.right, item.right_html, "answer-b", "B")}
        </div>
        <div class="choices row">
            <button type="button" class="primary" on:click=move |_| state.cast("a") data-testid="choose-a">"1 · A is better"</button>
            <button type="button" class="primary" on:click=move |_| state.cast("b") data-testid="choose-b">"2 · B is better"</button>
            <button type="button" on:click=move |_| state.cast("tie") data-testid="choose-tie">"3 · Tie"</button>
            <button type="button" on:click=move |_| state.cast("both_bad") data-testid="choose-both-bad">"4 · Both bad"</button>
            <button type="button" class="link" on:click=move |_| state.skip() data-testid="skip">"Skip: distressing"</button>
        </div>
        <details class="card">
            <summary>"Per dimension (optional)"</summary>
            <div class="row">
                {DIMENSIONS.iter().zip(state.dims).map(|(d, signal)| view! {
                    <label>{*d}" "
                        <select prop:value=signal on:change=move |ev| signal.set(event_target_value(&ev)) data-testid=format!("dim-{d}")>
                            <option value="">"—"</option>
                            <option value="a">"A"</option>
                            <option value="b">"B"</option>
                            <option value="tie">"tie"</option>
                        </select>
                    </label>
                }).collect_view()}
            </div>
        </details>
        <label class="block">"Rationale (optional)"
            <textarea rows="3" maxlength="4000" prop:value=state.rationale
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    save_draft(id, &text);
                    state.rationale.set(text);
                }
                data-testid="rationale"></textarea>
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unacknowledged_votes_back_off_and_final_answers_stop() {
        let delays: Vec<u64> = (1..=7).map(retry_delay_ms).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        assert_eq!(retry_delay_ms(u32::MAX), RETRY_MAX_MS);
        // About two minutes of waits before giving up.
        let (mut waited, mut tries) = (0, 1);
        while waited < RETRY_GIVE_UP_MS {
            waited += retry_delay_ms(tries);
            tries += 1;
        }
        assert!((15..=20).contains(&tries), "{tries}");
        assert!(retryable(&AppError::Transport("connection refused".into())));
        assert!(retryable(&AppError::Internal));
        assert!(retryable(&AppError::TooManyRequests));
        assert!(!retryable(&AppError::Conflict(
            "this item was skipped".into()
        )));
        assert!(!retryable(&AppError::NotFound("item".into())));
        assert!(!retryable(&AppError::Unauthenticated));
        assert!(!retryable(&AppError::invalid("choice", "unknown")));
    }
}
