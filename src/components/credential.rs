//! A credential, shown once: never stored by the portal beyond this page's memory, never in
//! a URL. It stays on screen, across the page's refreshes, until its viewer dismisses it.

use leptos::prelude::*;
use stint_core::api::CredentialView;

/// Credentials fetched in this tab, by grant: a card that is drawn again (the page
/// refreshed its data) shows the one its viewer has not dismissed yet.
#[derive(Clone, Copy)]
pub struct IssuedCredentials(RwSignal<Vec<(i64, CredentialView)>>);

impl IssuedCredentials {
    pub fn provide() -> IssuedCredentials {
        let issued = IssuedCredentials(RwSignal::new(Vec::new()));
        provide_context(issued);
        issued
    }

    pub fn of(&self, grant_id: i64) -> Option<CredentialView> {
        self.0.with(|all| {
            all.iter()
                .find(|(id, _)| *id == grant_id)
                .map(|(_, c)| c.clone())
        })
    }

    pub fn keep(&self, grant_id: i64, credential: CredentialView) {
        self.0.update(|all| {
            all.retain(|(id, _)| *id != grant_id);
            all.push((grant_id, credential));
        });
    }

    pub fn dismiss(&self, grant_id: i64) {
        self.0.update(|all| all.retain(|(id, _)| *id != grant_id));
    }

    /// Forgets them all (at sign-out).
    pub fn clear(&self) {
        self.0.set(Vec::new());
    }
}

pub fn use_issued_credentials() -> IssuedCredentials {
    expect_context::<IssuedCredentials>()
}

#[component]
pub fn CredentialBox(credential: CredentialView, on_dismiss: Callback<()>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let token = credential.token.clone();
    let copy = move |_| {
        let token = token.clone();
        leptos::task::spawn_local(async move {
            if let Some(window) = web_sys::window() {
                let promise = window.navigator().clipboard().write_text(&token);
                if wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() {
                    copied.set(true);
                }
            }
        });
    };
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    view! {
        <div class="credential" data-testid="credential">
            <div class="credential-head">
                <span>"Credential (shown once; copy it now)"</span>
                <span class="muted">
                    "expires "
                    <crate::components::time::RelativeTime at=credential.expires_at/>
                    " · jti "
                    <code>{credential.jti.clone()}</code>
                </span>
            </div>
            <textarea
                class="token"
                readonly=true
                rows="4"
                aria-label="Credential token"
                data-testid="credential-token"
                prop:value=credential.token.clone()
            ></textarea>
            {credential.postgres.clone().map(|pg| view! {
                <div class="credential-login" data-testid="credential-postgres">
                    <p>
                        "PostgreSQL login for this grant (a new password with each fetch; the last one stops working): user "
                        <code>{pg.username.clone()}</code> " on " <code>{format!("{}:{}/{}", pg.host, pg.port, pg.database)}</code>
                    </p>
                    <textarea
                        class="token"
                        readonly=true
                        rows="2"
                        aria-label="PostgreSQL connection URL with password"
                        data-testid="credential-postgres-url"
                        prop:value=pg.url.clone()
                    ></textarea>
                </div>
            })}
            <p class="help" data-testid="credential-usage">
                "Send it as the header " <code>"Authorization: Bearer <token>"</code>
                ". A service checks it offline against " <code>{format!("{origin}/.well-known/jwks.json")}</code>
                ", or asks " <code>{format!("{origin}/api/v1/introspect")}</code>
                ", which says it is inactive the moment access ends."
            </p>
            <div class="actions">
                <button class="button" on:click=copy data-testid="copy-credential">
                    {move || if copied.get() { "Copied ✓" } else { "Copy" }}
                </button>
                <button class="button subtle" on:click=move |_| on_dismiss.run(()) data-testid="dismiss-credential">
                    "Done, hide it"
                </button>
                <span class="visually-hidden" role="status" aria-live="polite">
                    {move || if copied.get() { "Credential copied to the clipboard" } else { "" }}
                </span>
            </div>
        </div>
    }
}
