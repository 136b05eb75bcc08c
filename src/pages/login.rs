//! Signing in.

use crate::api;
use crate::app::use_auth;
use leptos::prelude::*;
use stint_core::api::MeView;

/// What a failed sign-in says, in a sentence a person reads.
fn login_message(e: &api::ApiError) -> String {
    match e.status() {
        Some(401) => "Unknown username or wrong password. Check both and try again.".into(),
        _ => {
            let text = e.to_string();
            let mut chars = text.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or(text)
        }
    }
}

#[component]
pub fn Login() -> impl IntoView {
    let auth = use_auth();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let login = Action::new_local(move |(u, p): &(String, String)| {
        let (u, p) = (u.clone(), p.clone());
        async move {
            let session = api::login(u, p).await?;
            // The approvals badge comes with /me.
            let me = api::me().await.unwrap_or(MeView {
                user: session.user,
                must_change_password: session.must_change_password,
                approvals_waiting: 0,
                reviews_waiting: 0,
                reviews_overdue: 0,
                identities_owned: 0,
            });
            Ok::<_, api::ApiError>(me)
        }
    });
    let password_field = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| match login.value().get() {
        Some(Ok(me)) => auth.me.set(Some(Some(me))),
        // The username stays; the password is typed again, where the cursor goes back to.
        Some(Err(_)) => {
            password.set(String::new());
            if let Some(field) = password_field.get() {
                let _ = field.focus();
            }
        }
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !login.pending().get_untracked() {
            login.dispatch((username.get_untracked(), password.get_untracked()));
        }
    };
    view! {
        <main class="login" id="main">
            <form class="card login-card" on:submit=submit aria-labelledby="login-title">
                <div class="brand">
                    <img src="/favicon.svg" alt="" width="32" height="32"/>
                    <h1 id="login-title">"Sign in to Stint"</h1>
                </div>
                <p class="muted">"Just-in-time access for service accounts, pipelines and agents."</p>
                <label for="username">"Username"</label>
                <input
                    id="username"
                    name="username"
                    autocomplete="username"
                    required=true
                    prop:value=move || username.get()
                    on:input=move |ev| username.set(event_target_value(&ev))
                    data-testid="username"
                />
                <label for="password">"Password"</label>
                <input
                    node_ref=password_field
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required=true
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))
                    data-testid="password"
                />
                {move || {
                    login
                        .value()
                        .get()
                        .and_then(|r| r.err())
                        .map(|e| view! { <p class="field-error" role="alert" data-testid="login-error">{login_message(&e)}</p> })
                }}
                <button type="submit" class="button primary" disabled=move || login.pending().get() data-testid="sign-in">
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </main>
    }
}
