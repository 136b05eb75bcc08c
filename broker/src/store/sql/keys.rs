//! Signing keys: public halves and sealed private halves, never a private key in
//! the clear (see `crate::keys`).

use super::Conn;
use super::{ms, time};
use crate::store::port::KeyRows;
use crate::store::{NewSigningKey, StoreResult, StoredKey};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    public_key: Vec<u8>,
    sealed_private_key: Vec<u8>,
    created_at: i64,
    retired_at: Option<i64>,
    published: bool,
}

pub(super) async fn signing_keys(
    conn: &mut Conn,
    now: DateTime<Utc>,
) -> StoreResult<Vec<StoredKey>> {
    let rows: Vec<KeyRow> = sqlx::query_as(
        "SELECT k.kid, k.public_key, k.sealed_private_key, k.created_at, k.retired_at,
                k.retired_at IS NULL OR EXISTS (
                  SELECT 1 FROM credentials c WHERE c.kid = k.kid AND c.expires_at > $1)
                AS published
         FROM signing_keys k ORDER BY k.created_at DESC, k.kid",
    )
    .bind(ms(now))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|k| StoredKey {
            kid: k.kid,
            public_key: k.public_key,
            sealed_private_key: k.sealed_private_key,
            created_at: time(k.created_at),
            retired_at: k.retired_at.map(time),
            published: k.published,
        })
        .collect())
}

#[async_trait]
impl KeyRows for Conn {
    async fn any_signing_key(&mut self) -> StoreResult<bool> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM signing_keys)")
                .fetch_one(&mut *self)
                .await?,
        )
    }

    async fn retire_signing_keys(&mut self, at: DateTime<Utc>) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL RETURNING kid",
        )
        .bind(ms(at))
        .fetch_all(&mut *self)
        .await?)
    }

    async fn insert_signing_key(
        &mut self,
        key: &NewSigningKey<'_>,
        created_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        insert(self, key, ms(created_at)).await
    }
}

async fn insert(conn: &mut Conn, key: &NewSigningKey<'_>, created_at_ms: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, public_key, sealed_private_key, created_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(key.kid)
    .bind(key.public_key)
    .bind(key.sealed_private_key)
    .bind(created_at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
