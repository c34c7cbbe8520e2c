//! The models registry (admins): register a model directory under a name and kind; the version
//! is the hash of its files and changes when they change.

use crate::{
    api::models::{list_models, RegisterModel},
    components::guard::{action_error, ErrorBox, Guarded},
};
use leptos::prelude::*;
use leptos_meta::Title;
use pairwise_core::Role;

#[component]
pub fn ModelsPage() -> impl IntoView {
    view! {
        <Title text="Models" />
        <Guarded role=Role::Admin>
            <Models />
        </Guarded>
    }
}

#[component]
fn Models() -> impl IntoView {
    let register = ServerAction::<RegisterModel>::new();
    let list = Resource::new(move || register.version().get(), |_| list_models());
    view! {
        <h1>"Models"</h1>
        <details class="card" open>
            <summary>"Register a model"</summary>
            <ActionForm action=register attr:class="row">
                <label>"Name" <input name="name" required maxlength="64" pattern="[A-Za-z0-9._\\-]+" /></label>
                <label>"Kind"
                    <select name="kind">
                        <option value="generator">"generator"</option>
                        <option value="judge">"judge"</option>
                        <option value="reward">"reward"</option>
                        <option value="reference">"reference"</option>
                    </select>
                </label>
                <label class="grow">"Directory on the server" <input name="dir" placeholder="/srv/models/smollm2-135m" /></label>
                <label class="grow">"or OpenAI-compatible server" <input name="remote_url" type="url" placeholder="http://127.0.0.1:8089/v1" /></label>
                <label>"Served model" <input name="remote_model" placeholder="smollm2-135m" /></label>
                <label>"API key variable" <input name="api_key_env" pattern="[A-Z0-9_]*" placeholder="OPENAI_API_KEY" title="the name of an environment variable on the workers, never the key" /></label>
                <label>"Device"
                    <select name="device">
                        <option value="cpu">"cpu"</option>
                        <option value="auto">"auto"</option>
                        <option value="cuda">"cuda"</option>
                    </select>
                </label>
                <button type="submit" class="primary" data-testid="register-model">"Register"</button>
            </ActionForm>
            {action_error(register.value())}
        </details>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(models) if models.is_empty() => view! { <p class="muted">"No models yet."</p> }.into_any(),
                    Ok(models) => view! {
                        <table class="data" data-testid="models">
                            <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Device"</th><th>"Version"</th><th>"Directory"</th><th>"Checked"</th></tr></thead>
                            <tbody>
                                {models.into_iter().map(|m| view! {
                                    <tr>
                                        <td>{m.name}</td>
                                        <td><span class="badge">{m.kind}</span></td>
                                        <td>{m.device}</td>
                                        <td><code title=m.version.clone()>{m.version.chars().take(12).collect::<String>()}</code></td>
                                        <td><code>{m.path}</code></td>
                                        <td><time>{m.checked_at}</time></td>
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
