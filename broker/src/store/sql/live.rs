//! The live feed's read of the audit trail: the changes it streams after a sequence
//! number, each with the facts that decide who may hear of it (`stint_core::live`).

use super::Conn;
use super::{ms, time};
use crate::store::{LiveBatch, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use stint_core::live::{LIVE_ACTIONS, LiveEvent, LiveScope};

#[derive(FromRow)]
struct LiveRow {
    seq: i64,
    at: i64,
    action: String,
    target_kind: String,
    target_id: Option<i64>,
    request_id: Option<i64>,
    grant_id: Option<i64>,
    requester_id: Option<i64>,
    request_identity: Option<i64>,
    access_owners: Option<String>,
    taker_id: Option<i64>,
    finding_status: Option<String>,
    finding_identity: Option<i64>,
    finding_owners: Option<String>,
    campaign_assignees: Option<String>,
}

fn ids(list: Option<&str>) -> Vec<i64> {
    list.unwrap_or_default()
        .split(',')
        .filter_map(|id| id.trim().parse().ok())
        .collect()
}

impl LiveRow {
    /// The message and who may hear of it; `None` for an event about nothing a page
    /// shows (none of the live actions is, today).
    fn record(self) -> Option<(LiveEvent, LiveScope)> {
        let mut event = LiveEvent {
            seq: self.seq,
            kind: self.action,
            at: time(self.at),
            request_id: self.request_id,
            grant_id: self.grant_id,
            review_id: None,
            finding_id: None,
            identity_id: self.request_identity,
        };
        let scope = if event.kind.starts_with("ownership.") || event.kind == "standing.imported" {
            event.identity_id = self.target_id.filter(|_| self.target_kind == "identity");
            LiveScope::Everyone
        } else if self.target_kind == "review" {
            event.review_id = self.target_id;
            LiveScope::Review {
                taker: self.taker_id?,
            }
        } else if self.target_kind == "proposal" {
            LiveScope::Oversight
        } else if self.target_kind == "campaign" {
            LiveScope::Campaign {
                assignees: ids(self.campaign_assignees.as_deref()),
            }
        } else if self.target_kind == "standing_credential" {
            event.finding_id = self.target_id;
            event.identity_id = self.finding_identity;
            LiveScope::Finding {
                unmapped: self.finding_status.as_deref() == Some("unmapped"),
                owners: ids(self.finding_owners.as_deref()),
            }
        } else {
            LiveScope::Access {
                requester: self.requester_id?,
                owners: ids(self.access_owners.as_deref()),
            }
        };
        Some((event, scope))
    }
}

/// Up to `limit` changes the feed streams after `after_seq`, oldest first, with who may
/// hear of each at `now`. The batch ends
/// at the trail's head as it was read first, so events committed meanwhile are left
/// whole for the next read, and the reader moves past events it does not stream.
pub(super) async fn after(
    conn: &mut Conn,
    after_seq: i64,
    limit: u32,
    now: DateTime<Utc>,
) -> StoreResult<LiveBatch> {
    let head: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
        .fetch_one(&mut *conn)
        .await?;
    let head = head.unwrap_or(0);
    if head <= after_seq {
        return Ok(LiveBatch {
            events: Vec::new(),
            read_to: after_seq,
            more: false,
        });
    }
    let rows: Vec<LiveRow> = sqlx::query_as(concat!(
        "SELECT e.seq, e.at, e.action, e.target_kind, e.target_id, e.request_id, e.grant_id,
                r.requester_id, r.identity_id AS request_identity, ",
        owner_ids!("r"),
        " AS access_owners, rv.taker_id,
                s.status AS finding_status, s.identity_id AS finding_identity, ",
        owner_ids!("s", attested_at 5),
        " AS finding_owners, ",
        campaign_assignee_ids!(),
        " AS campaign_assignees
         FROM audit_events e
         LEFT JOIN requests r ON r.id = e.request_id
         LEFT JOIN reviews rv ON e.target_kind = 'review' AND rv.id = e.target_id
         LEFT JOIN standing_credentials s
                ON e.target_kind = 'standing_credential' AND s.id = e.target_id
         WHERE e.seq > $1 AND e.seq <= $2
           AND e.action IN (SELECT value FROM ",
        json_texts!(3),
        ")
         ORDER BY e.seq LIMIT $4"
    ))
    .bind(after_seq)
    .bind(head)
    .bind(serde_json::to_string(LIVE_ACTIONS).expect("strings serialise"))
    .bind(i64::from(limit))
    .bind(ms(now))
    .fetch_all(&mut *conn)
    .await?;
    // A full batch may stop short of the head: the next read starts after its last.
    let more = rows.len() as u32 == limit;
    let read_to = match rows.last() {
        Some(last) if more => last.seq,
        _ => head,
    };
    Ok(LiveBatch {
        events: rows.into_iter().filter_map(LiveRow::record).collect(),
        read_to,
        more,
    })
}
