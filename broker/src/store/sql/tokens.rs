//! Identities' principals and API tokens as rows (the use cases are
//! `crate::service::tokens`).

use super::Conn;
use super::{ms, time};
use crate::store::StoreResult;
use crate::store::port::{NewIdentityToken, TokenCaller, TokenRows};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use stint_core::api::{IdentityTokenView, NamedRef, UserView};

#[derive(FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    created_by: i64,
    created_by_name: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
    revoked_by: Option<i64>,
    revoked_by_name: Option<String>,
}

impl TokenRow {
    fn view(self) -> IdentityTokenView {
        IdentityTokenView {
            id: self.id,
            name: self.name,
            created_by: NamedRef::new(self.created_by, self.created_by_name),
            created_at: time(self.created_at),
            expires_at: time(self.expires_at),
            last_used_at: self.last_used_at.map(time),
            revoked_at: self.revoked_at.map(time),
            revoked_by: self
                .revoked_by
                .zip(self.revoked_by_name)
                .map(|(id, name)| NamedRef::new(id, name)),
        }
    }
}

#[derive(FromRow)]
struct CallerRow {
    token_id: Option<i64>,
    /// `token NAME` or `issuer NAME`.
    via: String,
    /// Who minted the token or registered the issuer.
    vouched_by: i64,
    last_used_at: Option<i64>,
    user_id: i64,
    username: String,
    display_name: String,
    identity_id: i64,
}

#[async_trait]
impl TokenRows for Conn {
    async fn identity_principal(
        &mut self,
        identity: &NamedRef,
        at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE identity_id = $1")
                .bind(identity.id)
                .fetch_optional(&mut *self)
                .await?;
        if let Some(id) = existing {
            return Ok(id);
        }
        // No password hash parses as one (so none verifies), and no role.
        Ok(sqlx::query_scalar(
            "INSERT INTO users (username, display_name, password_hash, roles, created_at,
                                identity_id)
             VALUES ($1, $2, '!', '', $3, $4) RETURNING id",
        )
        .bind(format!("identity:{}", identity.name))
        .bind(&identity.name)
        .bind(ms(at))
        .bind(identity.id)
        .fetch_one(&mut *self)
        .await?)
    }

    async fn insert_identity_token(&mut self, t: &NewIdentityToken<'_>) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO identity_tokens (identity_id, name, token_hash, created_by, created_at,
                                          expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(t.identity_id)
        .bind(t.name)
        .bind(t.token_hash)
        .bind(t.created_by)
        .bind(ms(t.created_at))
        .bind(ms(t.expires_at))
        .fetch_one(&mut *self)
        .await?)
    }

    async fn identity_tokens(&mut self, identity_id: i64) -> StoreResult<Vec<IdentityTokenView>> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT t.id, t.name, t.created_by, c.display_name AS created_by_name, t.created_at,
                    t.expires_at, t.last_used_at, t.revoked_at, t.revoked_by,
                    r.display_name AS revoked_by_name
             FROM identity_tokens t
             JOIN users c ON c.id = t.created_by
             LEFT JOIN users r ON r.id = t.revoked_by
             WHERE t.identity_id = $1
             ORDER BY t.revoked_at IS NOT NULL, t.id DESC",
        )
        .bind(identity_id)
        .fetch_all(&mut *self)
        .await?;
        Ok(rows.into_iter().map(TokenRow::view).collect())
    }

    async fn revoke_identity_token(
        &mut self,
        identity_id: i64,
        token_id: i64,
        by: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "UPDATE identity_tokens SET revoked_at = $1, revoked_by = $2
             WHERE id = $3 AND identity_id = $4 AND revoked_at IS NULL
             RETURNING name",
        )
        .bind(ms(at))
        .bind(by)
        .bind(token_id)
        .bind(identity_id)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn token_caller(
        &mut self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<TokenCaller>> {
        // An owner's API token, or an access token an exchange handed out.
        let row: Option<CallerRow> = sqlx::query_as(
            "SELECT t.token_id, t.last_used_at, t.via, t.vouched_by, u.id AS user_id,
                    u.username, u.display_name, t.identity_id
             FROM (SELECT id AS token_id, last_used_at, 'token ' || name AS via,
                          created_by AS vouched_by, identity_id
                   FROM identity_tokens
                   WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2
                   UNION ALL
                   SELECT NULL, NULL, 'issuer ' || f.name, f.created_by, x.identity_id
                   FROM exchanged_tokens x JOIN federation_issuers f ON f.id = x.issuer_id
                   WHERE x.token_hash = $1 AND x.expires_at > $2) t
             JOIN users u ON u.identity_id = t.identity_id
             WHERE NOT u.disabled
               AND EXISTS (SELECT 1 FROM ownerships o WHERE o.identity_id = t.identity_id
                           AND o.ended_at IS NULL AND o.attest_until > $2)",
        )
        .bind(token_hash)
        .bind(ms(now))
        .fetch_optional(&mut *self)
        .await?;
        Ok(row.map(|row| TokenCaller {
            token_id: row.token_id,
            last_used_at: row.last_used_at.map(time),
            principal: UserView {
                id: row.user_id,
                username: row.username,
                display_name: row.display_name,
                roles: Vec::new(),
                identity_id: Some(row.identity_id),
                via: Some(row.via),
                vouched_by: Some(row.vouched_by),
            },
        }))
    }

    async fn touch_identity_token(&mut self, token_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE identity_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(ms(at))
            .bind(token_id)
            .execute(&mut *self)
            .await?;
        Ok(())
    }
}
