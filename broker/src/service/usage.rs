//! Adding grants' counted uses to what the store keeps (see `crate::usage`).

use crate::store::StoreResult;
use crate::store::port::Database;
use stint_core::api::GrantUsageView;

/// Adds each grant's uses counted since the last flush, in one transaction. Counters only:
/// the uses are evidence about access, not changes to it, so no event each; a grant's end
/// event carries its usage.
pub async fn add(db: &dyn Database, tallies: &[(i64, GrantUsageView)]) -> StoreResult<()> {
    let mut tx = db.write().await?;
    tx.add_usage(tallies).await?;
    tx.commit().await
}
