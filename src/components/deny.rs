//! Denying a request: a comment for the requester is required.

use crate::api;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::FormAction;
use leptos::prelude::*;
use stint_core::api::RequestDetail;

/// The deny dialog for whichever request `target` names; calls `on_denied` once it is.
#[component]
pub fn DenyDialog(
    open: RwSignal<bool>,
    /// Names the request ("Deny #6 billing-agent → prod-cluster (admin)?").
    #[prop(into)]
    title: Signal<String>,
    target: Signal<Option<i64>>,
    on_denied: Callback<RequestDetail>,
    testid: &'static str,
) -> impl IntoView {
    let deny = FormAction::new(
        |(id, comment): (i64, String)| api::deny(id, comment),
        move |detail| {
            open.set(false);
            on_denied.run(detail);
        },
    );
    view! {
        <ConfirmDialog
            open
            title
            consequence="The request ends and no access is granted. The requester sees your comment."
            confirm_label="Deny request"
            reason_label="Comment for the requester"
            pending=deny.pending()
            error=deny.error()
            on_confirm=Callback::new(move |comment: String| {
                if let Some(id) = target.get_untracked() {
                    deny.send((id, comment));
                }
            })
            testid
        />
    }
}
