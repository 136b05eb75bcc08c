//! Filing a request for access, decided by approvers.

use crate::components::request_form::AccessForm;
use leptos::prelude::*;

#[component]
pub fn NewRequest() -> impl IntoView {
    view! {
        <section class="page narrow">
            <header class="page-head">
                <h1>"New request"</h1>
            </header>
            <AccessForm break_glass=false/>
        </section>
    }
}
