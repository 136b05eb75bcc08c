//! Short confirmations, announced to screen readers.

use leptos::prelude::*;
use std::time::Duration;

#[derive(Clone, Copy)]
pub struct Toasts {
    items: RwSignal<Vec<(u64, String)>>,
    next: StoredValue<u64>,
}

impl Toasts {
    pub fn new() -> Self {
        Toasts {
            items: RwSignal::new(Vec::new()),
            next: StoredValue::new(0),
        }
    }

    pub fn show(&self, message: impl Into<String>) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.items.update(|items| items.push((id, message.into())));
        let items = self.items;
        set_timeout(
            move || items.update(|items| items.retain(|(i, _)| *i != id)),
            Duration::from_secs(5),
        );
    }
}

impl Default for Toasts {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

#[component]
pub fn ToastRegion() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For
                each=move || toasts.items.get()
                key=|(id, _)| *id
                children=|(_, message)| view! { <div class="toast">{message}</div> }
            />
        </div>
    }
}
