//! The browser tests: the real broker serving the built portal, driven in headless Chromium.
//! One test binary for all of them, so the suite links once rather than once per page.

mod accounts;
mod audit;
mod break_glass;
mod campaigns;
mod connectors;
mod context;
mod core_loop;
mod evidence;
mod first_load;
mod four_eyes;
mod keyboard;
mod lifecycle;
mod live;
mod live_access;
mod machine;
mod navigation;
mod notifications;
mod ownership;
mod portal_truth;
mod request_again;
mod revoke;
mod search;
mod secrets;
mod split_pages;
mod sso;
