//! Access review campaigns: started over what gives access now, answered item by item
//! (a revocation carried out in the same transaction as the decision), closed for good.

use super::{grants, ownership, standing};
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{CampaignItemRecord, Database, Rows};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use stint_core::api::UserView;
use stint_core::campaigns::{self, Decidable, Decision, DecisionBody, ItemKind, NewCampaignBody};
use stint_core::standing::{StandingStatus, TriageBody};
use stint_core::{Role, RuleError, visibility};

/// Admins and auditors run campaigns.
fn require_overseer(actor: &UserView, what: &str) -> StoreResult<()> {
    if actor.has_any(visibility::READS_EVERYTHING) {
        Ok(())
    } else {
        Err(RuleError::Forbidden(format!("only admins and auditors {what} access reviews")).into())
    }
}

/// Starts a campaign: snapshots what gives access in its scope, one item per thing, each
/// assigned; one event. Its id.
pub async fn start(
    db: &dyn Database,
    actor: &UserView,
    body: &NewCampaignBody,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    require_overseer(actor, "start")?;
    let body = campaigns::check_new(body, now)?;
    let mut tx = db.write().await?;
    for id in &body.scope.resource_ids {
        if tx.resource(*id).await?.is_none() {
            return Err(RuleError::invalid(
                "scope.resource_ids",
                format!("there is no resource {id}"),
            )
            .into());
        }
    }
    let items = campaigns::plan(&tx.campaign_subjects(&body.scope, now).await?);
    if items.is_empty() {
        return Err(RuleError::invalid("scope", "nothing in this scope gives access").into());
    }
    let id = tx.insert_campaign(&body, actor.id, now).await?;
    for item in &items {
        tx.insert_campaign_item(id, item).await?;
    }
    let count = |kind: ItemKind| items.iter().filter(|i| i.kind == kind).count();
    audit::record(
        &mut **tx,
        now,
        Event::new(Actor::User(actor), "campaign.started", "campaign", Some(id)).details(json!({
            "name": body.name,
            "due_at": body.due_at,
            "scope": body.scope,
            "items": items.len(),
            "grants": count(ItemKind::Grant),
            "owners": count(ItemKind::Ownership),
            "standing": count(ItemKind::Standing),
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Records the assignee's decision on an item; revoking ends the grant, the declaration
/// or the standing credential in the same transaction, each with its own event.
pub async fn decide(
    db: &dyn Database,
    actor: &UserView,
    campaign_id: i64,
    item_id: i64,
    body: &DecisionBody,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let campaign = tx.campaign(campaign_id).await?;
    let item = tx.campaign_item(campaign_id, item_id).await?;
    // Who may not see an item gets 404, as for reading it.
    let visible = actor.has_any(visibility::READS_EVERYTHING)
        || matches!(&item.assignee, campaigns::Assignee::User { user } if user.id == actor.id);
    if !visible {
        return Err(StoreError::NotFound(format!("campaign item {item_id}")));
    }
    let (comment, link) = campaigns::decide(
        &Decidable {
            campaign_closed: campaign.closed,
            kind: item.kind,
            already_decided: item.decision.is_some(),
            assignee: &item.assignee,
            actor_id: actor.id,
            actor_is_admin: actor.has(Role::Admin),
            conflicted: match item.kind {
                ItemKind::Grant | ItemKind::Approver => item.subject_user_id,
                _ => None,
            },
        },
        body,
    )?;
    tx.record_decision(
        item.id,
        body.decision,
        &comment,
        link.as_deref(),
        actor.id,
        now,
    )
    .await?;
    let carried_out = if body.decision == Decision::Revoke {
        revoke(&mut **tx, actor, &campaign.name, &item, &comment, now).await?
    } else {
        None
    };
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "campaign.item_decided",
            "campaign",
            Some(campaign.id),
        )
        .details(json!({
            "campaign": campaign.name,
            "item": item.id,
            "kind": item.kind.as_str(),
            "subject": item.subject,
            "decision": body.decision.as_str(),
            "comment": comment,
            "link": link,
            "revocation": carried_out,
        })),
    )
    .await?;
    tx.commit().await
}

/// Carries out a revoke decision; what it did, or that there was nothing left to end (the
/// grant expired, the declaration lapsed, the secret was resolved since the start).
async fn revoke(
    rows: &mut dyn Rows,
    actor: &UserView,
    campaign: &str,
    item: &CampaignItemRecord,
    comment: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<&'static str>> {
    let reason = format!("access review \u{201c}{campaign}\u{201d}: {comment}");
    match (item.kind, item.grant_id, item.identity_id, item.standing_id) {
        (ItemKind::Grant, Some(grant_id), _, _) => {
            let grant = rows.grant(grant_id).await?;
            if grant.state.is_final() || grant.expires_at <= now {
                return Ok(Some("the grant had already ended"));
            }
            grants::revoke_in(rows, actor, grant_id, &reason, now).await?;
            Ok(Some("grant revoked"))
        }
        (ItemKind::Ownership, _, Some(identity_id), _) => {
            let declaration = item.ownership_id.ok_or_else(|| {
                StoreError::Corrupt(format!("campaign item {} names no declaration", item.id))
            })?;
            let Some((owner_id, owner)) = rows.declaration_owner(declaration, now).await? else {
                return Ok(Some("the declaration had already ended"));
            };
            if owner_id == actor.id {
                ownership::step_down_in(rows, actor, identity_id, &reason, now).await?;
                return Ok(Some("stepped down"));
            }
            // The admins answer for a disabled owner's declaration: ended by the same
            // rule as stepping down (never the last owner of live access).
            end_for_owner(rows, actor, identity_id, (owner_id, &owner), &reason, now).await?;
            Ok(Some("declaration ended"))
        }
        (ItemKind::Standing, _, _, Some(standing_id)) => {
            // One the reviewer can no longer see (they stepped down since) is not theirs
            // to resolve: the decision fails rather than record a revocation not made.
            let finding = rows
                .visible_standing(actor, standing_id, now)
                .await?
                .ok_or_else(|| {
                    StoreError::NotFound(format!("standing credential {standing_id}"))
                })?;
            if finding.status != StandingStatus::Mapped {
                return Ok(Some("the standing credential had already been resolved"));
            }
            let body = TriageBody::Rotated { reason };
            standing::triage_in(rows, actor, standing_id, &body, now).await?;
            Ok(Some("marked rotated"))
        }
        _ => Err(StoreError::Corrupt(format!(
            "campaign item {} has nothing to revoke",
            item.id
        ))),
    }
}

/// Ends `owner`'s declaration for the identity as an admin answering a review for them.
async fn end_for_owner(
    rows: &mut dyn Rows,
    actor: &UserView,
    identity_id: i64,
    (owner_id, owner): (i64, &str),
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if !actor.has(Role::Admin) {
        return Err(
            RuleError::Forbidden("only the owner or an admin ends a declaration".into()).into(),
        );
    }
    let identity = rows.identity(identity_id).await?;
    let owners = rows.current_owners(identity_id, now).await?;
    let reason = stint_core::ownership::check_step_down(
        true,
        owners.len().saturating_sub(1),
        rows.live_grant_count(identity_id, now).await? as usize,
        reason,
    )?;
    rows.end_stepped_down(identity_id, owner_id, &reason, now)
        .await?;
    audit::record(
        rows,
        now,
        Event::new(
            Actor::User(actor),
            "ownership.ended",
            "identity",
            Some(identity_id),
        )
        .details(json!({
            "identity": identity.name,
            "owner": owner,
            "reason": reason,
            "orphaned": owners.len() == 1,
        })),
    )
    .await
}

/// Closes a campaign for good: its decisions are final, its undecided items stay so.
pub async fn close(
    db: &dyn Database,
    actor: &UserView,
    campaign_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    require_overseer(actor, "close")?;
    let mut tx = db.write().await?;
    let campaign = tx.campaign(campaign_id).await?;
    if campaign.closed {
        return Err(RuleError::Conflict("the campaign is closed already".into()).into());
    }
    tx.close_campaign(campaign.id, actor.id, now).await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "campaign.closed",
            "campaign",
            Some(campaign.id),
        )
        .details(json!({
            "campaign": campaign.name,
            "items": campaign.items,
            "decided": campaign.decided,
        })),
    )
    .await?;
    tx.commit().await
}
