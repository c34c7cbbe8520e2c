//! Dataset versions of a project (reviewers): freeze a recipe, compare two versions, download
//! any version in every export format.

use crate::{
    api::{
        datasets::{diff_versions, list_pairs, list_versions, pair_count, FreezeVersion},
        PAIR_PAGE,
    },
    components::{
        guard::{action_error, ErrorBox, Guarded},
        pager::Pager,
        upload::UploadForm,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use pairwise_core::{
    dto::{DatasetVersionView, Page, PairView},
    ExportFormat, Role,
};

#[component]
pub fn DatasetsPage() -> impl IntoView {
    view! {
        <Title text="Datasets" />
        <Guarded role=Role::Reviewer>
            <Datasets />
        </Guarded>
    }
}

#[component]
fn Datasets() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.with(|p| p.get("name").unwrap_or_default());
    let freeze = ServerAction::<FreezeVersion>::new();
    let versions = Resource::new(
        move || (name(), freeze.version().get()),
        |(n, _)| list_versions(n),
    );
    let pairs = Resource::new(
        move || (name(), freeze.version().get()),
        |(n, _)| pair_count(n),
    );
    let done = move || {
        freeze.value().get().and_then(|r| r.ok()).map(|v| {
            view! { <p class="ok" role="status" data-testid="frozen">{format!("Froze {} with {} pairs.", v.tag, v.pair_count)}</p> }
        })
    };
    view! {
        <h1>{name} " · datasets"</h1>
        <ImportOutcome target="pairs" />
        <PairImportForm project=name() target="pairs" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                pairs.await.ok().map(|n| view! { <p class="muted" data-testid="pair-count">{format!("{n} pairs in the project")}</p> })
            })}
        </Suspense>
        <details class="card" open>
            <summary>"Freeze a version"</summary>
            <ActionForm action=freeze attr:class="row">
                <input type="hidden" name="project" value=name />
                <label>"Tag" <input name="tag" required maxlength="64" pattern="[A-Za-z0-9._\\-]+" placeholder="v1" /></label>
                <label class="grow">"Sources (comma-separated, empty = all)" <input name="sources" /></label>
                <label title="Only pairs judged under these rubric versions; needed when the pairs rest on several">"Rubric versions" <input name="rubrics" size="12" placeholder="default@2" /></label>
                <label>"Min margin" <input name="min_margin" inputmode="decimal" size="6" /></label>
                <label>"Max margin" <input name="max_margin" inputmode="decimal" size="6" /></label>
                <label title="Share of prompts (all pairs of a prompt together) that go to eval; empty: the pairs' own splits">"Eval share" <input name="eval_fraction" inputmode="decimal" size="5" placeholder="0.1" /></label>
                <label title="Leave out human-decided pairs resting on quarantined votes"><input type="checkbox" name="kappa_gate" value="on" checked /> " κ gate"</label>
                <label title="Leave out human-decided pairs resting on a vote no reviewer accepted (rejected and requeued votes are always left out)"><input type="checkbox" name="accepted_votes_only" value="on" /> " reviewed votes only"</label>
                <label title="A curriculum: the version lists these strategies' pairs in this order and leaves out the others">"Strategy order" <input name="strategy_order" size="16" placeholder="extreme, margin" /></label>
                <details class="grow" data-testid="curation-fields">
                    <summary>"Curation: length bias and near-duplicates"</summary>
                    <div class="row">
                        <label title="Drop from the over-represented side (lowest pair hash first) until chosen is the longer answer in this share of pairs">"Chosen longer share" <input name="length_balance" inputmode="decimal" size="5" placeholder="0.5" /></label>
                        <label>"± tolerance" <input name="length_tolerance" inputmode="decimal" size="5" placeholder="0.05" /></label>
                        <label title="Drop pairs whose answers differ by more characters than this">"Max length gap (chars)" <input name="max_length_gap" inputmode="numeric" size="7" /></label>
                        <label title="Drop pairs whose prompt nearly repeats an evaluation prompt or an earlier kept prompt: MinHash compares word bigrams (Jaccard), MiniLM compares sentence embeddings (cosine) and also catches paraphrases">"Near-duplicates by"
                            <select name="near_duplicate_method">
                                <option value="minhash">"MinHash (Jaccard)"</option>
                                <option value="minilm">"MiniLM (cosine)"</option>
                            </select>
                        </label>
                        <label title="Similarity at or above which prompts are near-duplicates (empty: off); e.g. 0.8 Jaccard or 0.9 cosine">"Near-duplicate threshold" <input name="near_duplicate_jaccard" inputmode="decimal" size="5" placeholder="0.8" /></label>
                        <label title="Versions whose prompts are evaluation prompts, comma-separated">"Evaluation versions" <input name="near_duplicate_against" size="10" /></label>
                    </div>
                </details>
                <details class="grow">
                    <summary>"Recipe as JSON"</summary>
                    <label class="grow">"Replaces the fields above: a mix with per-step limits and margins, a split seed…"
                        <textarea name="recipe_json" rows="4" spellcheck="false" placeholder=r#"{"mix":[{"strategies":["extreme"],"min_margin":0.2,"limit":5000},{"strategies":["margin"]}],"split":{"eval_fraction":0.1,"seed":0}}"#></textarea>
                    </label>
                </details>
                <button type="submit" class="primary" data-testid="freeze">"Freeze"</button>
            </ActionForm>
            {action_error(freeze.value())}
            {done}
        </details>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match versions.await {
                    Ok(list) => view! { <VersionTable project=name() list /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
        <PairBrowser />
    }
}

/// The project's pairs, paged on the server, filtered by source, strategy and prompt text.
#[component]
fn PairBrowser() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let q = move |key: &str| query.with(|q| q.get(key).unwrap_or_default());
    let page = Resource::new(
        move || {
            (
                params.with(|p| p.get("name").unwrap_or_default()),
                q("offset").parse::<u64>().unwrap_or(0),
                q("source"),
                q("strategy"),
                q("q"),
                (q("min_margin"), q("max_margin"), q("length"), q("flag")),
                (q("version"), q("split")),
            )
        },
        |(name, offset, source, strategy, search, (lo, hi, length, flag), (version, split))| {
            list_pairs(
                name, offset, source, strategy, search, lo, hi, length, flag, version, split,
            )
        },
    );
    let versions = Resource::new(
        move || params.with(|p| p.get("name").unwrap_or_default()),
        list_versions,
    );
    view! {
        <h2 id="pairs">"Pairs"</h2>
        <form method="get" class="row filters" role="search">
            <label>"Version"
                <select name="version" prop:value=move || q("version") data-testid="browse-version">
                    <option value="">"all pairs of the project"</option>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            versions.await.unwrap_or_default().into_iter().map(|v| {
                                let selected = q("version") == v.tag;
                                view! { <option value=v.tag.clone() selected=selected>{v.tag.clone()}</option> }
                            }).collect_view()
                        })}
                    </Suspense>
                </select>
            </label>
            <label title="Needs a version">"Split"
                <select name="split" prop:value=move || q("split") data-testid="browse-split">
                    <option value="">"any"</option>
                    <option value="train">"train"</option>
                    <option value="eval">"eval"</option>
                </select>
            </label>
            <label>"Source" <input name="source" value=move || q("source") /></label>
            <label>"Strategy" <input name="strategy" value=move || q("strategy") placeholder="imported" /></label>
            <label class="grow">"Prompt contains" <input name="q" type="search" value=move || q("q") /></label>
            <label>"Margin ≥" <input name="min_margin" inputmode="decimal" size="5" value=move || q("min_margin") /></label>
            <label>"Margin ≤" <input name="max_margin" inputmode="decimal" size="5" value=move || q("max_margin") /></label>
            <label>"Chosen is"
                <select name="length" prop:value=move || q("length")>
                    <option value="">"any length"</option>
                    <option value="longer">"longer"</option>
                    <option value="shorter">"shorter"</option>
                </select>
            </label>
            <label>"Flag"
                <select name="flag" prop:value=move || q("flag")>
                    <option value="">"any"</option>
                    <option value="trivial">"trivial negative"</option>
                    <option value="hard">"hard negative"</option>
                </select>
            </label>
            <button type="submit">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <PairTable page /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PairTable(page: Page<PairView>) -> impl IntoView {
    let (offset, shown, total) = (page.offset, page.items.len() as u64, page.total);
    // Model answers are untrusted: they are rendered as text (Leptos escapes them).
    view! {
        <table class="data pairs" data-testid="pairs">
            <thead><tr><th>"Prompt"</th><th>"Chosen"</th><th>"Rejected"</th><th>"Strategy"</th><th>"Source"</th></tr></thead>
            <tbody>
                {page.items.into_iter().map(|p| view! {
                    <tr>
                        <td><div class="clamp">{p.prompt}</div>{(p.turns > 1).then(|| view! { <span class="badge">{format!("{} turns", p.turns)}</span> })}</td>
                        <td><div class="clamp">{p.chosen}</div></td>
                        <td><div class="clamp">{p.rejected}</div></td>
                        <td><span class="badge">{p.strategy}</span></td>
                        <td>{p.source}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <Pager offset shown total page_size=PAIR_PAGE empty="No pairs match." label="Pair pages" summary_testid="pair-summary" next_testid="next-pairs" />
    }
}

#[component]
fn VersionTable(project: String, list: Vec<DatasetVersionView>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted">"No versions yet: import pairs (pairwise import pairs) and freeze one."</p> }.into_any();
    }
    let tags: Vec<String> = list.iter().map(|v| v.tag.clone()).collect();
    let rows = list
        .into_iter()
        .map(|v| {
            let links = ExportFormat::ALL
                .iter()
                .map(|f| {
                    let href = format!("/api/v1/projects/{project}/datasets/{}/export?format={}", v.tag, f.as_str());
                    let parquet = format!("{href}&container=parquet");
                    view! { <a href=href download>{f.as_str()}</a> " (" <a href=parquet download title="Parquet">"pq"</a> ") " }
                })
                .collect_view();
            view! {
                <tr>
                    <td><a href=format!("/projects/{project}/datasets/{}", v.tag)>{v.tag.clone()}</a></td>
                    <td>{v.parent.clone().unwrap_or_default()}</td>
                    <td class="num">{v.pair_count}</td>
                    <td><code title=v.content_hash.clone()>{v.content_hash.chars().take(12).collect::<String>()}</code></td>
                    <td><time>{v.created_at.clone()}</time></td>
                    <td class="downloads">{links}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="data" data-testid="versions">
            <thead><tr><th>"Tag"</th><th>"Parent"</th><th class="num">"Pairs"</th><th>"Content"</th><th>"Frozen"</th><th>"Download"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <DiffForm project tags />
    }
    .into_any()
}

#[component]
fn DiffForm(project: String, tags: Vec<String>) -> impl IntoView {
    let from = RwSignal::new(tags.first().cloned().unwrap_or_default());
    let to = RwSignal::new(tags.last().cloned().unwrap_or_default());
    let project = StoredValue::new(project);
    let diff = Action::new(move |(a, b): &(String, String)| {
        let (a, b) = (a.clone(), b.clone());
        async move { diff_versions(project.get_value(), a, b).await }
    });
    let options = move || {
        tags.iter()
            .map(|t| view! { <option value=t.clone()>{t.clone()}</option> })
            .collect_view()
    };
    let options2 = options.clone();
    view! {
        <h2>"Compare versions"</h2>
        <div class="row">
            <label>"From" <select on:change=move |ev| from.set(event_target_value(&ev)) prop:value=from>{options}</select></label>
            <label>"To" <select on:change=move |ev| to.set(event_target_value(&ev)) prop:value=to>{options2}</select></label>
            <button type="button" on:click=move |_| { diff.dispatch((from.get(), to.get())); } data-testid="diff">"Compare"</button>
        </div>
        {move || diff.value().get().map(|r| match r {
            Ok(d) => {
                let show = |v: Option<f64>| match v {
                    Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
                    Some(v) => format!("{v:.3}"),
                    None => "—".into(),
                };
                let change = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) if b != a => {
                        let d = b - a;
                        if d.fract() == 0.0 { format!("{d:+.0}") } else { format!("{d:+.3}") }
                    }
                    _ => String::new(),
                };
                let (from, to) = (d.from.clone(), d.to.clone());
                view! {
                    <p class="card" data-testid="diff-result">
                        {format!("{} → {}: +{} added, −{} removed, {} unchanged ({} → {} pairs)", d.from, d.to, d.added, d.removed, d.unchanged, d.from_pair_count, d.to_pair_count)}
                    </p>
                    <table class="data" data-testid="diff-stats">
                        <thead><tr><th>"Statistic"</th><th class="num">{from}</th><th class="num">{to}</th><th class="num">"Change"</th></tr></thead>
                        <tbody>
                            {d.stats.into_iter().map(|s| view! {
                                <tr><td>{s.name}</td><td class="num">{show(s.from)}</td><td class="num">{show(s.to)}</td><td class="num">{change(s.from, s.to)}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })}
    }
}

/// The outcome of the last pair or gold import, carried back in the query string by the upload
/// route (`pairs_imported`, `pairs_error`, or the same with `gold_`).
#[component]
pub fn ImportOutcome(target: &'static str) -> impl IntoView {
    let query = use_query_map();
    move || {
        query.with(|q| {
            let get = |k: &str| q.get(&format!("{target}_{k}"));
            let what = if target == "gold" { "gold items" } else { "pairs" };
            if let Some(error) = get("error") {
                Some(view! { <p class="error" role="alert" data-testid=format!("{target}-import-error")>{format!("Import failed, nothing was stored: {error}")}</p> }.into_any())
            } else {
                get("imported").map(|n| {
                    let dup = get("duplicates").unwrap_or_else(|| "0".into());
                    let rows = get("rows").unwrap_or_else(|| "?".into());
                    view! { <p class="ok" role="status" data-testid=format!("{target}-import-ok")>{format!("Imported {n} new {what} from {rows} rows ({dup} already stored).")}</p> }.into_any()
                })
            }
        })
    }
}

/// Uploads a pair file (JSONL, gzip or Parquet) as pairs of the project or (target `gold`) as
/// silent gold items; atomic, with the upload's progress.
#[component]
pub fn PairImportForm(project: String, target: &'static str) -> impl IntoView {
    let gold = target == "gold";
    let title = if gold {
        "Import a gold set"
    } else {
        "Import pairs"
    };
    let help = if gold {
        "Each row's chosen answer becomes the agreed answer of a silent gold item (which side is shown first is random). JSONL, gzip accepted."
    } else {
        "Preference pairs in TRL (prompt/chosen/rejected, plain or conversational), HH-RLHF or UltraFeedback-binarized rows, or raw UltraFeedback rows (an instruction with rated completions, paired by their mean aspect rating): JSONL, gzip, or Parquet. A bad line stores nothing and is named here; pairs already in the project are skipped."
    };
    let accept = if gold {
        ".jsonl,.ndjson,.json,.gz"
    } else {
        ".jsonl,.ndjson,.json,.gz,.parquet"
    };
    view! {
        <details class="card" data-testid=format!("{target}-import")>
            <summary>{title}</summary>
            <UploadForm action=format!("/projects/{project}/import-pairs") testid="pair-import-form">
                <p class="muted">{help}</p>
                <input type="hidden" name="target" value=target />
                <div class="row">
                    <label>"Format"
                        <select name="format" data-testid=format!("{target}-format")>
                            <option value="trl">"TRL"</option>
                            <option value="hh-rlhf">"HH-RLHF"</option>
                            <option value="ultrafeedback">"UltraFeedback (binarized)"</option>
                            <option value="ultrafeedback-raw">"UltraFeedback raw ratings: best vs worst"</option>
                            <option value="ultrafeedback-raw-margin">"UltraFeedback raw ratings: neighbours < 1 point apart"</option>
                        </select>
                    </label>
                    <label>"File" <input type="file" name="file" accept=accept required data-testid=format!("{target}-file") /></label>
                </div>
                <button type="submit" class="primary" data-testid=format!("{target}-submit")>"Import"</button>
            </UploadForm>
        </details>
    }
}
