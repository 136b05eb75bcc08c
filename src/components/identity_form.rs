//! The admin's form for an identity: create one, or edit its name, kind and description.

use crate::api;
use crate::components::form::{FieldProblem, FormAction, FormProblem, Problem};
use crate::components::toast::use_toasts;
use leptos::prelude::*;
use stint_core::IdentityKind;
use stint_core::admin;
use stint_core::api::{IdentityBody, IdentityView};

const FIELDS: &[&str] = &["name", "description", "environment"];

#[component]
pub fn IdentityEditor(
    existing: Option<IdentityView>,
    on_saved: Callback<IdentityView>,
) -> impl IntoView {
    let toasts = use_toasts();
    let id = existing.as_ref().map(|i| i.id);
    let name = RwSignal::new(
        existing
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or_default(),
    );
    let kind = RwSignal::new(
        existing
            .as_ref()
            .map_or(IdentityKind::ServiceAccount, |i| i.kind),
    );
    let environment = RwSignal::new(
        existing
            .as_ref()
            .map(|i| i.environment.clone())
            .unwrap_or_default(),
    );
    let description = RwSignal::new(
        existing
            .as_ref()
            .map(|i| i.description.clone())
            .unwrap_or_default(),
    );
    let body = move || IdentityBody {
        name: name.get(),
        kind: kind.get(),
        description: description.get(),
        environment: environment.get(),
    };
    let save = FormAction::new(
        move |body: IdentityBody| api::save_identity(id, body),
        move |saved| {
            toasts.show(format!("Identity {} saved", saved.name));
            on_saved.run(saved);
        },
    );
    let touched = RwSignal::new(false);
    let problem = Signal::derive(move || {
        let preview = touched
            .get()
            .then(|| admin::check_identity(&body()).err().map(Problem::from))
            .flatten();
        preview.or_else(|| save.failure().map(Problem::from))
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        if admin::check_identity(&body()).is_ok() {
            save.send(body());
        }
    };
    view! {
        <form class="form card" on:submit=on_submit novalidate=true data-testid="identity-editor">
            <h2>{if id.is_some() { "Edit identity" } else { "New identity" }}</h2>
            <div class="field">
                <label for="identity-name">"Name"</label>
                <input
                    id="identity-name"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                    data-testid="identity-name"
                />
                <p class="help">"Lowercase letters, digits, `.`, `_` and `-`, as it is known in your systems."</p>
                <FieldProblem problem field="name"/>
            </div>
            <div class="field">
                <label for="identity-kind-input">"Kind"</label>
                <select
                    id="identity-kind-input"
                    on:change=move |ev| {
                        if let Some(k) = IdentityKind::parse(&event_target_value(&ev)) {
                            kind.set(k)
                        }
                    }
                >
                    {IdentityKind::ALL
                        .into_iter()
                        .map(|k| view! {
                            <option value=k.as_str() selected=move || kind.get() == k>{k.label()}</option>
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="identity-environment">"Environment"</label>
                <input
                    id="identity-environment"
                    placeholder="production"
                    prop:value=move || environment.get()
                    on:input=move |ev| environment.set(event_target_value(&ev))
                />
                <FieldProblem problem field="environment"/>
            </div>
            <div class="field">
                <label for="identity-description">"What it does"</label>
                <textarea
                    id="identity-description"
                    rows="2"
                    prop:value=move || description.get()
                    on:input=move |ev| description.set(event_target_value(&ev))
                ></textarea>
                <FieldProblem problem field="description"/>
            </div>
            <FormProblem problem fields=FIELDS/>
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || save.pending().get() data-testid="save-identity">
                    {move || if save.pending().get() { "Saving…" } else { "Save identity" }}
                </button>
            </div>
        </form>
    }
}
