//! Broker integration tests: the real router on a real temporary database (SQLite, or
//! PostgreSQL with `STINT_TEST_DATABASE=postgres`).
//! One binary (one link step) for all of them.

mod admin;
mod audit;
mod backup;
mod bad_input;
mod break_glass;
mod campaigns;
mod client;
mod config_file;
mod connectors;
mod context;
mod duties;
mod evidence;
mod expiry;
mod federation;
mod four_eyes;
mod fuzz;
mod grants;
mod guessing;
mod hardening;
mod helpers;
mod issuer;
mod key_custody;
mod lifecycle;
mod live;
mod machine;
mod metrics;
mod notifications;
mod oidc;
mod oidc_provider;
mod openapi;
mod oversight;
mod ownership;
mod portal;
mod replicas;
mod requests;
mod search;
mod sessions;
mod standing;
mod usage;
