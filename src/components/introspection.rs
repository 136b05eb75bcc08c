//! A resource server's client credentials for token introspection: made or rotated by an
//! admin, the secret shown once.

use crate::api;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormAction, Refusal};
use crate::components::time::RelativeTime;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use stint_core::api::IntrospectionCredentialsView;

#[component]
pub fn IntrospectionCredentials(
    resource_id: i64,
    resource_name: String,
    /// When its current credentials were made, if ever.
    set_at: Option<DateTime<Utc>>,
) -> impl IntoView {
    let confirm_rotation = RwSignal::new(false);
    let create = FormAction::new(
        move |()| api::introspection_credentials(resource_id),
        move |_| confirm_rotation.set(false),
    );
    let made = create.done();
    // What the card says follows what was just made, without reloading the page.
    let set_at = Signal::derive(move || made.get().map(|c| c.created_at).or(set_at));
    let error = create.error();
    let start = move |_| {
        if set_at.get_untracked().is_some() {
            confirm_rotation.set(true);
        } else {
            create.send(());
        }
    };
    let name = resource_name.clone();
    view! {
        <dt>"Introspection"</dt>
        <dd data-testid="introspection">
            {move || match set_at.get() {
                Some(at) => view! { "client credentials made " <RelativeTime at/> " " }.into_any(),
                None => view! { <span class="muted">"no client credentials yet "</span> }.into_any(),
            }}
            <button
                class="button subtle"
                on:click=start
                disabled=move || create.pending().get()
                data-testid="make-introspection-credentials"
            >
                {move || if set_at.get().is_some() { "Rotate credentials" } else { "Make credentials" }}
            </button>
            <Refusal message=Signal::derive(move || error.get().filter(|_| !confirm_rotation.get()))/>
            {move || made.get().map(|c| view! { <SecretBox credentials=c/> })}
        </dd>
        {move || confirm_rotation.get().then(|| view! {
            <ConfirmDialog
                open=confirm_rotation
                title=format!("Rotate {name}'s introspection credentials?")
                consequence=format!("The secret {name}'s servers use now stops working at once; they need the new one to introspect tokens.")
                confirm_label="Rotate now"
                pending=create.pending()
                error
                on_confirm=Callback::new(move |_| { create.send(()); })
                testid="rotate-introspection-dialog"
            />
        })}
    }
}

/// The new secret, once, with how a resource server uses it.
#[component]
fn SecretBox(credentials: IntrospectionCredentialsView) -> impl IntoView {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let usage = format!(
        "curl -u {}:{} -H 'content-type: application/json' -d '{{\"token\":\"…\"}}' {origin}/api/v1/introspect",
        credentials.client_id, credentials.client_secret
    );
    view! {
        <div class="credential" data-testid="introspection-secret">
            <div class="credential-head">
                <span>"Client secret (shown once; store it with the resource server now)"</span>
                <span class="muted">"client id " <code>{credentials.client_id.clone()}</code></span>
            </div>
            <textarea
                class="token"
                readonly=true
                rows="2"
                aria-label="Client secret"
                data-testid="introspection-client-secret"
                prop:value=credentials.client_secret.clone()
            ></textarea>
            <p class="help">
                "The server sends it with HTTP Basic (client id and secret) when it asks whether a token is live; it learns only of tokens for this resource."
            </p>
            <pre class="usage"><code>{usage}</code></pre>
        </div>
    }
}
