//! Timed notices as rows: when each is due is a column of its grant or review, set when
//! the grant or review is made and cleared once the sweep has given it (the use case is
//! `crate::service::sweep`).

use super::Conn;
use super::{ms, time};
use crate::store::StoreResult;
use crate::store::port::{DueNotice, NoticeRows};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stint_core::live::Notice;

/// The grant or review, its request and grant, and its deadline.
type NoticeRow = (i64, i64, i64, i64);

/// The notices of one kind due at `now`, at most `limit`, claimed: each statement selects
/// (subject, request, grant, deadline) with `$1` the time and `$2` the limit.
async fn due(
    conn: &mut Conn,
    notice: Notice,
    now: DateTime<Utc>,
    limit: u32,
) -> StoreResult<Vec<DueNotice>> {
    let sql = match notice {
        Notice::GrantExpiring => concat!(
            "SELECT g.id, g.request_id, g.id, g.expires_at FROM grants g
             WHERE g.expiry_notice_at <= $1 ORDER BY g.expiry_notice_at LIMIT $2",
            claim_rows!("g")
        ),
        Notice::ReviewDueSoon => concat!(
            "SELECT rv.id, rv.request_id, rv.grant_id, rv.due_at FROM reviews rv
             WHERE rv.due_soon_notice_at <= $1 ORDER BY rv.due_soon_notice_at LIMIT $2",
            claim_rows!("rv")
        ),
        Notice::ReviewOverdue => concat!(
            "SELECT rv.id, rv.request_id, rv.grant_id, rv.due_at FROM reviews rv
             WHERE rv.overdue_notice_at <= $1 ORDER BY rv.overdue_notice_at LIMIT $2",
            claim_rows!("rv")
        ),
    };
    let rows: Vec<NoticeRow> = sqlx::query_as(sql)
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(subject_id, request_id, grant_id, deadline)| DueNotice {
            notice,
            subject_id,
            request_id,
            grant_id,
            deadline: time(deadline),
        })
        .collect())
}

#[async_trait]
impl NoticeRows for Conn {
    async fn due_notices(&mut self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<DueNotice>> {
        let mut all = Vec::new();
        for notice in [
            Notice::GrantExpiring,
            Notice::ReviewDueSoon,
            Notice::ReviewOverdue,
        ] {
            all.extend(due(self, notice, now, limit).await?);
        }
        Ok(all)
    }

    async fn notice_given(&mut self, due: &DueNotice) -> StoreResult<()> {
        let sql = match due.notice {
            Notice::GrantExpiring => "UPDATE grants SET expiry_notice_at = NULL WHERE id = $1",
            Notice::ReviewDueSoon => "UPDATE reviews SET due_soon_notice_at = NULL WHERE id = $1",
            Notice::ReviewOverdue => "UPDATE reviews SET overdue_notice_at = NULL WHERE id = $1",
        };
        sqlx::query(sql)
            .bind(due.subject_id)
            .execute(&mut *self)
            .await?;
        Ok(())
    }
}
