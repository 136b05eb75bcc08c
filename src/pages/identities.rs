//! Every non-human identity and who answers for it: orphaned first, filterable.

use crate::api;
use crate::app::use_auth;
use crate::components::badges::OwnershipBadge;
use crate::components::connection::steady;
use crate::components::identity_form::IdentityEditor;
use crate::components::states::{Empty, Loaded, refetch};
use crate::components::time::DateWithin;
use crate::page::Page;
use leptos::prelude::*;
use stint_core::api::IdentityView;
use stint_core::ownership::OwnershipStatus;
use stint_core::{IdentityKind, Role};

/// Whether `identity` passes the filters (status and kind by name, free text).
fn matches(identity: &IdentityView, status: &str, kind: &str, text: &str) -> bool {
    let text = text.trim().to_lowercase();
    (status.is_empty() || identity.status.as_str() == status)
        && (kind.is_empty() || identity.kind.as_str() == kind)
        && (text.is_empty()
            || [&identity.name, &identity.description, &identity.environment]
                .iter()
                .any(|f| f.to_lowercase().contains(&text))
            || identity
                .owners
                .iter()
                .any(|o| o.user.name.to_lowercase().contains(&text)))
}

#[component]
pub fn Identities() -> impl IntoView {
    let auth = use_auth();
    let list = LocalResource::new(api::identities);
    let status = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let creating = RwSignal::new(false);
    let counts = move || {
        list.get().and_then(|r| r.ok()).map(|all| {
            let count = |s: OwnershipStatus| all.iter().filter(|i| i.status == s).count();
            format!(
                "{} orphaned · {} due soon · {} owned",
                count(OwnershipStatus::Orphaned),
                count(OwnershipStatus::AttestationDueSoon),
                count(OwnershipStatus::Owned)
            )
        })
    };
    view! {
        <section class="page">
            <header class="page-head">
                <div>
                    <h1>"Identities"</h1>
                    <p class="muted" aria-live="polite">{counts}</p>
                </div>
                <Show when=move || auth.has(Role::Admin)>
                    <button
                        class="button"
                        aria-expanded=move || creating.get().to_string()
                        on:click=move |_| creating.update(|c| *c = !*c)
                        data-testid="new-identity"
                    >
                        "New identity"
                    </button>
                </Show>
            </header>
            <Show when=move || creating.get()>
                <IdentityEditor
                    existing=None
                    on_saved=Callback::new(move |_| {
                        creating.set(false);
                        list.refetch();
                    })
                />
            </Show>
            <div class="filters" role="search">
                <label for="identity-status">"Status"</label>
                <select id="identity-status" on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    {OwnershipStatus::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str()>{s.label()}</option> })
                        .collect_view()}
                </select>
                <label for="identity-kind">"Kind"</label>
                <select id="identity-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    {IdentityKind::ALL
                        .into_iter()
                        .map(|k| view! { <option value=k.as_str()>{k.label()}</option> })
                        .collect_view()}
                </select>
                <label for="identity-search">"Search"</label>
                <input
                    id="identity-search"
                    type="search"
                    placeholder="name, owner, environment"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                />
            </div>
            <Loaded value=steady(list) rows=4 retry=refetch(list) let:all>
                {
                    let shown: Vec<IdentityView> = all
                        .into_iter()
                        .filter(|i| matches(i, &status.get(), &kind.get(), &text.get()))
                        .collect();
                    if shown.is_empty() {
                        view! { <Empty title="No identity matches">"Change the filters to see more."</Empty> }
                            .into_any()
                    } else {
                        view! { <IdentityTable identities=shown/> }.into_any()
                    }
                }
            </Loaded>
        </section>
    }
}

#[component]
fn IdentityTable(identities: Vec<IdentityView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="identity-table">
                <thead>
                    <tr>
                        <th scope="col">"Identity"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"Environment"</th>
                        <th scope="col">"Owners · re-attest by"</th>
                        <th scope="col" class="num">"Active grants"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>
                    {identities
                        .into_iter()
                        .map(|i| {
                            let orphaned = i.status == OwnershipStatus::Orphaned;
                            view! {
                                <tr class=if orphaned { "overdue" } else { "" } data-identity=i.name.clone()>
                                    <td><a href=Page::Identity(i.id).path()>{i.name.clone()}</a></td>
                                    <td>{i.kind.label()}</td>
                                    <td>{i.environment.clone()}</td>
                                    <td>
                                        {if i.owners.is_empty() {
                                            view! { <span class="muted">"nobody"</span> }.into_any()
                                        } else {
                                            i.owners
                                                .iter()
                                                .map(|o| view! {
                                                    <span class="owner">
                                                        {o.user.name.clone()} " · " <DateWithin at=o.attest_until/>
                                                    </span>
                                                })
                                                .collect_view()
                                                .into_any()
                                        }}
                                    </td>
                                    <td class="num">{i.active_grants}</td>
                                    <td><OwnershipBadge status=i.status/></td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
