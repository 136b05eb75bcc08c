//! Who answers for an identity: declarations, takeovers and their confirmation, stepping
//! down (lapsing is the sweeper's).

use super::to_millis;
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, NewDeclaration};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use stint_core::Role;
use stint_core::api::{DeclareBody, NamedRef, UserView};
use stint_core::ownership::{self, Declaration, DeclarationAttempt};

/// Records `actor`'s declaration of accountability: a renewal of their own, or taking
/// over an orphaned identity (which an admin then confirms).
pub async fn declare(
    db: &dyn Database,
    actor: &UserView,
    identity_id: i64,
    body: &DeclareBody,
    now: DateTime<Utc>,
    max_attestation_days: i64,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let identity = tx.identity(identity_id).await?;
    let owners = tx.current_owners(identity_id, now).await?;
    let owner_names: Vec<String> = owners.iter().map(|o| o.name.clone()).collect();
    let (kind, statement) = ownership::check_declaration(&DeclarationAttempt {
        declarer_is_owner: owners.iter().any(|o| o.id == actor.id),
        current_owners: &owner_names,
        statement: &body.statement,
        attest_until: body.attest_until,
        now,
        max_attestation_days,
    })?;
    let renewed = tx
        .end_renewed_declarations(identity_id, actor.id, now)
        .await?;
    // A renewal of an unconfirmed takeover is still unconfirmed.
    let takeover_pending = match kind {
        Declaration::TakeOver => true,
        Declaration::Renewal => renewed.iter().any(|pending| *pending),
    };
    let attest_until = to_millis(body.attest_until);
    let id = tx
        .insert_declaration(&NewDeclaration {
            identity_id,
            user_id: actor.id,
            statement: &statement,
            declared_at: now,
            attest_until,
            takeover_pending,
        })
        .await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            kind.action(),
            "identity",
            Some(identity_id),
        )
        .details(json!({
            "identity": identity.name,
            "declaration": id,
            "statement": statement,
            "attest_until": attest_until,
            "replaces": renewed.len(),
            "awaiting_confirmation": takeover_pending,
        })),
    )
    .await?;
    tx.commit().await
}

/// An admin (not the new owner) confirms a takeover of an orphaned identity.
pub async fn confirm_takeover(
    db: &dyn Database,
    actor: &UserView,
    identity_id: i64,
    declaration_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let identity = tx.identity(identity_id).await?;
    let declaration = tx
        .declaration(identity_id, declaration_id, now)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("declaration {declaration_id}")))?;
    ownership::check_takeover_confirmation(
        actor.has(Role::Admin),
        actor.id == declaration.owner.id,
        declaration.current,
        declaration.takeover_pending,
    )?;
    tx.confirm_takeover(declaration_id, actor.id, now).await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "ownership.takeover_confirmed",
            "identity",
            Some(identity_id),
        )
        .details(json!({
            "identity": identity.name,
            "declaration": declaration_id,
            "owner": declaration.owner,
        })),
    )
    .await?;
    tx.commit().await
}

/// An owner stops answering for an identity; the last owner of live access may not.
pub async fn step_down(
    db: &dyn Database,
    actor: &UserView,
    identity_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    step_down_in(&mut **tx, actor, identity_id, reason, now).await?;
    tx.commit().await
}

/// Ends the actor's declaration inside the caller's transaction (an access review's
/// decision), by the same rules as stepping down.
pub async fn step_down_in(
    tx: &mut dyn crate::store::port::Rows,
    actor: &UserView,
    identity_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let identity = tx.identity(identity_id).await?;
    let owners = tx.current_owners(identity_id, now).await?;
    let is_owner = owners.iter().any(|o| o.id == actor.id);
    let reason = ownership::check_step_down(
        is_owner,
        owners.len().saturating_sub(usize::from(is_owner)),
        tx.live_grant_count(identity_id, now).await? as usize,
        reason,
    )?;
    tx.end_stepped_down(identity_id, actor.id, &reason, now)
        .await?;
    audit::record(
        tx,
        now,
        Event::new(
            Actor::User(actor),
            "ownership.stepped_down",
            "identity",
            Some(identity_id),
        )
        .details(json!({
            "identity": identity.name,
            "reason": reason,
            "orphaned": owners.len() == 1,
        })),
    )
    .await
}

/// Records a declaration made outside Stint (demo data, an import), unchecked, as the
/// broker's doing.
pub async fn seed(
    db: &dyn Database,
    identity_id: i64,
    user: &UserView,
    statement: &str,
    attest_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let identity = tx.identity(identity_id).await?;
    let id = tx
        .insert_declaration(&NewDeclaration {
            identity_id,
            user_id: user.id,
            statement,
            declared_at: now,
            attest_until,
            takeover_pending: false,
        })
        .await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::Broker,
            "ownership.seeded",
            "identity",
            Some(identity_id),
        )
        .details(json!({
            "identity": identity.name,
            "declaration": id,
            "owner": NamedRef::new(user.id, user.username.clone()),
            "statement": statement,
            "attest_until": attest_until,
        })),
    )
    .await?;
    tx.commit().await
}
