use crate::page::Page;
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Page not found"</h1>
            <p>"Nothing lives at this address. " <a href=Page::Dashboard.path()>"Go to the dashboard"</a></p>
        </section>
    }
}
