//! A credential, shown once: never stored by the portal, never in a URL.

use leptos::prelude::*;
use stint_core::api::CredentialView;

#[component]
pub fn CredentialBox(credential: CredentialView) -> impl IntoView {
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
            <button class="button" on:click=copy data-testid="copy-credential">
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </div>
    }
}
