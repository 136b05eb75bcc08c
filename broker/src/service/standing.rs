//! Standing credentials: recorded by hand, triaged, mapped by rules (importing a scanner's
//! report is still `store/sqlite/import.rs`).

use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, StandingMapping};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use stint_core::api::UserView;
use stint_core::standing::{
    self, MappingRuleBody, NewStandingBody, SecretSource, StandingStatus, TriageActor, TriageBody,
};
use stint_core::{Role, RuleError, rules};

/// A privilege named for a resource must be one of its privileges (none named: not known).
fn check_privilege(privilege: Option<&str>, privileges: &[String]) -> Result<(), RuleError> {
    privilege.map_or(Ok(()), |p| rules::check_privilege(privileges, p))
}

/// Records a standing credential by hand: an admin's, or an owner's for their identity.
pub async fn record(
    db: &dyn Database,
    actor: &UserView,
    body: &NewStandingBody,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let body = standing::check_new_standing(body)?;
    let mut tx = db.write().await?;
    let target = tx
        .request_target(body.identity_id, body.resource_id, now)
        .await?;
    if !actor.has(Role::Admin) && !target.owned_by(actor.id) {
        return Err(RuleError::Forbidden(format!(
            "only admins and the owners of {} record its standing credentials",
            target.identity.name
        ))
        .into());
    }
    check_privilege(body.privilege.as_deref(), &target.resource.privileges)?;
    if let Some(owner) = body.owner_id
        && !tx.user_exists(owner).await?
    {
        return Err(RuleError::invalid("owner_id", format!("no user has id {owner}")).into());
    }
    // Somebody answers for every hand-made record: whoever made it, unless they named another.
    let owner = body.owner_id.unwrap_or(actor.id);
    let id = tx
        .insert_manual_standing(&body, owner, actor.id, now)
        .await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "standing.recorded",
            "standing_credential",
            Some(id),
        )
        .details(json!({
            "location": body.location,
            "secret_type": body.secret_type,
            "identity": target.identity.name,
            "resource": target.resource.name,
            "privilege": body.privilege,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Maps a finding, or resolves it as a false positive or rotated.
pub async fn triage(
    db: &dyn Database,
    actor: &UserView,
    id: i64,
    body: &TriageBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    triage_in(&mut **tx, actor, id, body, now).await?;
    tx.commit().await
}

/// Triages a finding inside the caller's transaction (an access review's decision).
pub async fn triage_in(
    tx: &mut dyn crate::store::port::Rows,
    actor: &UserView,
    id: i64,
    body: &TriageBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let finding = tx
        .visible_standing(actor, id, now)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("standing credential {id}")))?;
    let owns_target_identity = match body {
        TriageBody::Map { identity_id, .. } => {
            tx.is_current_owner(*identity_id, actor.id, now).await?
        }
        _ => false,
    };
    let (next, reason) = standing::decide_triage(
        finding.status,
        body,
        TriageActor {
            admin: actor.has(Role::Admin),
            owns_current_identity: finding.viewer_owns,
            owns_target_identity,
            mapped_it: finding.viewer_mapped,
        },
    )?;
    let mut details = json!({
        "tool": finding.tool,
        "source": finding.source,
        "location": finding.location,
    });
    let action = match body {
        TriageBody::Map {
            identity_id,
            resource_id,
            privilege,
        } => {
            let target = tx.request_target(*identity_id, *resource_id, now).await?;
            let privilege = rules::optional_text("privilege", privilege.as_deref())?;
            check_privilege(privilege.as_deref(), &target.resource.privileges)?;
            tx.map_standing(
                id,
                finding.status,
                &StandingMapping {
                    next,
                    identity_id: *identity_id,
                    resource_id: *resource_id,
                    privilege: privilege.as_deref(),
                    by: actor.id,
                    at: now,
                },
            )
            .await?;
            details["identity"] = json!(target.identity.name);
            details["resource"] = json!(target.resource.name);
            details["privilege"] = json!(privilege);
            "standing.mapped"
        }
        TriageBody::FalsePositive { .. } | TriageBody::Rotated { .. } => {
            tx.resolve_standing(id, finding.status, next, reason.as_deref(), actor.id, now)
                .await?;
            details["reason"] = json!(reason);
            if next == StandingStatus::Rotated {
                "standing.rotated"
            } else {
                "standing.false_positive"
            }
        }
    };
    audit::record(
        tx,
        now,
        Event::new(Actor::User(actor), action, "standing_credential", Some(id)).details(details),
    )
    .await
}

/// A rule that maps imported findings as they arrive.
pub async fn create_rule(
    db: &dyn Database,
    actor: &UserView,
    body: &MappingRuleBody,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let body = standing::check_mapping_rule(body)?;
    if let Err(e) = glob::Pattern::new(&body.path_pattern) {
        return Err(RuleError::invalid("path_pattern", format!("not a glob pattern: {e}")).into());
    }
    if body.tool == Some(SecretSource::Manual) {
        return Err(RuleError::invalid("tool", "rules map imported findings only").into());
    }
    let mut tx = db.write().await?;
    let target = tx
        .request_target(body.identity_id, body.resource_id, now)
        .await?;
    check_privilege(body.privilege.as_deref(), &target.resource.privileges)?;
    let id = tx.insert_mapping_rule(&body, actor.id, now).await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "standing_rule.created",
            "standing_rule",
            Some(id),
        )
        .details(json!({
            "tool": body.tool.map(SecretSource::as_str),
            "secret_type": body.secret_type,
            "path_pattern": body.path_pattern,
            "identity": target.identity.name,
            "resource": target.resource.name,
            "privilege": body.privilege,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn retire_rule(
    db: &dyn Database,
    actor: &UserView,
    id: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    if !tx.retire_mapping_rule(id, now).await? {
        return Err(StoreError::NotFound(format!("mapping rule {id}")));
    }
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "standing_rule.retired",
            "standing_rule",
            Some(id),
        ),
    )
    .await?;
    tx.commit().await
}
