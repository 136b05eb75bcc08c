//! Identities' API tokens: minted by an owner or an admin and shown once, listed without
//! their secrets, revoked at once; and the identity a Bearer token lets in.

use crate::credential::{random_bytes, token_hash};
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, NewIdentityToken};
use crate::store::{StoreError, StoreResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stint_core::RuleError;
use stint_core::api::{IdentityTokenView, IssuedIdentityToken, NewIdentityTokenBody, UserView};
use stint_core::machine::{self, TOKEN_PREFIX};

/// Record a token's use at most this often: each use should not be a write.
const TOUCH_EVERY_SECS: i64 = 60;

/// Mints a token for an identity; the only time its secret exists outside the caller.
pub async fn mint(
    db: &dyn Database,
    actor: &UserView,
    identity_id: i64,
    body: &NewIdentityTokenBody,
    now: DateTime<Utc>,
) -> StoreResult<IssuedIdentityToken> {
    let mut tx = db.write().await?;
    let identity = tx.identity(identity_id).await?;
    let owner = tx.is_current_owner(identity_id, actor.id, now).await?;
    if !machine::may_manage_tokens(owner, &actor.roles) {
        return Err(RuleError::Forbidden(
            "only an owner of this identity or an admin may mint its tokens".into(),
        )
        .into());
    }
    let name = machine::check_new_token(&body.name, body.expires_in_secs)?;
    let token = format!(
        "{TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    );
    let expires_at = super::to_millis(now + Duration::seconds(body.expires_in_secs));
    tx.identity_principal(&identity, now).await?;
    let id = tx
        .insert_identity_token(&NewIdentityToken {
            identity_id,
            name: &name,
            token_hash: &token_hash(&token),
            created_by: actor.id,
            created_at: now,
            expires_at,
        })
        .await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "identity.token_minted",
            "identity",
            Some(identity_id),
        )
        .details(json!({
            "identity": identity.name,
            "token_id": id,
            "name": name,
            "expires_at": expires_at,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedIdentityToken {
        id,
        name,
        token,
        expires_at,
    })
}

/// An identity's tokens, for its owners, admins and auditors.
pub async fn list(
    db: &dyn Database,
    viewer: &UserView,
    identity_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<Vec<IdentityTokenView>> {
    let mut tx = db.read().await?;
    tx.identity(identity_id).await?;
    let owner = tx.is_current_owner(identity_id, viewer.id, now).await?;
    if !machine::may_see_tokens(owner, &viewer.roles) {
        return Err(RuleError::Forbidden(
            "only this identity's owners, admins and auditors see its tokens".into(),
        )
        .into());
    }
    tx.identity_tokens(identity_id).await
}

/// Revokes a token at once: the next call with it is refused.
pub async fn revoke(
    db: &dyn Database,
    actor: &UserView,
    identity_id: i64,
    token_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let identity = tx.identity(identity_id).await?;
    let owner = tx.is_current_owner(identity_id, actor.id, now).await?;
    if !machine::may_manage_tokens(owner, &actor.roles) {
        return Err(RuleError::Forbidden(
            "only an owner of this identity or an admin may revoke its tokens".into(),
        )
        .into());
    }
    let name = tx
        .revoke_identity_token(identity_id, token_id, actor.id, now)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("live token {token_id} of this identity")))?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "identity.token_revoked",
            "identity",
            Some(identity_id),
        )
        .details(json!({ "identity": identity.name, "token_id": token_id, "name": name })),
    )
    .await?;
    tx.commit().await
}

/// The identity a Bearer token lets in right now, acting as its principal; records the
/// token's use now and then.
pub async fn caller(
    db: &dyn Database,
    token: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<UserView>> {
    // API tokens and exchanged access tokens alike start with it.
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let mut read = db.lookup().await?;
    let Some(caller) = read.token_caller(&token_hash(token), now).await? else {
        return Ok(None);
    };
    drop(read);
    let stale = caller
        .last_used_at
        .is_none_or(|at| (now - at).num_seconds() >= TOUCH_EVERY_SECS);
    if let Some(token_id) = caller.token_id.filter(|_| stale) {
        let mut tx = db.write().await?;
        tx.touch_identity_token(token_id, now).await?;
        tx.commit().await?;
    }
    Ok(Some(caller.principal))
}
