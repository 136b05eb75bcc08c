//! Live access as rows: every grant live now that a filter matches, for the Live access
//! view and for "revoke all matching" (one condition for both, so they cannot disagree).

use super::{Conn, GrantRow, current_owners_of, id_list, ms};
use crate::store::StoreResult;
use crate::store::port::OversightRows;
use crate::store::port::RequestKind;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use stint_core::GrantState;
use stint_core::api::{NamedRef, UserView};
use stint_core::oversight::{LiveAccessFilter, LiveAccessView, StandingPaths};

/// Live at `$1` (ms) and matching the filter bound as `$2`…`$7`: resource, identity, kind,
/// privilege, holder, and the latest end (ms).
macro_rules! live_and_matching {
    () => {
        " g.state IN ('active', 'scheduled') AND g.expires_at > $1
          AND ($2 IS NULL OR g.resource_id = $2)
          AND ($3 IS NULL OR g.identity_id = $3)
          AND ($4 IS NULL OR g.kind = $4)
          AND ($5 IS NULL OR g.privilege = $5)
          AND ($6 IS NULL OR g.holder_id = $6)
          AND ($7 IS NULL OR g.expires_at <= $7)
          ORDER BY g.expires_at, g.id"
    };
}

/// Binds `now` and the filter as `live_and_matching!` reads them.
macro_rules! bind_filter {
    ($query:expr, $filter:expr, $now:expr) => {{
        let filter: &LiveAccessFilter = $filter;
        $query
            .bind(ms($now))
            .bind(filter.resource_id)
            .bind(filter.identity_id)
            .bind(filter.kind.map(|k| k.as_str()))
            .bind(filter.privilege.as_deref())
            .bind(filter.holder_id)
            .bind(
                filter
                    .ends_within_secs
                    .map(|secs| ms($now + chrono::Duration::seconds(secs))),
            )
    }};
}

#[async_trait]
impl OversightRows for Conn {
    async fn live_grant_ids(
        &mut self,
        filter: &LiveAccessFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        let query = sqlx::query_scalar(concat!(
            "SELECT g.id FROM grants g WHERE",
            live_and_matching!()
        ));
        Ok(bind_filter!(query, filter, now)
            .fetch_all(&mut *self)
            .await?)
    }
}

/// Everything live that `filter` matches, as `viewer` (who sees all access) sees it, with
/// the standing paths of the identities it shows: the counts of all, the `shown` soonest to
/// end listed.
pub(super) async fn live_access(
    conn: &mut Conn,
    viewer: &UserView,
    filter: &LiveAccessFilter,
    shown: usize,
    now: DateTime<Utc>,
) -> StoreResult<LiveAccessView> {
    let query =
        sqlx::query_as::<_, GrantRow>(concat!(grant_select!(), " WHERE", live_and_matching!()));
    let rows = bind_filter!(query, filter, now)
        .fetch_all(&mut *conn)
        .await?;
    // The counts cover every match; only the listed grants are made views.
    let count = |keep: &dyn Fn(&GrantRow) -> bool| rows.iter().filter(|g| keep(g)).count() as u32;
    let (active, scheduled) = (GrantState::Active.as_str(), GrantState::Scheduled.as_str());
    let all_identities: HashSet<i64> = rows.iter().map(|g| g.identity_id).collect();
    let mut holders: Vec<NamedRef> = rows
        .iter()
        .map(|g| NamedRef::new(g.holder_id, g.holder_name.clone()))
        .collect();
    holders.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    holders.dedup_by_key(|h| h.id);
    let listed = &rows[..rows.len().min(shown)];
    let identities: Vec<i64> = listed.iter().map(|g| g.identity_id).collect();
    let owners = current_owners_of(conn, &identities, now).await?;
    let grants = listed
        .iter()
        .map(|g| {
            let owners = owners.get(&g.identity_id).map_or(&[][..], Vec::as_slice);
            g.view_with(viewer, owners, now)
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let standing: Vec<(i64, i64)> = sqlx::query_as(concat!(
        "SELECT identity_id, COUNT(*) FROM standing_credentials
         WHERE status = 'mapped' AND identity_id IN ",
        ids_in!(1),
        " GROUP BY identity_id ORDER BY identity_id"
    ))
    .bind(id_list(identities.iter().copied()))
    .fetch_all(&mut *conn)
    .await?;
    Ok(LiveAccessView {
        matching: rows.len() as u32,
        active: count(&|g| g.state == active),
        scheduled: count(&|g| g.state == scheduled),
        break_glass: count(&|g| g.kind == RequestKind::BreakGlass.as_str()),
        identities: all_identities.len() as u32,
        holders,
        grants,
        standing_paths: standing
            .into_iter()
            .map(|(identity_id, count)| StandingPaths {
                identity_id,
                count: count as u32,
            })
            .collect(),
    })
}
