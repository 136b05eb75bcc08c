//! The storage port's oversight of live access (`stint_core::oversight`).

use crate::store::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stint_core::oversight::LiveAccessFilter;

#[async_trait]
pub trait OversightRows {
    /// The ids of the grants live at `now` (active, or scheduled to start) that `filter`
    /// matches, soonest to end first: what "revoke all matching" ends.
    async fn live_grant_ids(
        &mut self,
        filter: &LiveAccessFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>>;
}
