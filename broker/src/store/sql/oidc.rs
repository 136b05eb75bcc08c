//! Sign-ins through identity providers as rows (the use cases are `crate::service::oidc`).

use super::Conn;
use super::{ms, time};
use crate::store::StoreResult;
use crate::store::port::{OidcLink, OidcRows, StartedSignIn};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

type StartedRow = (String, i64, Option<String>);

fn started((provider, at, replaces_hash): StartedRow) -> StartedSignIn {
    StartedSignIn {
        provider,
        started_at: time(at),
        replaces_hash,
    }
}

#[async_trait]
impl OidcRows for Conn {
    async fn insert_oidc_login(
        &mut self,
        flow_hash: &str,
        started: &StartedSignIn,
        stale: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM oidc_logins WHERE started_at < $1")
            .bind(ms(stale))
            .execute(&mut *self)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_logins (flow_hash, provider, started_at, replaces_hash)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(flow_hash)
        .bind(&started.provider)
        .bind(ms(started.started_at))
        .bind(started.replaces_hash.as_deref())
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn oidc_login(&mut self, flow_hash: &str) -> StoreResult<Option<StartedSignIn>> {
        let row: Option<StartedRow> = sqlx::query_as(
            "SELECT provider, started_at, replaces_hash FROM oidc_logins WHERE flow_hash = $1",
        )
        .bind(flow_hash)
        .fetch_optional(&mut *self)
        .await?;
        Ok(row.map(started))
    }

    async fn take_oidc_login(&mut self, flow_hash: &str) -> StoreResult<Option<StartedSignIn>> {
        let row: Option<StartedRow> = sqlx::query_as(
            "DELETE FROM oidc_logins WHERE flow_hash = $1
             RETURNING provider, started_at, replaces_hash",
        )
        .bind(flow_hash)
        .fetch_optional(&mut *self)
        .await?;
        Ok(row.map(started))
    }

    async fn oidc_linked_user(
        &mut self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT user_id, provider FROM oidc_links WHERE issuer = $1 AND subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&mut *self)
        .await?)
    }

    async fn link_oidc_user(&mut self, link: &OidcLink<'_>, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_links (issuer, subject, provider, user_id, linked_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(link.issuer)
        .bind(link.subject)
        .bind(link.provider)
        .bind(link.user_id)
        .bind(ms(at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn set_oidc_provider(&mut self, user_id: i64, provider: &str) -> StoreResult<()> {
        sqlx::query("UPDATE oidc_links SET provider = $1 WHERE user_id = $2")
            .bind(provider)
            .bind(user_id)
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
