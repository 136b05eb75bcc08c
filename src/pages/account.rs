//! Your account: changing your password, and what notifications you want. The password
//! form is also shown in place of everything else when an admin has reset it, since the
//! broker then refuses all else until it is changed.

use crate::api;
use crate::app::use_auth;
use crate::components::form::{FieldProblem, FormAction, FormProblem, Problem};
use crate::components::notification_choices::NotificationChoices;
use crate::components::toast::use_toasts;
use leptos::prelude::*;
use stint_core::admin::PASSWORD_MIN_CHARS;

#[component]
pub fn Account() -> impl IntoView {
    let auth = use_auth();
    let provider = move || auth.user().and_then(|me| me.signs_in_with);
    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Your account"</h1>
            </header>
            <div class="stack">
                {move || match provider() {
                    // Such an account has no password here: its sign-in and groups are the
                    // provider's to manage.
                    Some(p) => view! {
                        <section class="form card narrow" aria-labelledby="sign-in-title" data-testid="signs-in-with">
                            <h2 id="sign-in-title">"How you sign in"</h2>
                            <p>{format!("You sign in through {}. Your password, and the groups that give your roles here, are managed there; your roles follow your groups each time you sign in.", p.display_name)}</p>
                        </section>
                    }.into_any(),
                    None => view! { <ChangePassword forced=false/> }.into_any(),
                }}
                <NotificationChoices/>
            </div>
        </section>
    }
}

/// The screen of a signed-in user whose password an admin reset.
#[component]
pub fn ForcedPasswordChange() -> impl IntoView {
    let auth = use_auth();
    let sign_out = move |_| auth.sign_out();
    view! {
        <main class="login" id="main">
            <div class="login-card">
                <ChangePassword forced=true/>
                <button class="button subtle" on:click=sign_out data-testid="sign-out">"Sign out"</button>
            </div>
        </main>
    }
}

#[component]
fn ChangePassword(forced: bool) -> impl IntoView {
    let auth = use_auth();
    let toasts = use_toasts();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let change = FormAction::new(
        |(current, new): (String, String)| api::change_password(current, new),
        move |()| {
            current.set(String::new());
            new.set(String::new());
            repeat.set(String::new());
            toasts.show("Password changed; your other sessions were signed out");
            auth.refresh();
        },
    );
    // The form's own checks first (the broker applies the same), then the broker's word.
    let problem = Signal::derive(move || {
        let n = new.get();
        if !n.is_empty() && n.chars().count() < PASSWORD_MIN_CHARS {
            return Some(Problem {
                field: Some("new_password".into()),
                message: format!("at least {PASSWORD_MIN_CHARS} characters"),
            });
        }
        if !repeat.get().is_empty() && repeat.get() != n {
            return Some(Problem {
                field: Some("repeat".into()),
                message: "the two new passwords differ".into(),
            });
        }
        change.failure().map(Problem::from)
    });
    let ready = move || {
        !current.get().is_empty()
            && new.get().chars().count() >= PASSWORD_MIN_CHARS
            && repeat.get() == new.get()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if ready() {
            change.send((current.get_untracked(), new.get_untracked()));
        }
    };
    view! {
        <form class="form card narrow" on:submit=submit novalidate=true aria-labelledby="password-title" data-testid="password-form">
            <h2 id="password-title">{if forced { "Choose a new password" } else { "Change your password" }}</h2>
            <p class="help">
                {if forced {
                    "An admin reset your password. Choose a new one to go on; nothing else works until you do."
                } else {
                    "Your other sessions are signed out when it changes."
                }}
            </p>
            <div class="field">
                <label for="current-password">{if forced { "Temporary password" } else { "Current password" }}</label>
                <input
                    id="current-password"
                    type="password"
                    autocomplete="current-password"
                    prop:value=move || current.get()
                    on:input=move |ev| current.set(event_target_value(&ev))
                    data-testid="current-password"
                />
                <FieldProblem problem field="current_password"/>
            </div>
            <div class="field">
                <label for="new-password">"New password"</label>
                <input
                    id="new-password"
                    type="password"
                    autocomplete="new-password"
                    aria-describedby="new-password-help"
                    prop:value=move || new.get()
                    on:input=move |ev| new.set(event_target_value(&ev))
                    data-testid="new-password"
                />
                <p id="new-password-help" class="help">{format!("At least {PASSWORD_MIN_CHARS} characters.")}</p>
                <FieldProblem problem field="new_password"/>
            </div>
            <div class="field">
                <label for="repeat-password">"New password again"</label>
                <input
                    id="repeat-password"
                    type="password"
                    autocomplete="new-password"
                    prop:value=move || repeat.get()
                    on:input=move |ev| repeat.set(event_target_value(&ev))
                    data-testid="repeat-password"
                />
                <FieldProblem problem field="repeat"/>
            </div>
            <FormProblem problem fields=&["current_password", "new_password", "repeat"]/>
            <div class="form-actions">
                <button
                    type="submit"
                    class="button primary"
                    disabled=move || !ready() || change.pending().get()
                    data-testid="change-password"
                >
                    {move || if change.pending().get() { "Changing…" } else { "Change password" }}
                </button>
            </div>
        </form>
    }
}
