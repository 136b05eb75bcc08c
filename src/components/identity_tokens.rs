//! An identity's API tokens on its page: who made each and when it was last used, a new one
//! minted and shown once, one revoked after a confirmation. The broker decides who may;
//! the page shows this section to those it would let (owners, admins, auditors).

use crate::api;
use crate::components::connection::steady;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormAction, Refusal};
use crate::components::states::LoadedList;
use crate::components::time::{DateWithin, RelativeTime};
use leptos::prelude::*;
use stint_core::api::{IdentityTokenView, IssuedIdentityToken, NewIdentityTokenBody};
use stint_core::machine;

/// The lifetimes offered, in days; the broker allows up to 90.
const LIFETIMES_DAYS: [i64; 4] = [1, 7, 30, 90];

#[component]
pub fn IdentityTokens(
    identity_id: i64,
    identity_name: String,
    /// Whether the viewer may mint and revoke (an owner or an admin), not only see.
    may_manage: bool,
) -> impl IntoView {
    let tokens = LocalResource::new(move || api::identity_tokens(identity_id));
    let reload = Callback::new(move |_| tokens.refetch());
    let minted = RwSignal::new(None::<IssuedIdentityToken>);
    view! {
        <section aria-labelledby="tokens-title" data-testid="identity-tokens">
            <h2 id="tokens-title">"API tokens"</h2>
            <p class="help">
                {format!(
                    "A pipeline or agent running as {identity_name} sends one as a Bearer token to file its own requests and fetch its own credentials (stint request, stint exec). Tokens stop working while nobody owns the identity."
                )}
            </p>
            {move || minted.get().map(|issued| view! { <NewToken issued/> })}
            <LoadedList value=steady(tokens) rows=2 retry=reload
                empty=|| view! { <p class="muted" data-testid="no-tokens">"No tokens yet."</p> }
                let:list>
                <ul class="plain token-list">
                    {list.into_iter().map(|token| view! {
                        <TokenRow identity_id token may_manage reload/>
                    }).collect_view()}
                </ul>
            </LoadedList>
            {may_manage.then(|| view! { <MintForm identity_id minted reload/> })}
        </section>
    }
}

#[component]
fn TokenRow(
    identity_id: i64,
    token: IdentityTokenView,
    may_manage: bool,
    reload: Callback<()>,
) -> impl IntoView {
    let confirm = RwSignal::new(false);
    let token_id = token.id;
    let revoke = FormAction::new(
        move |()| api::revoke_identity_token(identity_id, token_id),
        move |()| {
            confirm.set(false);
            reload.run(());
        },
    );
    let error = revoke.error();
    let live = token.revoked_at.is_none();
    let name = token.name.clone();
    view! {
        <li class="card token-item" data-testid="token-row">
            <div>
                <strong>{token.name.clone()}</strong>
                {token.revoked_at.map(|_| view! { " " <span class="badge">"revoked"</span> })}
                <p class="muted small">
                    "made by " {token.created_by.name.clone()} " " <RelativeTime at=token.created_at/>
                    " · expires " <DateWithin at=token.expires_at/>
                    " · "
                    {match token.last_used_at {
                        Some(at) => view! { "last used " <RelativeTime at/> }.into_any(),
                        None => view! { "never used" }.into_any(),
                    }}
                    {token.revoked_by.clone().map(|by| format!(" · revoked by {}", by.name))}
                </p>
            </div>
            {(may_manage && live).then(|| view! {
                <button class="button subtle" on:click=move |_| confirm.set(true) data-testid="revoke-token">
                    "Revoke"
                </button>
            })}
            {move || confirm.get().then(|| view! {
                <ConfirmDialog
                    open=confirm
                    title=format!("Revoke the token {name}?")
                    consequence="Whatever uses it is refused from its next call on. This cannot be undone; mint a new token to give access back."
                    confirm_label="Revoke token"
                    pending=revoke.pending()
                    error
                    on_confirm=Callback::new(move |_| revoke.send(()))
                    testid="revoke-token-dialog"
                />
            })}
        </li>
    }
}

#[component]
fn MintForm(
    identity_id: i64,
    minted: RwSignal<Option<IssuedIdentityToken>>,
    reload: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let days = RwSignal::new(30_i64);
    let touched = RwSignal::new(false);
    let mint = FormAction::new(
        move |body: NewIdentityTokenBody| api::mint_identity_token(identity_id, body),
        move |issued| {
            minted.set(Some(issued));
            name.set(String::new());
            touched.set(false);
            reload.run(());
        },
    );
    // The same check the broker makes, previewed before anything is sent.
    let problem = move || {
        machine::check_new_token(&name.get(), days.get() * 86_400)
            .err()
            .map(|e| e.to_string())
    };
    let error = mint.error();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        if problem().is_none() {
            mint.send(NewIdentityTokenBody {
                name: name.get().trim().to_string(),
                expires_in_secs: days.get() * 86_400,
            });
        }
    };
    view! {
        <form class="card form inline-form" on:submit=submit data-testid="mint-token-form">
            <h3>"Mint a token"</h3>
            <div class="field">
                <label for="token-name">"Name"</label>
                <input
                    id="token-name"
                    placeholder="github-actions"
                    aria-describedby="token-name-help"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                    data-testid="token-name"
                />
                <p id="token-name-help" class="help">"Where it will be used, e.g. the pipeline's name."</p>
                <Refusal message=Signal::derive(move || touched.get().then(problem).flatten())/>
            </div>
            <div class="field">
                <label for="token-lifetime">"Expires after"</label>
                <select
                    id="token-lifetime"
                    on:change=move |ev| days.set(event_target_value(&ev).parse().unwrap_or(30))
                    data-testid="token-lifetime"
                >
                    {LIFETIMES_DAYS.into_iter().map(|d| view! {
                        <option value=d.to_string() selected=d == 30>
                            {if d == 1 { "1 day".to_string() } else { format!("{d} days") }}
                        </option>
                    }).collect_view()}
                </select>
            </div>
            <Refusal message=error/>
            <button class="button primary" type="submit" disabled=move || mint.pending().get() data-testid="mint-token">
                {move || if mint.pending().get() { "Minting…" } else { "Mint token" }}
            </button>
        </form>
    }
}

/// The new token, once: it is never shown again.
#[component]
fn NewToken(issued: IssuedIdentityToken) -> impl IntoView {
    view! {
        <div class="credential" data-testid="new-token">
            <div class="credential-head">
                <span>{format!("Token {} (shown once; store it as a secret now)", issued.name)}</span>
                <span class="muted">"expires " <DateWithin at=issued.expires_at/></span>
            </div>
            <textarea
                class="token"
                readonly=true
                rows="2"
                aria-label="New API token"
                data-testid="new-token-value"
                prop:value=issued.token.clone()
            ></textarea>
            <p class="help">"Keep it in your CI's secret store, e.g. as STINT_TOKEN; Stint keeps only its hash."</p>
        </div>
    }
}
