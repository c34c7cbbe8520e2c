//! A file upload form with a progress bar. Without WebAssembly it is a plain multipart form the
//! browser posts; once hydrated, the submit is sent with `XMLHttpRequest` so the page can show
//! how much of the file has gone up, then "Importing…" while the server parses and stores it
//! (atomically), and finally follows the route's redirect, which carries the outcome.

use leptos::prelude::*;

/// Bytes sent so far and in all (`None`: nothing is being sent).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sent {
    loaded: f64,
    total: f64,
}

#[component]
pub fn UploadForm(
    /// Where the form posts (a multipart route that answers with a redirect).
    action: String,
    #[prop(optional)] testid: &'static str,
    children: Children,
) -> impl IntoView {
    let sent = RwSignal::new(None::<Sent>);
    let failed = RwSignal::new(None::<String>);
    #[allow(unused_variables)]
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            ev.prevent_default();
            failed.set(None);
            if let Err(e) = send(&ev, sent, failed) {
                sent.set(None);
                failed.set(Some(e));
            }
        }
    };
    let status = move || {
        sent.get().map(|s| {
            let done = s.total > 0.0 && s.loaded >= s.total;
            let pct = if s.total > 0.0 {
                (s.loaded / s.total * 100.0).round()
            } else {
                0.0
            };
            let text = if done {
                "Uploaded; importing (nothing is stored unless every line is valid)…".to_owned()
            } else {
                format!(
                    "Uploading… {pct}% ({:.1} of {:.1} MB)",
                    s.loaded / 1e6,
                    s.total / 1e6
                )
            };
            view! {
                <div class="row" role="status" data-testid="upload-progress">
                    <progress max="100" value=pct></progress>
                    <span>{text}</span>
                </div>
            }
        })
    };
    view! {
        <form method="post" action=action enctype="multipart/form-data" class="stack" on:submit=on_submit data-testid=testid>
            {children()}
            {status}
            {move || failed.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </form>
    }
}

#[cfg(feature = "hydrate")]
fn send(
    ev: &leptos::ev::SubmitEvent,
    sent: RwSignal<Option<Sent>>,
    failed: RwSignal<Option<String>>,
) -> Result<(), String> {
    use wasm_bindgen::{closure::Closure, JsCast};
    let form: web_sys::HtmlFormElement = ev
        .target()
        .and_then(|t| t.dyn_into().ok())
        .ok_or("no form")?;
    let data = web_sys::FormData::new_with_form(&form).map_err(|_| "cannot read the form")?;
    let xhr = web_sys::XmlHttpRequest::new().map_err(|_| "cannot send")?;
    xhr.open("POST", &form.action())
        .map_err(|_| "cannot send")?;
    let upload = xhr.upload().map_err(|_| "cannot send")?;
    sent.set(Some(Sent {
        loaded: 0.0,
        total: 0.0,
    }));
    let on_progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() {
                sent.set(Some(Sent {
                    loaded: e.loaded(),
                    total: e.total(),
                }));
            }
        });
    upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    on_progress.forget();
    let done = xhr.clone();
    let on_load = Closure::<dyn FnMut()>::new(move || {
        // The route answers with a redirect whose query string carries the outcome; the request
        // followed it, so its final URL is the page to show.
        let to = done.response_url();
        match (done.status(), web_sys::window()) {
            (Ok(200), Some(w)) if !to.is_empty() => {
                let _ = w.location().assign(&to);
            }
            (status, _) => {
                sent.set(None);
                failed.set(Some(match status {
                    Ok(413) => "The file is larger than the server accepts.".into(),
                    Ok(403) => "You may not import here.".into(),
                    Ok(s) => format!("The upload failed (HTTP {s})."),
                    Err(_) => "The upload failed.".into(),
                }));
            }
        }
    });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    on_load.forget();
    let on_error = Closure::<dyn FnMut()>::new(move || {
        sent.set(None);
        failed.set(Some(
            "The upload did not reach the server; nothing was stored.".into(),
        ));
    });
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    xhr.send_with_opt_form_data(Some(&data))
        .map_err(|_| "cannot send".to_owned())
}
