//! The storage port's grant lifecycle (`stint_core::lifecycle`): scheduled grants that
//! start on time, and extensions that move a live grant's expiry.

use super::GrantRecord;
use crate::store::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
pub trait LifecycleRows {
    /// Up to `limit` scheduled grants whose start has come at `now` and whose expiry has
    /// not, soonest first, claimed for this transaction: another broker skips them.
    async fn due_starts(&mut self, now: DateTime<Utc>, limit: u32)
    -> StoreResult<Vec<GrantRecord>>;
    /// Makes a scheduled grant active; a grant no longer scheduled changed meanwhile (a
    /// conflict).
    async fn start_grant(&mut self, id: i64) -> StoreResult<()>;
    /// The extension of the grant waiting for approvers, if any.
    async fn pending_extension(&mut self, grant_id: i64) -> StoreResult<Option<i64>>;
    /// Moves a live grant's expiry from `from` to `to` (an expiry no longer `from` changed
    /// meanwhile: a conflict), counts the extension, sets its expiry notice afresh and
    /// queues the extension of whatever a connector made for it.
    async fn extend_grant(
        &mut self,
        id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}
