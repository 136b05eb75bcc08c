//! The shared state `/metrics` reports, read in one statement (one snapshot).

use super::{Conn, ms, time};
use crate::store::{OpsFacts, StoreResult};
use chrono::{DateTime, Duration, Utc};
use stint_core::live::EXPIRY_NOTICE_SECS;

type FactsRow = (i64, i64, i64, i64, Option<i64>, i64, i64, i64);

pub(super) async fn facts(conn: &mut Conn, now: DateTime<Utc>) -> StoreResult<OpsFacts> {
    let row: FactsRow = sqlx::query_as(
        "SELECT
           (SELECT COUNT(*) FROM grants WHERE state = 'active' AND expires_at > $1),
           (SELECT COUNT(*) FROM grants
            WHERE state = 'active' AND expires_at > $1 AND expires_at <= $2),
           (SELECT COUNT(*) FROM requests WHERE state = 'pending'),
           (SELECT COUNT(*) FROM reviews WHERE outcome IS NULL AND due_at <= $1),
           (SELECT MIN(expires_at) FROM grants WHERE state = 'active' AND expires_at <= $1),
           (SELECT COUNT(*) FROM connector_jobs WHERE done_at IS NULL
            AND NOT (action = 'provision'
                     AND grant_id IN (SELECT id FROM grants WHERE state = 'scheduled'))),
           (SELECT COUNT(*) FROM notification_deliveries
            WHERE delivered_at IS NULL AND gave_up_at IS NULL),
           (SELECT COALESCE(MAX(seq), 0) FROM audit_events)",
    )
    .bind(ms(now))
    .bind(ms(now + Duration::seconds(EXPIRY_NOTICE_SECS)))
    .fetch_one(&mut *conn)
    .await?;
    let (active, expiring, pending, overdue, oldest, steps, deliveries, events) = row;
    Ok(OpsFacts {
        grants_active: active,
        grants_expiring: expiring,
        requests_pending: pending,
        reviews_overdue: overdue,
        oldest_unended_expiry: oldest.map(time),
        connector_steps_open: steps,
        deliveries_open: deliveries,
        audit_events: events,
    })
}
