//! "Notify me of": the events a person may be named in by notification sinks, and which
//! they want. Break-glass and failing revocations stay on for reviewers and admins (the
//! broker decides with `stint_core::notify::check_mutes`; this previews it by showing them
//! fixed).

use crate::api;
use crate::components::connection::steady;
use crate::components::form::{FormAction, FormProblem};
use crate::components::states::Loaded;
use crate::components::toast::use_toasts;
use leptos::prelude::*;
use stint_core::notify::{MutesBody, NotificationChoice};

#[component]
pub fn NotificationChoices() -> impl IntoView {
    let toasts = use_toasts();
    let choices = LocalResource::new(api::notification_choices);
    let reload = Callback::new(move |_| choices.refetch());
    // What the person unticked, kept while they edit.
    let muted = RwSignal::new(None::<Vec<String>>);
    Effect::new(move |_| {
        if let Some(Ok(list)) = choices.get() {
            muted.set(Some(unwanted(&list)));
        }
    });
    let save = FormAction::new(api::set_notification_choices, move |list| {
        muted.set(Some(unwanted(&list)));
        toasts.show("Notification choices saved");
    });
    let problem = save.problem();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // Not before the choices are read: saving nothing would unmute everything.
        if let Some(muted) = muted.get() {
            save.send(MutesBody { muted });
        }
    };
    view! {
        <form class="form card narrow" on:submit=submit aria-labelledby="notify-title" data-testid="notification-choices">
            <h2 id="notify-title">"Notify me of"</h2>
            <p class="help">
                "Notification sinks (a Slack channel, a webhook) name the people each message is for. Untick what you would rather not be named in."
            </p>
            <Loaded value=steady(choices) rows=4 retry=reload let:list>
                <div class="checks stacked" role="group" aria-label="Events">
                    {list.into_iter().map(|choice| view! { <Choice choice muted/> }).collect_view()}
                </div>

            </Loaded>
            <FormProblem problem fields=&["muted"]/>
            <button class="button primary" type="submit" disabled=move || save.pending().get() || muted.get().is_none() data-testid="save-choices">
                {move || if save.pending().get() { "Saving…" } else { "Save choices" }}
            </button>
        </form>
    }
}

fn unwanted(list: &[NotificationChoice]) -> Vec<String> {
    list.iter()
        .filter(|c| !c.wanted)
        .map(|c| c.event.clone())
        .collect()
}

#[component]
fn Choice(choice: NotificationChoice, muted: RwSignal<Option<Vec<String>>>) -> impl IntoView {
    let event = choice.event.clone();
    let checked = event.clone();
    let help = choice
        .required
        .then_some("required for reviewers and admins: acting on it is their job");
    view! {
        <label class="check">
            <input
                type="checkbox"
                disabled=choice.required
                prop:checked=move || choice.required || !muted.get().unwrap_or_default().contains(&checked)
                on:change=move |ev| {
                    let wanted = event_target_checked(&ev);
                    muted.update(|m| {
                        let m = m.get_or_insert_with(Vec::new);
                        m.retain(|e| *e != event);
                        if !wanted {
                            m.push(event.clone());
                        }
                    });
                }
                data-testid=format!("choice-{}", choice.event)
            />
            {choice.label.clone()}
            {help.map(|h| view! { " " <span class="muted">{format!("({h})")}</span> })}
        </label>
    }
}
