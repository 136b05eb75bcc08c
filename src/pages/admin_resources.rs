//! Resources and their approval policies, as admins manage them.

use crate::api::{self, ApiError};
use crate::components::connection::steady;
use crate::components::introspection::IntrospectionCredentials;
use crate::components::resource_form::ResourceEditor;
use crate::components::states::{Empty, Loaded, RoleGate, refetch};
use leptos::prelude::*;
use stint_core::Role;
use stint_core::api::{NamedRef, ResourceView, UserAdminView};
use stint_core::{admin, break_glass, rules};

/// Which editor is open: none, a new resource, or the resource with this id.
#[derive(Clone, Copy, PartialEq)]
enum Editing {
    Nothing,
    New,
    Resource(i64),
}

fn approver_role_holders(users: &[UserAdminView]) -> Vec<NamedRef> {
    users
        .iter()
        .filter(|u| !u.disabled && u.roles.contains(&Role::Approver))
        .map(|u| NamedRef::new(u.id, u.username.clone()))
        .collect()
}

#[component]
pub fn AdminResources() -> impl IntoView {
    view! {
        <RoleGate roles=&[Role::Admin] what="Resources and policies" who="admins">
            <AdminResourcesPage/>
        </RoleGate>
    }
}

#[component]
fn AdminResourcesPage() -> impl IntoView {
    let data = LocalResource::new(|| async {
        let resources = api::resources().await?;
        let users = api::users().await?;
        let connectors = api::connectors().await?;
        Ok::<_, ApiError>((resources, approver_role_holders(&users), connectors))
    });
    let editing = RwSignal::new(Editing::Nothing);
    let saved = Callback::new(move |_| {
        editing.set(Editing::Nothing);
        data.refetch();
    });
    let cancel = Callback::new(move |_| editing.set(Editing::Nothing));
    view! {
        <section class="page">
            <header class="page-head">
                <div>
                    <h1>"Resources & policies"</h1>
                    <p class="muted">"What may be asked for, who approves it, and for how long."</p>
                </div>
                <button class="button" on:click=move |_| editing.set(Editing::New) data-testid="new-resource">
                    "New resource"
                </button>
            </header>
            <Loaded value=steady(data) rows=5 retry=refetch(data) let:loaded>
                {
                    let (resources, holders, connectors) = loaded;
                    let new_form = (editing.get() == Editing::New).then(|| view! {
                        <ResourceEditor existing=None approver_role_holders=holders.clone() connectors=connectors.clone() on_saved=saved on_cancel=cancel/>
                    });
                    let list = if resources.is_empty() {
                        view! { <Empty title="No resources yet">"Create the first one: a database, a cluster, an API."</Empty> }.into_any()
                    } else {
                        resources
                            .into_iter()
                            .map(|r| {
                                if editing.get() == Editing::Resource(r.id) {
                                    view! {
                                        <ResourceEditor existing=Some(r) approver_role_holders=holders.clone() connectors=connectors.clone() on_saved=saved on_cancel=cancel/>
                                    }.into_any()
                                } else {
                                    view! { <ResourceCard resource=r editing/> }.into_any()
                                }
                            })
                            .collect_view()
                            .into_any()
                    };
                    view! { {new_form} <div class="cards">{list}</div> }
                }
            </Loaded>
        </section>
    }
}

#[component]
fn ResourceCard(resource: ResourceView, editing: RwSignal<Editing>) -> impl IntoView {
    let id = resource.id;
    let p = &resource.policy;
    view! {
        <article class="card" data-testid="resource" data-resource=resource.name.clone()>
            <header class="card-head">
                <h2>{resource.name.clone()}</h2>
                <button
                    class="button subtle"
                    on:click=move |_| editing.set(Editing::Resource(id))
                    aria-label=format!("Edit {}", resource.name)
                    data-testid=format!("edit-{}", resource.name)
                >
                    "Edit"
                </button>
            </header>
            <p class="muted">{resource.description.clone()}</p>
            {admin::policy_warning(p, resource.approver_pool.len()).map(|w| view! {
                <p class="warning" role="note" data-testid="policy-warning">{w}</p>
            })}
            <dl class="facts">
                <dt>"Privileges"</dt>
                <dd>{resource.privileges.join(", ")}</dd>
                <dt>"Policy"</dt>
                <dd data-testid="resource-policy">{rules::describe_policy(p, &resource.approver_pool)}</dd>
                <dt>"Break-glass"</dt>
                <dd>{p.break_glass.as_ref().map_or("not allowed".to_string(), break_glass::describe)}</dd>
                <dt>"Connector"</dt>
                <dd data-testid="resource-connector">{resource.connector.clone().unwrap_or_else(|| "none".to_string())}</dd>
                <dt>"Auto-approval"</dt>
                <dd>
                    {p.auto_approve.as_ref().map_or("none".to_string(), |a| format!(
                        "{} asking for {} up to {}",
                        a.identity_kinds.iter().map(|k| k.label()).collect::<Vec<_>>().join(", "),
                        a.privileges.join(", "),
                        stint_core::format::duration(a.max_duration_secs)
                    ))}
                </dd>
                <IntrospectionCredentials
                    resource_id=id
                    resource_name=resource.name.clone()
                    set_at=resource.introspection_secret_at
                />
            </dl>
        </article>
    }
}
