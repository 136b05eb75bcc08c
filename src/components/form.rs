//! Showing what is wrong with a form, under the field at fault.
//!
//! A problem comes from `stint_core`'s preview of the broker's rule while the admin types,
//! or from the broker's answer; either names a field, and the form shows it there.

use crate::api::{ApiError, ApiResult};
use leptos::prelude::*;
use stint_core::RuleError;

/// What is wrong with a form: the field at fault (if any) and what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub field: Option<String>,
    pub message: String,
}

impl From<RuleError> for Problem {
    fn from(e: RuleError) -> Self {
        Problem {
            field: e.field().map(str::to_string),
            message: stint_core::format::sentence(&e.to_string()),
        }
    }
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Self {
        Problem {
            field: e.field().map(str::to_string),
            message: e.to_string(),
        }
    }
}

/// The message under `field` when the problem is about it; `id` lets the field name it in
/// `aria-describedby`.
#[component]
pub fn FieldProblem(
    problem: Signal<Option<Problem>>,
    field: &'static str,
    #[prop(optional, into)] id: Option<String>,
) -> impl IntoView {
    let message = move || {
        problem
            .get()
            .filter(|p| p.field.as_deref() == Some(field))
            .map(|p| p.message)
    };
    view! {
        {move || message().map(|m| view! {
            <p class="field-error" role="alert" data-field=field id=id.clone()>{m}</p>
        })}
    }
}

/// The problem when no field of `fields` shows it.
#[component]
pub fn FormProblem(
    problem: Signal<Option<Problem>>,
    fields: &'static [&'static str],
) -> impl IntoView {
    let message = move || {
        problem
            .get()
            .filter(|p| !p.field.as_deref().is_some_and(|f| fields.contains(&f)))
            .map(|p| p.message)
    };
    view! {
        {move || message().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
    }
}

/// A filter's labelled choice: "all" (the empty value) or one of `options` (value, text),
/// bound to `value`; its id is also its test id.
#[component]
pub fn FilterSelect(
    #[prop(into)] id: String,
    label: &'static str,
    value: RwSignal<String>,
    options: Vec<(String, String)>,
    all: &'static str,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id.clone() data-testid=id prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))>
                <option value="">{all}</option>
                {options
                    .into_iter()
                    .map(|(v, text)| {
                        let chosen = v == value.get_untracked();
                        view! { <option value=v selected=chosen>{text}</option> }
                    })
                    .collect_view()}
            </select>
        </div>
    }
}

/// A filter's choice among the resources there are: "all", or one by id.
#[component]
pub fn ResourceFilter(#[prop(into)] id: String, value: RwSignal<String>) -> impl IntoView {
    let resources = LocalResource::new(crate::api::resources);
    move || {
        let options = resources
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.id.to_string(), r.name))
            .collect();
        view! { <FilterSelect id=id.clone() label="Resource" value options all="All resources"/> }
    }
}

/// What an action's last run failed with, if it failed; tracked, so a view or signal that
/// reads it follows the action.
pub fn failure<I: 'static, O: Clone + 'static>(
    action: Action<I, ApiResult<O>>,
) -> Option<ApiError> {
    action.value().get().and_then(Result::err)
}

/// The same as text, as a dialog shows it.
pub fn failure_text<I: 'static, O: Clone + Send + Sync + 'static>(
    action: Action<I, ApiResult<O>>,
) -> Signal<Option<String>> {
    Signal::derive(move || failure(action).map(|e| e.to_string()))
}
