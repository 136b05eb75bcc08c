//! People and their roles, as admins manage them. Disabling a user ends their sessions.

use crate::api::{self, Saved};
use crate::app::use_auth;
use crate::components::connection::steady;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FieldProblem, FormProblem, Problem};
use crate::components::form::{FormAction, Refusal};
use crate::components::four_eyes::{WideningNote, proposed_message};
use crate::components::states::{Loaded, RoleGate};
use crate::components::time::RelativeTime;
use crate::components::toast::use_toasts;
use leptos::prelude::*;
use stint_core::api::{NewUserBody, UserAdminView, UserUpdateBody};
use stint_core::{Role, admin, four_eyes};

#[component]
pub fn AdminUsers() -> impl IntoView {
    view! {
        <RoleGate roles=&[Role::Admin] what="User administration" who="admins">
            <AdminUsersPage/>
        </RoleGate>
    }
}

#[component]
fn AdminUsersPage() -> impl IntoView {
    let users = LocalResource::new(api::users);
    let creating = RwSignal::new(false);
    let reload = Callback::new(move |_| users.refetch());
    view! {
        <section class="page">
            <header class="page-head">
                <div>
                    <h1>"Users"</h1>
                    <p class="muted">"Who signs in to Stint, and as what."</p>
                </div>
                <button
                    class="button"
                    aria-expanded=move || creating.get().to_string()
                    on:click=move |_| creating.update(|c| *c = !*c)
                    data-testid="new-user"
                >
                    "New user"
                </button>
            </header>
            <Show when=move || creating.get()>
                <NewUser on_saved=Callback::new(move |_| {
                    creating.set(false);
                    users.refetch();
                })/>
            </Show>
            <Loaded value=steady(users) rows=5 retry=reload let:list>
                <div class="table-wrap">
                    <table class="table" data-testid="user-table">
                        <thead>
                            <tr>
                                <th scope="col">"User"</th>
                                <th scope="col">"Roles"</th>
                                <th scope="col">"Since"</th>
                                <th scope="col">"Standing"</th>
                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.into_iter().map(|u| view! { <UserRow user=u reload/> }).collect_view()}
                        </tbody>
                    </table>
                </div>

            </Loaded>
        </section>
    }
}

/// Role checkboxes bound to `roles`.
#[component]
fn RoleChecks(roles: RwSignal<Vec<Role>>, #[prop(into)] label: String) -> impl IntoView {
    view! {
        <div class="checks" role="group" aria-label=label>
            {Role::ALL.into_iter().map(|r| view! {
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=move || roles.get().contains(&r)
                        on:change=move |_| roles.update(|rs| {
                            if let Some(p) = rs.iter().position(|x| *x == r) { rs.remove(p); } else { rs.push(r); }
                        })
                        data-testid=format!("role-{}", r.as_str())
                    />
                    {r.as_str()}
                </label>
            }).collect_view()}
        </div>
    }
}

#[component]
fn UserRow(user: UserAdminView, reload: Callback<()>) -> impl IntoView {
    let auth = use_auth();
    let toasts = use_toasts();
    let me = auth.user().is_some_and(|m| m.user.id == user.id);
    let id = user.id;
    let editing = RwSignal::new(false);
    let display_name = RwSignal::new(user.display_name.clone());
    let roles = RwSignal::new(user.roles.clone());
    let confirm = RwSignal::new(false);
    let save = FormAction::new(
        move |body: UserUpdateBody| api::update_user(id, body),
        move |saved| {
            toasts.show(match saved {
                Saved::Applied(u) if u.disabled => {
                    format!("{} disabled; their sessions have ended", u.username)
                }
                Saved::Applied(u) => format!("{} saved", u.username),
                Saved::Proposed(proposal) => proposed_message(&proposal),
            });
            confirm.set(false);
            editing.set(false);
            reload.run(());
        },
    );
    let (roles_before, disabled_before) = (user.roles.clone(), user.disabled);
    let widenings = Signal::derive(move || {
        four_eyes::user_widenings(
            &roles_before,
            disabled_before,
            &roles.get(),
            disabled_before,
        )
    });
    let error = save.error();
    let disabled = user.disabled;
    // Saving the edit sends what was edited; Enable and Disable send the user as stored,
    // so an edit left open or cancelled never rides along.
    let edited = move || UserUpdateBody {
        display_name: display_name.get_untracked(),
        roles: roles.get_untracked(),
        disabled,
    };
    let stored = StoredValue::new((user.display_name.clone(), user.roles.clone()));
    let standing = move |disabled: bool| {
        let (display_name, roles) = stored.get_value();
        UserUpdateBody {
            display_name,
            roles,
            disabled,
        }
    };
    let cancel = move |_| {
        let (name, stored_roles) = stored.get_value();
        display_name.set(name);
        roles.set(stored_roles);
        editing.set(false);
    };
    let username = user.username.clone();
    let roles_label = format!("Roles of {}", user.username);
    let role_names = user
        .roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <tr data-user=user.username.clone() class=if disabled { "muted" } else { "" }>
            <td>
                <strong>{user.username.clone()}</strong>
                <br/>
                <span class="muted">{user.display_name.clone()}</span>
            </td>
            <td>
                {move || if editing.get() {
                    view! {
                        <label for=format!("display-{id}")>"Display name"</label>
                        <input
                            id=format!("display-{id}")
                            prop:value=move || display_name.get()
                            on:input=move |ev| display_name.set(event_target_value(&ev))
                        />
                        <RoleChecks roles label=roles_label.clone()/>
                        <WideningNote widenings/>
                    }.into_any()
                } else {
                    view! { {role_names.clone()} }.into_any()
                }}
                <Refusal message=Signal::derive(move || error.get().filter(|_| !confirm.get()))/>
            </td>
            <td><RelativeTime at=user.created_at/></td>
            <td>
                {if disabled {
                    view! { <span class="badge grey">"disabled"</span> }.into_any()
                } else {
                    view! { <span class="badge green">"active"</span> }.into_any()
                }}
            </td>
            <td class="actions">
                {move || if editing.get() {
                    view! {
                        <button class="button primary" on:click=move |_| save.send(edited()) disabled=move || save.pending().get()>
                            "Save"
                        </button>
                        <button class="button subtle" on:click=cancel>"Cancel"</button>
                    }.into_any()
                } else {
                    view! {
                        <button class="button subtle" on:click=move |_| editing.set(true) data-testid="edit-user">"Edit"</button>
                    }.into_any()
                }}
                {(!me && !disabled).then(|| view! { <ResetPassword user_id=id username=username.clone()/> })}
                {(!me).then(|| if disabled {
                    view! {
                        <button class="button subtle" on:click=move |_| save.send(standing(false)) data-testid="enable-user">
                            "Enable"
                        </button>
                    }.into_any()
                } else {
                    view! {
                        <button class="button danger-outline" on:click=move |_| confirm.set(true) data-testid="disable-user">
                            "Disable"
                        </button>
                    }.into_any()
                })}
            </td>
        </tr>
        <ConfirmDialog
            open=confirm
            title=format!("Disable {username}?")
            consequence=Signal::derive({
                let username = username.clone();
                move || format!("{username} is signed out everywhere at once and cannot sign in until an admin enables them again. Their grants and declarations stay.")
            })
            confirm_label="Disable"
            pending=save.pending()
            error
            on_confirm=Callback::new(move |_| save.send(standing(true)))
            testid="disable-dialog"
        />
    }
}

/// "Reset password": an admin sets a temporary password, which its user must change at
/// their next sign-in; their sessions end at once.
#[component]
fn ResetPassword(user_id: i64, username: String) -> impl IntoView {
    let toasts = use_toasts();
    let open = RwSignal::new(false);
    let node = NodeRef::<leptos::html::Dialog>::new();
    let temporary = RwSignal::new(String::new());
    let done_name = username.clone();
    let reset = FormAction::new(
        move |password: String| api::reset_password(user_id, password),
        move |()| {
            open.set(false);
            toasts.show(format!(
                "{done_name}'s password was reset; they choose a new one at their next sign-in"
            ));
        },
    );
    Effect::new(move |_| {
        if let Some(dialog) = node.get()
            && open.get()
            && !dialog.open()
        {
            temporary.set(String::new());
            let _ = dialog.show_modal();
        }
    });
    let too_short = move || temporary.get().chars().count() < admin::PASSWORD_MIN_CHARS;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !too_short() {
            reset.send(temporary.get_untracked());
        }
    };
    view! {
        <button class="button subtle" on:click=move |_| open.set(true) data-testid="reset-password">
            "Reset password"
        </button>
        // In the page only while open: the table holds one per user, and ids must not repeat.
        {move || open.get().then(|| view! {
            <dialog
                node_ref=node
                class="dialog"
                aria-labelledby="reset-title"
                on:close=move |_| open.set(false)
                data-testid="reset-dialog"
            >
                <form on:submit=submit>
                    <h2 id="reset-title">{format!("Reset {username}'s password?")}</h2>
                    <p>{format!(
                        "{username} is signed out everywhere at once, signs in with the temporary password you set here, and must choose their own before doing anything else. Tell it to them through a channel you trust."
                    )}</p>
                    <label for="temporary-password">"Temporary password"</label>
                    <input
                        id="temporary-password"
                        type="text"
                        autocomplete="off"
                        spellcheck="false"
                        aria-describedby="temporary-help"
                        prop:value=move || temporary.get()
                        on:input=move |ev| temporary.set(event_target_value(&ev))
                        data-testid="temporary-password"
                    />
                    <p id="temporary-help" class="help">{format!("At least {} characters.", admin::PASSWORD_MIN_CHARS)}</p>
                    <Refusal message=reset.error()/>
                    <div class="dialog-actions">
                        <button type="button" class="button subtle" on:click=move |_| open.set(false)>"Keep it"</button>
                        <button
                            type="submit"
                            class="button danger"
                            disabled=move || too_short() || reset.pending().get()
                            data-testid="reset-dialog-confirm"
                        >
                            {move || if reset.pending().get() { "Working…" } else { "Reset password" }}
                        </button>
                    </div>
                </form>
            </dialog>
        })}
    }
}

const NEW_USER_FIELDS: &[&str] = &["username", "display_name", "password"];

#[component]
fn NewUser(on_saved: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let roles = RwSignal::new(vec![Role::Requester]);
    let body = move || NewUserBody {
        username: username.get(),
        display_name: display_name.get(),
        password: password.get(),
        roles: roles.get(),
    };
    let create = FormAction::new(api::create_user, move |saved| {
        toasts.show(match saved {
            Saved::Applied(u) => format!("{} can now sign in", u.username),
            Saved::Proposed(proposal) => proposed_message(&proposal),
        });
        on_saved.run(());
    });
    let touched = RwSignal::new(false);
    let problem = Signal::derive(move || {
        let preview = touched
            .get()
            .then(|| admin::check_new_user(&body()).err().map(Problem::from))
            .flatten();
        preview.or_else(|| create.failure().map(Problem::from))
    });
    let widenings =
        Signal::derive(move || four_eyes::user_widenings(&[], false, &roles.get(), false));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        if admin::check_new_user(&body()).is_ok() {
            create.send(body());
        }
    };
    view! {
        <form class="form card" on:submit=on_submit novalidate=true data-testid="new-user-form">
            <h2>"New user"</h2>
            <div class="field">
                <label for="new-username">"Username"</label>
                <input id="new-username" autocomplete="off" prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev))/>
                <FieldProblem problem field="username"/>
            </div>
            <div class="field">
                <label for="new-display-name">"Display name"</label>
                <input id="new-display-name" prop:value=move || display_name.get() on:input=move |ev| display_name.set(event_target_value(&ev))/>
                <FieldProblem problem field="display_name"/>
            </div>
            <div class="field">
                <label for="new-password">"First password"</label>
                <input id="new-password" type="password" autocomplete="new-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                <p class="help">{format!("At least {} characters; hand it over out of band.", admin::PASSWORD_MIN_CHARS)}</p>
                <FieldProblem problem field="password"/>
            </div>
            <fieldset class="field">
                <legend>"Roles"</legend>
                <RoleChecks roles label="Roles"/>
            </fieldset>
            <WideningNote widenings/>
            <FormProblem problem fields=NEW_USER_FIELDS/>
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Creating…" } else { "Create user" }}
                </button>
            </div>
        </form>
    }
}
