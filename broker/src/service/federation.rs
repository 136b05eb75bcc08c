//! Workload federation: admins register the issuers whose tokens workloads may exchange;
//! an exchange of a verified token maps it by exactly one rule to an identity and hands out
//! a short access token; refusals of a registered issuer's tokens are recorded.

use super::to_millis;
use crate::credential::{random_bytes, token_hash};
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, IssuerRecord, NewIssuer};
use crate::store::{StoreError, StoreResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use stint_core::api::UserView;
use stint_core::federation::{
    self, ACCESS_TOKEN_TYPE, ExchangedToken, IdentityRuleView, IssuerBody, IssuerView, Refusal,
};
use stint_core::machine::{self, TOKEN_PREFIX};
use stint_core::{Role, RuleError, visibility};

/// Registers a trusted issuer with its rules (admins only).
pub async fn register(
    db: &dyn Database,
    actor: &UserView,
    body: &IssuerBody,
    now: DateTime<Utc>,
) -> StoreResult<IssuerView> {
    if !actor.has(Role::Admin) {
        return Err(RuleError::Forbidden("only admins register trusted issuers".into()).into());
    }
    let body = federation::check_issuer(body)?;
    let mut tx = db.write().await?;
    let mut identities = Vec::with_capacity(body.rules.len());
    for rule in &body.rules {
        let identity = tx.identity(rule.identity_id).await.map_err(|e| match e {
            StoreError::NotFound(_) => RuleError::invalid(
                "rules.identity_id",
                format!("there is no identity {}", rule.identity_id),
            )
            .into(),
            other => other,
        })?;
        identities.push(identity);
    }
    let jwks = body.jwks.as_ref().map(|j| j.to_string());
    let id = tx
        .insert_issuer(&NewIssuer {
            name: &body.name,
            issuer: &body.issuer,
            audience: &body.audience,
            jwks_url: body.jwks_url.as_deref(),
            jwks: jwks.as_deref(),
            created_by: actor.id,
            created_at: now,
        })
        .await?;
    for rule in &body.rules {
        tx.insert_federation_rule(id, &rule.claims, rule.identity_id)
            .await?;
    }
    let rules: Vec<_> = body
        .rules
        .iter()
        .zip(&identities)
        .map(|(rule, identity)| json!({ "claims": rule.claims, "identity": identity.name }))
        .collect();
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "federation.issuer_registered",
            "federation_issuer",
            Some(id),
        )
        .details(json!({
            "name": body.name,
            "issuer": body.issuer,
            "audience": body.audience,
            "jwks_url": body.jwks_url,
            "rules": rules,
        })),
    )
    .await?;
    let view = tx
        .issuers()
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| StoreError::NotFound(format!("issuer {id}")))?;
    tx.commit().await?;
    Ok(view)
}

/// The registered issuers, for admins and auditors.
pub async fn issuers(db: &dyn Database, viewer: &UserView) -> StoreResult<Vec<IssuerView>> {
    if !viewer.has_any(visibility::READS_EVERYTHING) {
        return Err(RuleError::Forbidden(
            "only admins and auditors see the trusted issuers".into(),
        )
        .into());
    }
    db.read().await?.issuers().await
}

/// The rules that let a platform's jobs act as an identity: for those who see its tokens
/// (its owners, admins, auditors), since either lets a machine in.
pub async fn identity_rules(
    db: &dyn Database,
    viewer: &UserView,
    identity_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<Vec<IdentityRuleView>> {
    let mut tx = db.read().await?;
    tx.identity(identity_id).await?;
    let owner = tx.is_current_owner(identity_id, viewer.id, now).await?;
    if !machine::may_see_tokens(owner, &viewer.roles) {
        return Err(RuleError::Forbidden(
            "only this identity's owners, admins and auditors see what lets machines in as it"
                .into(),
        )
        .into());
    }
    tx.identity_rules(identity_id).await
}

/// The issuer registered for a token's `iss` (two statements: a read transaction).
pub async fn issuer(db: &dyn Database, iss: &str) -> StoreResult<Option<IssuerRecord>> {
    db.read().await?.issuer_by_iss(iss).await
}

/// Exchanges a token `issuer` signed, whose `claims` were verified, for an access token of
/// `lifetime_secs`: exactly one rule must match and its identity must be owned. A refusal
/// is recorded and returned, not an error.
pub async fn exchange(
    db: &dyn Database,
    issuer: &IssuerRecord,
    claims: &BTreeMap<String, String>,
    lifetime_secs: i64,
    now: DateTime<Utc>,
) -> StoreResult<Result<ExchangedToken, Refusal>> {
    let mut tx = db.write().await?;
    let patterns: Vec<_> = issuer.rules.iter().map(|r| r.claims.clone()).collect();
    let rule = match federation::matching_rule(&patterns, claims) {
        Ok(index) => &issuer.rules[index],
        Err(refusal) => {
            refuse(&mut **tx, issuer, &refusal, claims.get("sub"), now).await?;
            tx.commit().await?;
            return Ok(Err(refusal));
        }
    };
    if !tx.has_owner(rule.identity.id, now).await? {
        let refusal = Refusal::IdentityOrphaned;
        refuse(&mut **tx, issuer, &refusal, claims.get("sub"), now).await?;
        tx.commit().await?;
        return Ok(Err(refusal));
    }
    let principal = UserView {
        id: tx.identity_principal(&rule.identity, now).await?,
        username: format!("identity:{}", rule.identity.name),
        display_name: rule.identity.name.clone(),
        roles: Vec::new(),
        identity_id: Some(rule.identity.id),
        via: Some(format!("issuer {}", issuer.name)),
        vouched_by: Some(issuer.created_by),
    };
    let token = format!(
        "{TOKEN_PREFIX}at_{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    );
    let expires_at = to_millis(now + Duration::seconds(lifetime_secs));
    tx.insert_exchanged_token(
        &token_hash(&token),
        rule.identity.id,
        issuer.id,
        now,
        expires_at,
    )
    .await?;
    // What the rule looked at, as the token said it.
    let matched: BTreeMap<&str, &str> = rule
        .claims
        .keys()
        .filter_map(|claim| Some((claim.as_str(), claims.get(claim)?.as_str())))
        .collect();
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(&principal),
            "federation.exchanged",
            "identity",
            Some(rule.identity.id),
        )
        .details(json!({
            "issuer": issuer.name,
            "claims": matched,
            "sub": claims.get("sub"),
            "expires_at": expires_at,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(ExchangedToken {
        access_token: token,
        issued_token_type: ACCESS_TOKEN_TYPE.into(),
        token_type: "Bearer".into(),
        expires_in: lifetime_secs,
    }))
}

/// Records that a token naming a registered issuer was refused, and why. The subject is
/// recorded only from a token whose signature verified.
pub async fn record_refusal(
    db: &dyn Database,
    issuer: &IssuerRecord,
    refusal: &Refusal,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    refuse(&mut **tx, issuer, refusal, None, now).await?;
    tx.commit().await
}

async fn refuse(
    rows: &mut dyn crate::store::port::Rows,
    issuer: &IssuerRecord,
    refusal: &Refusal,
    subject: Option<&String>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let subject: Option<String> = subject.map(|s| s.chars().take(200).collect());
    audit::record(
        rows,
        now,
        Event::new(
            Actor::Anonymous(""),
            "federation.refused",
            "federation_issuer",
            Some(issuer.id),
        )
        .details(json!({
            "issuer": issuer.name,
            "reason": refusal.code(),
            "message": refusal.message(),
            "sub": subject,
        })),
    )
    .await
}
