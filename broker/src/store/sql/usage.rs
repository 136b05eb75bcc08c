//! What grants' counted uses say over time (`stint_core::usage`), as read views.

use super::{Conn, ms, time};
use crate::store::StoreResult;
use chrono::{DateTime, Duration, Utc};
use stint_core::usage::{EndedGrant, SIGNAL_DAYS, UsageSignals, signals};

/// The signals of the identity's grants that ended in the last `SIGNAL_DAYS` days.
pub(super) async fn signals_of_identity(
    conn: &mut Conn,
    identity_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<UsageSignals> {
    let rows: Vec<(i64, i64, Option<i64>, i64, i64)> = sqlx::query_as(
        "SELECT g.starts_at, COALESCE(g.ended_at, g.expires_at), gu.last_used_at,
                COALESCE(gu.introspections, 0),
                COALESCE(gu.introspections + gu.credential_fetches, 0)
         FROM grants g LEFT JOIN grant_usage gu ON gu.grant_id = g.id
         WHERE g.identity_id = $1 AND g.state IN ('expired', 'revoked')
           AND COALESCE(g.ended_at, g.expires_at) >= $2",
    )
    .bind(identity_id)
    .bind(ms(now - Duration::days(SIGNAL_DAYS)))
    .fetch_all(&mut *conn)
    .await?;
    let ended: Vec<EndedGrant> = rows
        .into_iter()
        .map(
            |(starts_at, ended_at, last_used_at, introspections, uses)| EndedGrant {
                starts_at: time(starts_at),
                ended_at: time(ended_at),
                last_used_at: last_used_at.map(time),
                introspections,
                uses,
            },
        )
        .collect();
    Ok(signals(&ended))
}
