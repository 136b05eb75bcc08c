//! What grants' counted uses say over time (`stint_core::usage`), as read views.

use super::{Conn, ms, time};
use crate::store::StoreResult;
use chrono::{DateTime, Duration, Utc};
use stint_core::usage::{EndedGrant, SIGNAL_DAYS, UsageSignals};

/// Ended grants of one identity or resource (`$column` = `$1`) since `$2`, as the signals
/// weigh them.
macro_rules! ended_grants {
    ($column:literal) => {
        concat!(
            "SELECT g.starts_at, COALESCE(g.ended_at, g.expires_at), gu.last_used_at,
                    COALESCE(gu.introspections, 0),
                    COALESCE(gu.introspections + gu.credential_fetches, 0), g.extensions
             FROM grants g LEFT JOIN grant_usage gu ON gu.grant_id = g.id
             WHERE ",
            $column,
            " = $1 AND g.state IN ('expired', 'revoked')
               AND COALESCE(g.ended_at, g.expires_at) >= $2"
        )
    };
}

/// The ended grants whose signals are asked for: an identity's, or a resource's.
pub(super) enum Of {
    Identity(i64),
    Resource(i64),
}

/// The signals of the identity's or resource's grants that ended in the last
/// `SIGNAL_DAYS` days.
pub(super) async fn signals(
    conn: &mut Conn,
    of: Of,
    now: DateTime<Utc>,
) -> StoreResult<UsageSignals> {
    let (query, id) = match of {
        Of::Identity(id) => (ended_grants!("g.identity_id"), id),
        Of::Resource(id) => (ended_grants!("g.resource_id"), id),
    };
    let rows: Vec<(i64, i64, Option<i64>, i64, i64, i64)> = sqlx::query_as(query)
        .bind(id)
        .bind(ms(now - Duration::days(SIGNAL_DAYS)))
        .fetch_all(&mut *conn)
        .await?;
    let ended: Vec<EndedGrant> = rows
        .into_iter()
        .map(
            |(starts_at, ended_at, last_used_at, introspections, uses, extensions)| EndedGrant {
                starts_at: time(starts_at),
                ended_at: time(ended_at),
                last_used_at: last_used_at.map(time),
                introspections,
                uses,
                extensions,
            },
        )
        .collect();
    Ok(stint_core::usage::signals(&ended))
}
