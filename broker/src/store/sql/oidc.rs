//! Sign-ins through identity providers as rows (the use cases are `crate::service::oidc`).

use super::Conn;
use super::{ms, time};
use crate::store::StoreResult;
use crate::store::port::OidcRows;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl OidcRows for Conn {
    async fn insert_oidc_login(
        &mut self,
        flow_hash: &str,
        provider: &str,
        at: DateTime<Utc>,
        stale: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM oidc_logins WHERE started_at < $1")
            .bind(ms(stale))
            .execute(&mut *self)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_logins (flow_hash, provider, started_at) VALUES ($1, $2, $3)",
        )
        .bind(flow_hash)
        .bind(provider)
        .bind(ms(at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn take_oidc_login(
        &mut self,
        flow_hash: &str,
    ) -> StoreResult<Option<(String, DateTime<Utc>)>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "DELETE FROM oidc_logins WHERE flow_hash = $1 RETURNING provider, started_at",
        )
        .bind(flow_hash)
        .fetch_optional(&mut *self)
        .await?;
        Ok(row.map(|(provider, at)| (provider, time(at))))
    }

    async fn oidc_linked_user(
        &mut self,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM oidc_links WHERE provider = $1 AND subject = $2",
        )
        .bind(provider)
        .bind(subject)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn link_oidc_user(
        &mut self,
        user_id: i64,
        provider: &str,
        subject: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_links (provider, subject, user_id, linked_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(provider)
        .bind(subject)
        .bind(user_id)
        .bind(ms(at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn oidc_provider_of(&mut self, user_id: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT provider FROM oidc_links WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&mut *self)
                .await?,
        )
    }

    async fn user_id_named(&mut self, username: &str) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&mut *self)
                .await?,
        )
    }
}
