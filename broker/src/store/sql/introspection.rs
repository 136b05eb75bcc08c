//! Token introspection (RFC 7662): what a resource server or a person learns of a token.
//! A caller learns a token's claims only while its grant is live and the token is theirs
//! to know about; otherwise only that it is inactive — not even that it exists (§4).

use super::{Conn, can_see_request, ms};
use crate::store::{Introspected, IntrospectionCaller, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use stint_core::GrantState;
use stint_core::api::{IntrospectView, UserView};

/// What introspection reads of a token: the columns of `token_tables!`.
macro_rules! token_columns {
    () => {
        "c.jti, c.grant_id, g.request_id, g.state, g.expires_at, i.name AS identity, res.name AS resource,
         g.privilege"
    };
}

/// A credential (`c`), its grant (`g`), identity (`i`) and resource (`res`).
macro_rules! token_tables {
    () => {
        "credentials c
         JOIN grants g ON g.id = c.grant_id
         JOIN identities i ON i.id = g.identity_id
         JOIN resources res ON res.id = g.resource_id"
    };
}

/// For a signed-in person: the grants they may see.
pub(super) async fn for_person(
    conn: &mut Conn,
    viewer: &UserView,
    token_hash: &str,
    now: DateTime<Utc>,
    issuer: &str,
) -> StoreResult<IntrospectView> {
    let row: Option<TokenRow> = sqlx::query_as(concat!(
        "SELECT ",
        token_columns!(),
        " FROM ",
        token_tables!(),
        " WHERE c.token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(token) = row else {
        return Ok(IntrospectView::inactive());
    };
    let theirs = can_see_request(conn, viewer, token.request_id).await?;
    Ok(token.view(theirs, now, issuer))
}

/// The resource server whose introspection secret hashes to `$1` and, if it is found, the
/// token hashing to `$2`: the caller and the token in one query.
const RESOURCE_AND_TOKEN: &str = concat!(
    "SELECT caller.id AS caller_id, caller.name AS caller_name, ",
    token_columns!(),
    // `token_tables!` joined to the caller one LEFT JOIN at a time, not as a subquery:
    // SQLite materialises a joined subquery into a temporary table on every call. A token
    // not found, or not whole, leaves a column null and reads as inactive, as before.
    " FROM resources caller
     LEFT JOIN credentials c ON c.token_hash = $2
     LEFT JOIN grants g ON g.id = c.grant_id
     LEFT JOIN identities i ON i.id = g.identity_id
     LEFT JOIN resources res ON res.id = g.resource_id
     WHERE caller.introspection_secret_hash = $1"
);

/// For the resource server whose secret hashes to `secret_hash`: tokens for itself.
/// `None` when no resource has that secret.
pub(super) async fn for_resource(
    conn: &mut Conn,
    secret_hash: &str,
    token_hash: &str,
    now: DateTime<Utc>,
    issuer: &str,
) -> StoreResult<Option<Introspected>> {
    let row: Option<ResourceCallerRow> = sqlx::query_as(RESOURCE_AND_TOKEN)
        .bind(secret_hash)
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|row| row.introspected(now, issuer)))
}

/// `for_resource` on one of SQLite's inline readers (`sqlite/inline_reads.rs`): the same
/// statement, run on the calling thread.
pub(super) fn for_resource_inline(
    conn: &rusqlite::Connection,
    secret_hash: &str,
    token_hash: &str,
    now: DateTime<Utc>,
    issuer: &str,
) -> rusqlite::Result<Option<Introspected>> {
    use rusqlite::OptionalExtension;
    let row = conn
        .prepare_cached(RESOURCE_AND_TOKEN)?
        .query_row(
            rusqlite::named_params! { "$1": secret_hash, "$2": token_hash },
            ResourceCallerRow::from_sqlite,
        )
        .optional()?;
    Ok(row.map(|row| row.introspected(now, issuer)))
}

/// An issued credential, as introspection sees it.
#[derive(FromRow)]
struct TokenRow {
    jti: String,
    grant_id: i64,
    request_id: i64,
    state: String,
    expires_at: i64,
    identity: String,
    resource: String,
    privilege: String,
}

impl TokenRow {
    /// The token's claims if its grant is live at `now` and the caller may know of it
    /// (`theirs`); otherwise only that it is inactive.
    fn view(self, theirs: bool, now: DateTime<Utc>, issuer: &str) -> IntrospectView {
        // Checked against the clock, not only the state: a grant is dead at its expiry even
        // if the sweeper has not run yet.
        let active = self.state == GrantState::Active.as_str() && ms(now) < self.expires_at;
        if !active || !theirs {
            return IntrospectView::inactive();
        }
        IntrospectView {
            active: true,
            iss: Some(issuer.to_string()),
            sub: Some(self.identity),
            aud: Some(self.resource),
            scope: Some(self.privilege),
            exp: Some(self.expires_at / 1000),
            jti: Some(self.jti),
        }
    }
}

/// A resource server and, if the token was found, its `TokenRow` columns (all set or all
/// null).
#[derive(FromRow)]
struct ResourceCallerRow {
    caller_id: i64,
    caller_name: String,
    jti: Option<String>,
    grant_id: Option<i64>,
    request_id: Option<i64>,
    state: Option<String>,
    expires_at: Option<i64>,
    identity: Option<String>,
    resource: Option<String>,
    privilege: Option<String>,
}

impl ResourceCallerRow {
    /// What the caller learns, and the grant it used if the token is a live one of its own.
    fn introspected(mut self, now: DateTime<Utc>, issuer: &str) -> Introspected {
        let (view, used) = match self.take_token() {
            Some(token) => {
                let theirs = token.resource == self.caller_name;
                let grant_id = token.grant_id;
                let view = token.view(theirs, now, issuer);
                let used = view.active.then_some(grant_id);
                (view, used)
            }
            None => (IntrospectView::inactive(), None),
        };
        let caller = IntrospectionCaller::Resource {
            id: self.caller_id,
            name: self.caller_name,
        };
        Introspected { caller, view, used }
    }

    fn take_token(&mut self) -> Option<TokenRow> {
        Some(TokenRow {
            jti: self.jti.take()?,
            grant_id: self.grant_id?,
            request_id: self.request_id?,
            state: self.state.take()?,
            expires_at: self.expires_at?,
            identity: self.identity.take()?,
            resource: self.resource.take()?,
            privilege: self.privilege.take()?,
        })
    }

    /// The row as rusqlite reads it, by the same column names sqlx's `FromRow` uses.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<ResourceCallerRow> {
        Ok(ResourceCallerRow {
            caller_id: row.get("caller_id")?,
            caller_name: row.get("caller_name")?,
            jti: row.get("jti")?,
            grant_id: row.get("grant_id")?,
            request_id: row.get("request_id")?,
            state: row.get("state")?,
            expires_at: row.get("expires_at")?,
            identity: row.get("identity")?,
            resource: row.get("resource")?,
            privilege: row.get("privilege")?,
        })
    }
}
