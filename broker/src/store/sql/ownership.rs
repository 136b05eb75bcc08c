//! Identities and the declarations of accountability for them. Each function runs inside
//! the caller's connection or transaction (the backend's write transaction for writes).

use super::Conn;
use super::{GrantRow, ms, time};
use crate::store::port::{DeclarationRecord, DueDeclaration, NewDeclaration, OwnershipRows};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use stint_core::IdentityKind;
use stint_core::api::{
    DeclarationView, IdentityDetail, IdentityView, NamedRef, OwnerView, UserView,
};
use stint_core::ownership::{self, DeclarationEnd, OwnershipStatus};

/// A declaration is current while not ended and before its attestation date; the sweeper
/// ends lapsed ones, but the clock decides even before it runs.
/// `$n` is the moment.
macro_rules! current {
    ($n:literal) => {
        concat!("ended_at IS NULL AND attest_until > $", $n)
    };
}

pub(super) async fn owned_count(
    conn: &mut Conn,
    user_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<u32> {
    let n: i64 = sqlx::query_scalar(concat!(
        "SELECT COUNT(DISTINCT identity_id) FROM ownerships WHERE user_id = $1 AND ",
        current!(2)
    ))
    .bind(user_id)
    .bind(ms(now))
    .fetch_one(&mut *conn)
    .await?;
    Ok(n as u32)
}

pub(super) async fn has_owner(
    conn: &mut Conn,
    identity_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    Ok(!current_owners(conn, identity_id, now).await?.is_empty())
}

/// A current owner of an identity: one whose declaration has neither ended nor lapsed.
#[derive(FromRow)]
pub(super) struct OwnerRow {
    pub(super) user_id: i64,
    pub(super) username: String,
    statement: String,
    pub(super) attest_until: i64,
}

pub(super) async fn current_owners(
    conn: &mut Conn,
    identity_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<Vec<OwnerRow>> {
    Ok(sqlx::query_as(
        "SELECT o.user_id, u.username, o.statement, o.attest_until
         FROM ownerships o JOIN users u ON u.id = o.user_id
         WHERE o.identity_id = $1 AND o.ended_at IS NULL AND o.attest_until > $2
         ORDER BY u.username",
    )
    .bind(identity_id)
    .bind(ms(now))
    .fetch_all(&mut *conn)
    .await?)
}

/// Its grants live at `now`, or scheduled to start: an owner answers for both.
async fn live_or_scheduled_grant_count(
    conn: &mut Conn,
    identity_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<u32> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM grants WHERE identity_id = $1 AND state IN ('active', 'scheduled')
         AND expires_at > $2",
    )
    .bind(identity_id)
    .bind(ms(now))
    .fetch_one(&mut *conn)
    .await?;
    Ok(n as u32)
}

pub(super) async fn identity(
    conn: &mut Conn,
    viewer: &UserView,
    id: i64,
    now: DateTime<Utc>,
) -> StoreResult<IdentityView> {
    let row: (i64, String, String, String, String) = sqlx::query_as(
        "SELECT id, name, kind, description, environment FROM identities WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("identity {id}")))?;
    let owners = current_owners(conn, id, now).await?;
    let unjustified: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM reviews rv JOIN requests r ON r.id = rv.request_id
         WHERE r.identity_id = $1 AND rv.outcome = 'unjustified'",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(IdentityView {
        unjustified_break_glass: unjustified as u32,
        id: row.0,
        name: row.1,
        kind: IdentityKind::parse(&row.2)
            .ok_or_else(|| StoreError::Corrupt(format!("identity kind `{}`", row.2)))?,
        description: row.3,
        environment: row.4,
        owned_by_me: owners.iter().any(|o| o.user_id == viewer.id),
        status: ownership::status(owners.iter().map(|o| time(o.attest_until)), now),
        active_grants: live_or_scheduled_grant_count(conn, id, now).await?,
        owners: owners
            .into_iter()
            .map(|o| OwnerView {
                user: NamedRef::new(o.user_id, o.username),
                statement: o.statement,
                attest_until: time(o.attest_until),
            })
            .collect(),
    })
}

/// Every identity: orphaned first, then those due for attestation, then by name.
pub(super) async fn identities(
    conn: &mut Conn,
    viewer: &UserView,
    now: DateTime<Utc>,
) -> StoreResult<Vec<IdentityView>> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM identities ORDER BY name")
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(identity(conn, viewer, id, now).await?);
    }
    let rank = |s: OwnershipStatus| match s {
        OwnershipStatus::Orphaned => 0,
        OwnershipStatus::AttestationDueSoon => 1,
        OwnershipStatus::Owned => 2,
    };
    out.sort_by_key(|i| rank(i.status));
    Ok(out)
}

#[derive(FromRow)]
struct DeclarationRow {
    id: i64,
    user_id: i64,
    username: String,
    statement: String,
    declared_at: i64,
    attest_until: i64,
    ended_at: Option<i64>,
    end_kind: Option<String>,
    end_reason: Option<String>,
    takeover_pending: bool,
    confirmed_by: Option<i64>,
    confirmed_by_name: Option<String>,
}

pub(super) async fn detail(
    conn: &mut Conn,
    viewer: &UserView,
    id: i64,
    now: DateTime<Utc>,
    max_attestation_days: i64,
) -> StoreResult<IdentityDetail> {
    let identity = identity(conn, viewer, id, now).await?;
    let rows: Vec<DeclarationRow> = sqlx::query_as(
        "SELECT o.id, o.user_id, u.username, o.statement, o.declared_at, o.attest_until,
                o.ended_at, o.end_kind, o.end_reason, o.takeover_pending, o.confirmed_by,
                c.username AS confirmed_by_name
         FROM ownerships o JOIN users u ON u.id = o.user_id
         LEFT JOIN users c ON c.id = o.confirmed_by
         WHERE o.identity_id = $1 ORDER BY o.declared_at DESC, o.id DESC",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let declarations =
        rows.into_iter()
            .map(|d| {
                // Lapsed but not yet swept: the history says so already.
                let lapsed = d.ended_at.is_none() && d.attest_until <= ms(now);
                Ok(DeclarationView {
                    id: d.id,
                    user: NamedRef::new(d.user_id, d.username),
                    statement: d.statement,
                    declared_at: time(d.declared_at),
                    attest_until: time(d.attest_until),
                    ended_at: d.ended_at.or(lapsed.then_some(d.attest_until)).map(time),
                    end: match d.end_kind.as_deref() {
                        Some(kind) => Some(DeclarationEnd::parse(kind).ok_or_else(|| {
                            StoreError::Corrupt(format!("declaration end `{kind}`"))
                        })?),
                        None => lapsed.then_some(DeclarationEnd::Lapsed),
                    },
                    end_reason: d.end_reason,
                    awaiting_confirmation: d.takeover_pending && d.ended_at.is_none() && !lapsed,
                    confirmed_by: d
                        .confirmed_by
                        .zip(d.confirmed_by_name)
                        .map(|(id, name)| NamedRef::new(id, name)),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
    let grants: Vec<GrantRow> = sqlx::query_as(concat!(
        grant_select!(),
        " WHERE g.identity_id = $1 AND g.state IN ('active', 'scheduled') AND g.expires_at > $2
          ORDER BY g.starts_at, g.id"
    ))
    .bind(id)
    .bind(ms(now))
    .fetch_all(&mut *conn)
    .await?;
    let owners = super::current_owners_of(conn, &[id], now).await?;
    let owners = owners.get(&id).map_or(&[][..], Vec::as_slice);
    let live_grants = grants
        .iter()
        .map(|grant| grant.view_with(viewer, owners, now))
        .collect::<StoreResult<Vec<_>>>()?;
    let standing = super::standing::list(
        conn,
        viewer,
        &crate::store::StandingFilter {
            identity_id: Some(id),
            status: None,
        },
        now,
    )
    .await?;
    let usage = super::usage::signals(conn, super::usage::Of::Identity(id), now).await?;
    Ok(IdentityDetail {
        identity,
        declarations,
        live_grants,
        usage: Some(usage),
        standing,
        latest_attest_until: ownership::latest_attestation(now, max_attestation_days),
    })
}

/// Whether `user_id`'s current declaration for the identity is a takeover still awaiting
/// an admin's confirmation (and, with `wait`, younger than it).
pub(super) async fn takeover_unconfirmed(
    conn: &mut Conn,
    identity_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
    wait: Option<chrono::Duration>,
) -> StoreResult<bool> {
    let waited_since = wait.map(|w| ms(now - w));
    Ok(sqlx::query_scalar(concat!(
        "SELECT EXISTS (SELECT 1 FROM ownerships WHERE identity_id = $1 AND user_id = $2
           AND takeover_pending AND ($3 IS NULL OR declared_at > $3) AND ",
        current!(4),
        ")"
    ))
    .bind(identity_id)
    .bind(user_id)
    .bind(waited_since)
    .bind(ms(now))
    .fetch_one(&mut *conn)
    .await?)
}

#[async_trait]
impl OwnershipRows for Conn {
    async fn current_owners(
        &mut self,
        identity_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<NamedRef>> {
        Ok(current_owners(self, identity_id, now)
            .await?
            .into_iter()
            .map(|o| NamedRef::new(o.user_id, o.username))
            .collect())
    }

    async fn live_grant_count(&mut self, identity_id: i64, now: DateTime<Utc>) -> StoreResult<u32> {
        live_or_scheduled_grant_count(self, identity_id, now).await
    }

    async fn end_renewed_declarations(
        &mut self,
        identity_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<bool>> {
        Ok(sqlx::query_scalar(concat!(
            "UPDATE ownerships SET ended_at = $1, end_kind = 'renewed'
             WHERE identity_id = $2 AND user_id = $3 AND ",
            current!(1),
            " RETURNING takeover_pending"
        ))
        .bind(ms(now))
        .bind(identity_id)
        .bind(user_id)
        .fetch_all(&mut *self)
        .await?)
    }

    async fn end_stepped_down(
        &mut self,
        identity_id: i64,
        user_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(concat!(
            "UPDATE ownerships SET ended_at = $1, end_kind = 'stepped_down', end_reason = $2
             WHERE identity_id = $3 AND user_id = $4 AND ",
            current!(1)
        ))
        .bind(ms(now))
        .bind(reason)
        .bind(identity_id)
        .bind(user_id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn insert_declaration(&mut self, new: &NewDeclaration<'_>) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO ownerships (identity_id, user_id, statement, declared_at, attest_until,
                                     takeover_pending)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.identity_id)
        .bind(new.user_id)
        .bind(new.statement)
        .bind(ms(new.declared_at))
        .bind(ms(new.attest_until))
        .bind(new.takeover_pending)
        .fetch_one(&mut *self)
        .await?)
    }

    async fn declaration(
        &mut self,
        identity_id: i64,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DeclarationRecord>> {
        let row: Option<(i64, String, bool, bool)> = sqlx::query_as(concat!(
            "SELECT o.user_id, u.username, o.takeover_pending, (",
            current!(1),
            ") FROM ownerships o JOIN users u ON u.id = o.user_id
             WHERE o.id = $2 AND o.identity_id = $3"
        ))
        .bind(ms(now))
        .bind(id)
        .bind(identity_id)
        .fetch_optional(&mut *self)
        .await?;
        Ok(row.map(
            |(owner_id, owner, takeover_pending, current)| DeclarationRecord {
                owner: NamedRef::new(owner_id, owner),
                takeover_pending,
                current,
            },
        ))
    }

    async fn confirm_takeover(&mut self, id: i64, by: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE ownerships SET takeover_pending = FALSE, confirmed_by = $1, confirmed_at = $2
             WHERE id = $3",
        )
        .bind(by)
        .bind(ms(at))
        .bind(id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn due_declarations(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<DueDeclaration>> {
        let rows: Vec<(i64, i64, String, i64, String, i64)> = sqlx::query_as(concat!(
            "SELECT o.id, o.identity_id, i.name, o.user_id, u.username, o.attest_until
             FROM ownerships o JOIN users u ON u.id = o.user_id
             JOIN identities i ON i.id = o.identity_id
             WHERE o.ended_at IS NULL AND o.attest_until <= $1
             ORDER BY o.attest_until, o.id LIMIT $2",
            claim_rows!("o")
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, identity_id, identity, user_id, user, attest_until)| DueDeclaration {
                    id,
                    identity: NamedRef::new(identity_id, identity),
                    owner: NamedRef::new(user_id, user),
                    attest_until: time(attest_until),
                },
            )
            .collect())
    }

    async fn lapse_declaration(&mut self, id: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE ownerships SET ended_at = attest_until, end_kind = 'lapsed'
             WHERE id = $1 AND ended_at IS NULL",
        )
        .bind(id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}
