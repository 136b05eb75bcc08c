//! Broker integration tests: the real router on a real temporary SQLite database.
//! One binary (one link step) for all of them.

mod admin;
mod audit;
mod bad_input;
mod break_glass;
mod duties;
mod expiry;
mod grants;
mod guessing;
mod hardening;
mod helpers;
mod key_custody;
mod ownership;
mod portal;
mod requests;
mod sessions;
mod standing;
