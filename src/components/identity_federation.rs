//! Which platforms' jobs may act as an identity without any stored secret: the federation
//! rules mapping an issuer's tokens to it (admins register them on *Federation*).

use crate::api;
use leptos::prelude::*;

#[component]
pub fn IdentityFederation(identity_id: i64) -> impl IntoView {
    let rules = LocalResource::new(move || api::identity_federation_rules(identity_id));
    view! {
        <section aria-labelledby="federation-title" data-testid="identity-federation">
            <h2 id="federation-title">"Federation rules"</h2>
            {move || match rules.get() {
                None => view! { <p class="muted">"Loading rules…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="field-error" role="alert">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="muted">"No platform's tokens act as this identity."</p>
                }.into_any(),
                Some(Ok(list)) => view! {
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
                }.into_any(),
            }}
        </section>
    }
}
