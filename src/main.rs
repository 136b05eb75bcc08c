//! Mounts the portal; everything else lives in the library.

fn main() {
    console_error_panic_hook::set_once();
    // index.html's splash stood in while this code loaded; the app takes over from here.
    if let Some(splash) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("boot-splash"))
    {
        splash.remove();
    }
    leptos::mount::mount_to_body(stint_portal::App);
}
