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

/// What went wrong, said where the person looks: under the field or form, in the dialog.
/// Every form's message takes this one shape.
#[component]
pub fn Refusal(
    #[prop(into)] message: Signal<Option<String>>,
    /// Lets a field name it in `aria-describedby`.
    #[prop(optional)]
    id: Option<&'static str>,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    move || {
        message.get().map(|m| {
            view! { <p class="field-error" role="alert" id=id data-testid=testid>{m}</p> }
        })
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
    view! { <Refusal message=Signal::derive(message)/> }
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

/// A change a person asks the broker for: a form's save, a dialog's confirm. It is sent
/// one at a time; what the broker answers goes to `on_done`, and a refusal stays for the
/// form to show until the next try.
pub struct FormAction<I: 'static, O: 'static> {
    action: Action<I, ApiResult<O>>,
}

impl<I: 'static, O: 'static> Clone for FormAction<I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I: 'static, O: 'static> Copy for FormAction<I, O> {}

impl<I, O> FormAction<I, O>
where
    I: Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    pub fn new<Fut>(call: impl Fn(I) -> Fut + 'static, on_done: impl Fn(O) + 'static) -> Self
    where
        Fut: Future<Output = ApiResult<O>> + 'static,
    {
        let action = Action::new_local(move |input: &I| call(input.clone()));
        Effect::new(move |_| {
            if let Some(Ok(done)) = action.value().get() {
                // Only the answer reruns this: a signal `on_done` reads must not repeat it.
                untrack(|| on_done(done));
            }
        });
        FormAction { action }
    }

    /// Sends `input`, unless the last send still awaits the broker's answer: a second
    /// click is not a second change. A refusal shown so far goes: this is a new try.
    pub fn send(self, input: I) {
        if self.action.pending().get_untracked() {
            return;
        }
        let value = self.action.value();
        if value.with_untracked(|v| matches!(v, Some(Err(_)))) {
            value.set(None);
        }
        self.action.dispatch(input);
    }

    /// Whether a send awaits the broker's answer.
    pub fn pending(self) -> Memo<bool> {
        self.action.pending()
    }

    /// What the last send answered, when it succeeded.
    pub fn done(self) -> Signal<Option<O>> {
        Signal::derive(move || self.action.value().get().and_then(Result::ok))
    }

    /// What the last send failed with, if it failed; tracked, so a view or signal that
    /// reads it follows the action.
    pub fn failure(self) -> Option<ApiError> {
        self.action.value().get().and_then(Result::err)
    }

    /// The failure as a form shows it, under the field it names.
    pub fn problem(self) -> Signal<Option<Problem>> {
        Signal::derive(move || self.failure().map(Problem::from))
    }

    /// The failure as text, as a dialog shows it.
    pub fn error(self) -> Signal<Option<String>> {
        Signal::derive(move || self.failure().map(|e| e.to_string()))
    }
}
