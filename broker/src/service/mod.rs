//! The use cases, each written once for every backend: in one transaction of the storage
//! port (`crate::store::port`), load what the rule needs, decide with `stint_core`, write,
//! and append the audit event. The HTTP layer and the sweeper call these through the
//! `Store` façade while the remaining use cases move here from `store/sqlite/`.

pub mod admin;
pub mod break_glass;
pub mod campaigns;
pub mod connectors;
pub mod extensions;
pub mod federation;
pub mod grants;
pub mod import;
pub mod keys;
pub mod notifications;
pub mod oidc;
pub mod oversight;
pub mod ownership;
pub mod proposals;
pub mod requests;
pub mod reviews;
pub mod sessions;
pub mod standing;
pub mod sweep;
pub mod tokens;
pub mod usage;

/// A moment cut to the millisecond the backends store, so an event says what is stored.
fn to_millis(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}
