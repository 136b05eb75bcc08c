//! Trusted workload-token issuers, their rules and exchanged access tokens as rows (the use
//! cases are `crate::service::federation`).

use super::Conn;
use super::admin::taken;
use super::{ms, time};
use crate::store::port::{FederationRows, FederationRule, IssuerRecord, NewIssuer};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use std::collections::{BTreeMap, HashMap};
use stint_core::RuleError;
use stint_core::api::NamedRef;
use stint_core::federation::{IdentityRuleView, IssuerView, RuleView};

#[derive(FromRow)]
struct IssuerRow {
    id: i64,
    name: String,
    issuer: String,
    audience: String,
    jwks_url: Option<String>,
    jwks: Option<String>,
    created_by: i64,
    created_by_name: String,
    created_at: i64,
}

#[derive(FromRow)]
struct RuleRow {
    issuer_id: i64,
    claims: String,
    identity_id: i64,
    identity_name: String,
}

impl RuleRow {
    fn rule(self) -> StoreResult<(i64, FederationRule)> {
        let claims: BTreeMap<String, String> = serde_json::from_str(&self.claims)
            .map_err(|e| StoreError::Corrupt(format!("federation rule claims: {e}")))?;
        let identity = NamedRef::new(self.identity_id, self.identity_name);
        Ok((self.issuer_id, FederationRule { claims, identity }))
    }
}

/// The rules of `issuers`, in the order they were registered, by issuer.
async fn rules_of(
    conn: &mut Conn,
    issuers: &[i64],
) -> StoreResult<HashMap<i64, Vec<FederationRule>>> {
    let rows: Vec<RuleRow> = sqlx::query_as(concat!(
        "SELECT r.issuer_id, r.claims, r.identity_id, i.name AS identity_name
         FROM federation_rules r JOIN identities i ON i.id = r.identity_id
         WHERE r.issuer_id IN ",
        ids_in!(1),
        " ORDER BY r.id"
    ))
    .bind(super::id_list(issuers.iter().copied()))
    .fetch_all(&mut *conn)
    .await?;
    let mut rules: HashMap<i64, Vec<FederationRule>> = HashMap::new();
    for row in rows {
        let (issuer, rule) = row.rule()?;
        rules.entry(issuer).or_default().push(rule);
    }
    Ok(rules)
}

macro_rules! issuer_select {
    () => {
        "SELECT f.id, f.name, f.issuer, f.audience, f.jwks_url, f.jwks, f.created_by,
                u.display_name AS created_by_name, f.created_at
         FROM federation_issuers f JOIN users u ON u.id = f.created_by"
    };
}

#[async_trait]
impl FederationRows for Conn {
    async fn insert_issuer(&mut self, new: &NewIssuer<'_>) -> StoreResult<i64> {
        let clash: Option<(String, String)> = sqlx::query_as(
            "SELECT name, issuer FROM federation_issuers WHERE name = $1 OR issuer = $2",
        )
        .bind(new.name)
        .bind(new.issuer)
        .fetch_optional(&mut *self)
        .await?;
        if let Some((name, _)) = clash {
            let (field, value) = if name == new.name {
                ("name", new.name)
            } else {
                ("issuer", new.issuer)
            };
            return Err(
                RuleError::invalid(field, format!("`{value}` is already registered")).into(),
            );
        }
        sqlx::query_scalar(
            "INSERT INTO federation_issuers (name, issuer, audience, jwks_url, jwks, created_by,
                                             created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(new.name)
        .bind(new.issuer)
        .bind(new.audience)
        .bind(new.jwks_url)
        .bind(new.jwks)
        .bind(new.created_by)
        .bind(ms(new.created_at))
        .fetch_one(&mut *self)
        .await
        .map_err(|e| taken(e, "name", new.name))
    }

    async fn insert_federation_rule(
        &mut self,
        issuer_id: i64,
        claims: &BTreeMap<String, String>,
        identity_id: i64,
    ) -> StoreResult<()> {
        let claims = serde_json::to_string(claims)
            .map_err(|e| StoreError::Corrupt(format!("federation rule claims: {e}")))?;
        sqlx::query(
            "INSERT INTO federation_rules (issuer_id, claims, identity_id) VALUES ($1, $2, $3)",
        )
        .bind(issuer_id)
        .bind(claims)
        .bind(identity_id)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn issuer_by_iss(&mut self, iss: &str) -> StoreResult<Option<IssuerRecord>> {
        let row: Option<IssuerRow> =
            sqlx::query_as(concat!(issuer_select!(), " WHERE f.issuer = $1"))
                .bind(iss)
                .fetch_optional(&mut *self)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let rules = rules_of(self, &[row.id])
            .await?
            .remove(&row.id)
            .unwrap_or_default();
        Ok(Some(IssuerRecord {
            id: row.id,
            name: row.name,
            created_by: row.created_by,
            issuer: row.issuer,
            audience: row.audience,
            jwks_url: row.jwks_url,
            jwks: row.jwks,
            rules,
        }))
    }

    async fn issuers(&mut self) -> StoreResult<Vec<IssuerView>> {
        let rows: Vec<IssuerRow> = sqlx::query_as(concat!(issuer_select!(), " ORDER BY f.name"))
            .fetch_all(&mut *self)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut rules = rules_of(self, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|row| IssuerView {
                rules: rules
                    .remove(&row.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| RuleView {
                        claims: r.claims,
                        identity: r.identity,
                    })
                    .collect(),
                id: row.id,
                name: row.name,
                issuer: row.issuer,
                audience: row.audience,
                inline_jwks: row.jwks.is_some(),
                jwks_url: row.jwks_url,
                created_by: NamedRef::new(row.created_by, row.created_by_name),
                created_at: time(row.created_at),
            })
            .collect())
    }

    async fn identity_rules(&mut self, identity_id: i64) -> StoreResult<Vec<IdentityRuleView>> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT f.id, f.name, f.issuer, r.claims
             FROM federation_rules r JOIN federation_issuers f ON f.id = r.issuer_id
             WHERE r.identity_id = $1 ORDER BY f.name, r.id",
        )
        .bind(identity_id)
        .fetch_all(&mut *self)
        .await?;
        rows.into_iter()
            .map(|(id, name, issuer_url, claims)| {
                Ok(IdentityRuleView {
                    issuer: NamedRef::new(id, name),
                    issuer_url,
                    claims: serde_json::from_str(&claims)
                        .map_err(|e| StoreError::Corrupt(format!("federation rule claims: {e}")))?,
                })
            })
            .collect()
    }

    async fn insert_exchanged_token(
        &mut self,
        token_hash: &str,
        identity_id: i64,
        issuer_id: i64,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        // Expired ones are working state the trail already tells (each exchange's event).
        sqlx::query("DELETE FROM exchanged_tokens WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(&mut *self)
            .await?;
        sqlx::query(
            "INSERT INTO exchanged_tokens (token_hash, identity_id, issuer_id, created_at,
                                           expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(identity_id)
        .bind(issuer_id)
        .bind(ms(now))
        .bind(ms(expires_at))
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}
