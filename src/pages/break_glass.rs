//! Break-glass: access taken at once when production cannot wait, reviewed afterwards.

use crate::api::{self, ApiError};
use crate::components::request_form::RequestForm;
use crate::components::states::{Empty, ErrorState, Skeleton};
use leptos::prelude::*;
use stint_core::api::IdentityView;

#[component]
pub fn BreakGlass() -> impl IntoView {
    let catalog = LocalResource::new(|| async {
        let identities = api::identities().await?;
        let resources = api::resources().await?;
        Ok::<_, ApiError>((identities, resources))
    });
    view! {
        <section class="page narrow">
            <header class="page-head">
                <h1>"Break-glass access"</h1>
            </header>
            <div class="warning" role="note" data-testid="break-glass-warning">
                <p><strong>"For emergencies only."</strong></p>
                <ul>
                    <li>"Access starts the moment you confirm: nobody approves it first."</li>
                    <li>"It is short: each resource caps break-glass, usually at an hour."</li>
                    <li>"A review opens at once. Every reviewer sees who took what, why, and every credential issued, and must judge it justified or not by its due time."</li>
                    <li>"Unjustified break-glass is shown to admins and auditors."</li>
                </ul>
                <p>"If it can wait for an approver, " <a href="/requests/new">"file a request"</a> " instead."</p>
            </div>
            {move || match catalog.get() {
                None => view! { <Skeleton rows=6/> }.into_any(),
                Some(Err(error)) => {
                    view! { <ErrorState error retry=Callback::new(move |_| catalog.refetch())/> }.into_any()
                }
                Some(Ok((identities, resources))) => {
                    let owned: Vec<IdentityView> = identities.into_iter().filter(|i| i.owned_by_me).collect();
                    if owned.is_empty() {
                        view! {
                            <Empty title="You own no identity">
                                "Break-glass is for accountable owners of an identity. Ask an owner of the identity to take it, or an admin to record your ownership."
                            </Empty>
                        }
                            .into_any()
                    } else {
                        view! { <RequestForm identities=owned resources break_glass=true/> }.into_any()
                    }
                }
            }}
        </section>
    }
}
