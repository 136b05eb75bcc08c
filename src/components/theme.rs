//! Light and dark: the system's preference unless the viewer picked one.

use leptos::prelude::*;

const KEY: &str = "stint-theme";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn apply(theme: Option<&str>) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = match theme {
            Some(t) => root.set_attribute("data-theme", t),
            None => root.remove_attribute("data-theme"),
        };
    }
}

/// Applies a stored choice at start-up.
pub fn init() {
    let stored = storage().and_then(|s| s.get_item(KEY).ok().flatten());
    apply(stored.as_deref());
}

/// Cycles system → light → dark.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let choice = RwSignal::new(storage().and_then(|s| s.get_item(KEY).ok().flatten()));
    let label = move || match choice.get().as_deref() {
        Some("light") => "Theme: light",
        Some("dark") => "Theme: dark",
        _ => "Theme: system",
    };
    let cycle = move |_| {
        let next = match choice.get().as_deref() {
            None => Some("light"),
            Some("light") => Some("dark"),
            _ => None,
        };
        if let Some(s) = storage() {
            let _ = match next {
                Some(t) => s.set_item(KEY, t),
                None => s.remove_item(KEY),
            };
        }
        apply(next);
        choice.set(next.map(str::to_string));
    };
    view! {
        <button
            class="button subtle"
            on:click=cycle
            aria-label=move || format!("{} (change)", label())
            data-testid="theme-toggle"
        >
            {label}
        </button>
    }
}
