//! A modal that names exactly what will happen and, where asked, takes a reason.

use crate::components::form::Refusal;
use leptos::html;
use leptos::prelude::*;

#[component]
pub fn ConfirmDialog(
    open: RwSignal<bool>,
    #[prop(into)] title: Signal<String>,
    /// What confirming does, in plain words.
    #[prop(into)]
    consequence: Signal<String>,
    #[prop(into)] confirm_label: String,
    /// The label of a required reason field; `None` asks for no reason.
    #[prop(optional, into)]
    reason_label: Option<String>,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] error: Signal<Option<String>>,
    on_confirm: Callback<String>,
    #[prop(default = "dialog")] testid: &'static str,
) -> impl IntoView {
    let node = NodeRef::<html::Dialog>::new();
    let reason = RwSignal::new(String::new());
    Effect::new(move |_| {
        let Some(dialog) = node.get() else { return };
        if open.get() {
            if !dialog.open() {
                reason.set(String::new());
                let _ = dialog.show_modal();
            }
        } else if dialog.open() {
            dialog.close();
        }
    });
    let needs_reason = reason_label.is_some();
    let field_id = format!("{testid}-reason");
    let blank = move || needs_reason && reason.get().trim().is_empty();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !blank() && !pending.get() {
            on_confirm.run(reason.get().trim().to_string());
        }
    };
    view! {
        <dialog
            node_ref=node
            class="dialog"
            aria-labelledby=format!("{testid}-title")
            on:close=move |_| open.set(false)
            data-testid=testid
        >
            <form on:submit=submit>
                <h2 id=format!("{testid}-title")>{move || title.get()}</h2>
                <p>{move || consequence.get()}</p>
                {reason_label.map(|label| {
                    let id = field_id.clone();
                    view! {
                        <label for=id.clone()>{label}</label>
                        <textarea
                            id=id
                            rows="3"
                            required=true
                            prop:value=move || reason.get()
                            on:input=move |ev| reason.set(event_target_value(&ev))
                            data-testid=format!("{testid}-reason")
                        ></textarea>
                    }
                })}
                <Refusal message=error/>
                <div class="dialog-actions">
                    <button type="button" class="button subtle" on:click=move |_| open.set(false)>
                        "Keep it"
                    </button>
                    <button
                        type="submit"
                        class="button danger"
                        disabled=move || blank() || pending.get()
                        data-testid=format!("{testid}-confirm")
                    >
                        {move || if pending.get() { "Working…".to_string() } else { confirm_label.clone() }}
                    </button>
                </div>
            </form>
        </dialog>
    }
}
