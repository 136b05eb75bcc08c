//! Break-glass: access taken at once when production cannot wait, reviewed afterwards.

use crate::components::request_form::AccessForm;
use crate::page::Page;
use leptos::prelude::*;

#[component]
pub fn BreakGlass() -> impl IntoView {
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
                <p>"If it can wait for an approver, " <a href=Page::NewRequest.path()>"file a request"</a> " instead."</p>
            </div>
            <AccessForm break_glass=true/>
        </section>
    }
}
