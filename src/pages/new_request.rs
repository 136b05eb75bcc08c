//! Filing a request for access, decided by approvers; `?again=ID` starts from a past
//! request's access and task.

use crate::components::request_form::AccessForm;
use crate::page::Page;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn NewRequest() -> impl IntoView {
    let query = use_query_map();
    // Read reactively: following "New request" from a copied one empties the form.
    let again = Memo::new(move |_| {
        query
            .read()
            .get("again")
            .and_then(|id| id.parse::<i64>().ok())
    });
    view! {
        <section class="page narrow">
            {move || {
                let again = again.get();
                view! {
                    <header class="page-head">
                        <h1>{if again.is_some() { "Request again" } else { "New request" }}</h1>
                        {again.map(|id| view! {
                            <p class="muted">
                                "Filled in from " <a href=Page::Request(id).path()>{format!("request #{id}")}</a>
                                ": adjust what has changed, then file it."
                            </p>
                        })}
                    </header>
                    <AccessForm break_glass=false again/>
                }
            }}
        </section>
    }
}
