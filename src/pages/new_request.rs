//! Filing a request for access, decided by approvers.

use crate::api::{self, ApiError};
use crate::components::request_form::RequestForm;
use crate::components::states::{Empty, ErrorState, Skeleton};
use leptos::prelude::*;
use stint_core::api::IdentityView;

#[component]
pub fn NewRequest() -> impl IntoView {
    let catalog = LocalResource::new(|| async {
        let identities = api::identities().await?;
        let resources = api::resources().await?;
        Ok::<_, ApiError>((identities, resources))
    });
    view! {
        <section class="page narrow">
            <header class="page-head">
                <h1>"New request"</h1>
            </header>
            {move || match catalog.get() {
                None => view! { <Skeleton rows=6/> }.into_any(),
                Some(Err(error)) => {
                    view! { <ErrorState error retry=Callback::new(move |_| catalog.refetch())/> }.into_any()
                }
                Some(Ok((identities, resources))) => {
                    let owned: Vec<IdentityView> = identities.into_iter().filter(|i| i.owned_by_me).collect();
                    if owned.is_empty() {
                        view! {
                            <Empty title="You own no identity yet">
                                "Only an accountable owner may request access for an identity. Ask an admin to record you as the owner of the identity you run."
                            </Empty>
                        }
                            .into_any()
                    } else {
                        view! { <RequestForm identities=owned resources break_glass=false/> }.into_any()
                    }
                }
            }}
        </section>
    }
}
