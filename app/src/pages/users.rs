//! Users (admins): add people, change roles, deactivate, issue and revoke API tokens.

use crate::{
    api::users::{
        list_tokens, list_users, CreateUser, IssueToken, RevokeToken, SetUserActive, SetUserRole,
    },
    components::guard::{action_error, ErrorBox, Guarded},
};
use leptos::prelude::*;
use leptos_meta::Title;
use pairwise_core::{
    dto::{TokenView, UserView},
    Role,
};

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Title text="Users" />
        <Guarded role=Role::Admin>
            <Users />
        </Guarded>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    create: ServerAction<CreateUser>,
    role: ServerAction<SetUserRole>,
    active: ServerAction<SetUserActive>,
    issue: ServerAction<IssueToken>,
    revoke: ServerAction<RevokeToken>,
}

impl Actions {
    fn version(&self) -> usize {
        self.create.version().get()
            + self.role.version().get()
            + self.active.version().get()
            + self.issue.version().get()
            + self.revoke.version().get()
    }
}

#[component]
fn Users() -> impl IntoView {
    let actions = Actions {
        create: ServerAction::new(),
        role: ServerAction::new(),
        active: ServerAction::new(),
        issue: ServerAction::new(),
        revoke: ServerAction::new(),
    };
    let users = Resource::new(move || actions.version(), |_| list_users());
    let tokens = Resource::new(move || actions.version(), |_| list_tokens());
    let issued = move || {
        actions.issue.value().get().and_then(|r| r.ok()).map(|t| {
            view! {
                <div class="card ok" role="status" data-testid="issued-token">
                    <p>{format!("Token “{}” for {}: copy it now, it is not shown again.", t.token.name, t.username)}</p>
                    <pre class="secret">{t.secret}</pre>
                </div>
            }
        })
    };
    view! {
        <h1>"Users"</h1>
        <details class="card" open>
            <summary>"Add a user"</summary>
            <ActionForm action=actions.create attr:class="row">
                <label>"Username" <input name="username" required maxlength="64" autocomplete="off" /></label>
                <label>"Role" <RoleSelect name="role" selected=Role::Annotator /></label>
                <label>"Password" <input name="password" type="password" required minlength="10" autocomplete="new-password" /></label>
                <button type="submit" class="primary">"Add"</button>
            </ActionForm>
            {action_error(actions.create.value())}
        </details>
        {action_error(actions.role.value())}
        {action_error(actions.active.value())}
        {action_error(actions.issue.value())}
        {issued}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => view! { <UserTable list actions /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
        <h2>"API tokens"</h2>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match tokens.await {
                    Ok(list) => view! { <TokenTable list revoke=actions.revoke /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RoleSelect(name: &'static str, selected: Role) -> impl IntoView {
    view! {
        <select name=name>
            {Role::ALL.iter().map(|r| view! { <option value=r.as_str() selected=*r == selected>{r.as_str()}</option> }).collect_view()}
        </select>
    }
}

#[component]
fn UserTable(list: Vec<UserView>, actions: Actions) -> impl IntoView {
    view! {
        <table class="data" data-testid="users">
            <thead><tr><th>"User"</th><th>"Role"</th><th>"Status"</th><th>"Token"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|u| {
                    let status = if u.active { "active" } else { "deactivated" };
                    let (n1, n2, n3) = (u.username.clone(), u.username.clone(), u.username.clone());
                    view! {
                        <tr>
                            <td>{u.username.clone()}</td>
                            <td>
                                <ActionForm action=actions.role attr:class="inline">
                                    <input type="hidden" name="username" value=n1 />
                                    <RoleSelect name="role" selected=u.role />
                                    <button type="submit">"Set role"</button>
                                </ActionForm>
                            </td>
                            <td><span class="badge">{status}</span></td>
                            <td>
                                <ActionForm action=actions.issue attr:class="inline">
                                    <input type="hidden" name="username" value=n2 />
                                    <input name="name" placeholder="token name" required maxlength="100" aria-label="Token name" />
                                    <input name="expires_in_days" type="number" min="0" max="3650" value="90" class="narrow" aria-label="Expires in days (0: never)" title="Expires in days (0: never)" />
                                    <button type="submit">"Issue token"</button>
                                </ActionForm>
                            </td>
                            <td>
                                <ActionForm action=actions.active attr:class="inline">
                                    <input type="hidden" name="username" value=n3 />
                                    <input type="hidden" name="active" value=(!u.active).to_string() />
                                    <button type="submit" class:danger=u.active>{if u.active { "Deactivate" } else { "Reactivate" }}</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn TokenTable(list: Vec<TokenView>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted">"No tokens issued."</p> }.into_any();
    }
    view! {
        <table class="data" data-testid="tokens">
            <thead><tr><th>"Name"</th><th>"User id"</th><th>"Starts with"</th><th>"Created"</th><th>"Last used"</th><th>"Expires"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|t| view! {
                    <tr>
                        <td>{t.name}</td>
                        <td class="num">{t.user_id}</td>
                        <td><code>{t.prefix}"…"</code></td>
                        <td><time>{t.created_at}</time></td>
                        <td>{t.last_used_at.unwrap_or_else(|| "never".into())}</td>
                        <td data-testid="token-expires">{t.expires_at.unwrap_or_else(|| "never".into())}</td>
                        <td>
                            {if t.revoked {
                                view! { <span class="badge">"revoked"</span> }.into_any()
                            } else {
                                view! {
                                    <ActionForm action=revoke attr:class="inline">
                                        <input type="hidden" name="id" value=t.id />
                                        <button type="submit" class="danger">"Revoke"</button>
                                    </ActionForm>
                                }.into_any()
                            }}
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
