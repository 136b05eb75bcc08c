//! The Stint portal: a Leptos single-page app over the broker's API.
//!
//! Architecture Invariant: the portal never decides a rule; it previews rules with
//! `stint_core` and shows what the broker answered.

mod api;
mod app;
mod components;
mod early;
mod lazy_pages;
mod marks;
mod page;
mod pages;
mod time;

pub use app::App;
