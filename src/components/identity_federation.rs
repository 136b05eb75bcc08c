//! Which platforms' jobs may act as an identity without any stored secret: the federation
//! rules mapping an issuer's tokens to it (admins register them on *Federation*).

use crate::api;
use crate::components::connection::steady;
use crate::components::states::{LoadedList, refetch};
use leptos::prelude::*;

#[component]
pub fn IdentityFederation(identity_id: i64) -> impl IntoView {
    let rules = LocalResource::new(move || api::identity_federation_rules(identity_id));
    view! {
        <section aria-labelledby="federation-title" data-testid="identity-federation">
            <h2 id="federation-title">"Federation rules"</h2>
            <LoadedList value=steady(rules) rows=2 retry=refetch(rules)
                empty=|| view! { <p class="muted">"No platform's tokens act as this identity."</p> }
                let:list>
                <ul class="plain rules">
                    {list.into_iter().map(|rule| view! {
                        <li>
                            <strong>{rule.issuer.name.clone()}</strong>
                            " tokens with "
                            {rule.claims.iter().map(|(claim, value)| view! {
                                <code>{format!("{claim} = {value}")}</code> " "
                            }).collect_view()}
                        </li>
                    }).collect_view()}
                </ul>
            </LoadedList>
        </section>
    }
}
