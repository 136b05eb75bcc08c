//! Signing in: with the company's identity providers the broker offers, and with a
//! password unless it is turned off; why a provider's sign-in was refused, and the page a
//! person whose groups give no role lands on.

use crate::api;
use crate::app::use_auth;
use crate::components::form::{FormAction, Refusal};
use crate::page::Page;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use stint_core::api::MeView;
use stint_core::oidc::{SignInOptions, SsoRefusal};

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
    let options = LocalResource::new(api::sign_in_options);
    let query = use_query_map();
    // Only codes the broker sends are read; anything else in the address is ignored.
    let refusal = move || query.with(|q| q.get("sso_error").and_then(|c| SsoRefusal::parse(&c)));
    let provider_name = move || {
        let id = query.with(|q| q.get("provider"))?;
        let options = options.get()?.ok()?;
        options
            .providers
            .into_iter()
            .find(|p| p.id == id)
            .map(|p| p.display_name)
    };
    move || match refusal() {
        Some(SsoRefusal::NoAccess) => view! { <NoAccess provider=provider_name()/> }.into_any(),
        refused => view! { <SignIn options=options refused=refused/> }.into_any(),
    }
}

/// Where someone lands whose groups at their identity provider give no role here.
#[component]
fn NoAccess(provider: Option<String>) -> impl IntoView {
    let heading = NodeRef::<leptos::html::H1>::new();
    Effect::new(move |_| {
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });
    view! {
        <main class="login" id="main">
            <section class="card login-card" aria-labelledby="no-access-title" data-testid="no-access">
                <div class="brand">
                    <img src="/favicon.svg" alt="" width="32" height="32"/>
                    <h1 node_ref=heading id="no-access-title" tabindex="-1">"No access to Stint"</h1>
                </div>
                <p role="alert">{SsoRefusal::NoAccess.message()}</p>
                <p class="muted">
                    {match provider {
                        Some(name) => format!("{name} vouched for who you are; Stint gives roles by the groups it lists for you, and none of yours is one of them."),
                        None => "Stint gives roles by the groups your identity provider lists for you, and none of yours is one of them.".to_string(),
                    }}
                </p>
                <a class="button" href=Page::Login.path() data-testid="back-to-sign-in">"Back to sign-in"</a>
            </section>
        </main>
    }
}

/// The sign-in card: the providers, then the password form when it is offered.
#[component]
fn SignIn(
    options: LocalResource<Result<SignInOptions, api::ApiError>>,
    refused: Option<SsoRefusal>,
) -> impl IntoView {
    let auth = use_auth();
    // Until the options arrive (or if they cannot), the password form is what there is.
    let loaded = move || options.get().and_then(|r| r.ok());
    let providers = move || loaded().map(|o| o.providers).unwrap_or_default();
    let local_login = move || loaded().is_none_or(|o| o.local_login);
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let login = FormAction::new(
        |(username, password): (String, String)| sign_in(username, password),
        move |me| auth.me.set(Some(Some(me))),
    );
    let password_field = NodeRef::<leptos::html::Input>::new();
    // The username stays; the password is typed again, where the cursor goes back to.
    Effect::new(move |_| {
        if login.failure().is_some() {
            password.set(String::new());
            if let Some(field) = password_field.get() {
                let _ = field.focus();
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        login.send((username.get_untracked(), password.get_untracked()));
    };
    let signed_out = move || auth.signed_out.get();
    // Where the provider's refusal is said: focused once shown, so a screen reader reads it
    // (an alert present from the first paint is often not announced).
    let refusal_text = NodeRef::<leptos::html::P>::new();
    Effect::new(move |_| {
        if let Some(p) = refusal_text.get() {
            let _ = p.focus();
        }
    });
    view! {
        <main class="login" id="main">
            <section class="card login-card" aria-labelledby="login-title">
                <div class="brand">
                    <img src="/favicon.svg" alt="" width="32" height="32"/>
                    <h1 id="login-title">"Sign in to Stint"</h1>
                </div>
                <p class="muted">"Just-in-time access for service accounts, pipelines and agents."</p>
                {move || signed_out().map(|offer| view! {
                    <p class="notice" role="status" data-testid="sso-signed-out">
                        "You are signed out of Stint. "
                        <a href=offer.end_session_url>{format!("Sign out of {} too", offer.provider.display_name)}</a>
                    </p>
                })}
                {refused.map(|r| view! {
                    <p node_ref=refusal_text class="field-error" role="alert" tabindex="-1" data-testid="sso-error">{r.message()}</p>
                })}
                <div class="sso-options">
                    <For each=providers key=|p| p.id.clone() let:provider>
                        // `external`: a navigation to the broker (which sends the browser on
                        // to the provider), not a page of this app for the router to show.
                        <a
                            class="button primary"
                            rel="external"
                            href=format!("/api/v1/oidc/{}/login", provider.id)
                            data-testid=format!("sso-{}", provider.id)
                        >
                            {format!("Sign in with {}", provider.display_name)}
                        </a>
                    </For>
                </div>
                <Show when=move || local_login() && !providers().is_empty()>
                    <p class="login-divider" aria-hidden="true"><span>"or"</span></p>
                </Show>
                <Show when=local_login>
                <form class="login-form" on:submit=submit aria-label="Sign in with a password">
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
                <Refusal message=Signal::derive(move || login.failure().map(|e| login_message(&e))) testid="login-error"/>
                <button type="submit" class="button primary" disabled=move || login.pending().get() data-testid="sign-in">
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
                </form>
                </Show>
            </section>
        </main>
    }
}

/// Signs in, then reads who signed in with what waits for them (the nav's badges come
/// with `/me`); without `/me`, what the sign-in itself answered.
async fn sign_in(username: String, password: String) -> api::ApiResult<MeView> {
    let session = api::login(username, password).await?;
    // What the sign-in page read (its public calls) is not what the portal will show.
    api::forget_positions();
    Ok(api::me().await.unwrap_or(MeView {
        user: session.user,
        must_change_password: session.must_change_password,
        approvals_waiting: 0,
        reviews_waiting: 0,
        reviews_overdue: 0,
        identities_owned: 0,
        campaign_items_waiting: 0,
        proposals_waiting: 0,
        single_admin: false,
        signs_in_with: None,
    }))
}
