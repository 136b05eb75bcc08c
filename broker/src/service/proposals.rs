//! Four eyes on changes that widen access (`stint_core::four_eyes`): filing a proposal,
//! and a second admin approving it (the change applied as `service::admin` applies it,
//! in the same transaction as the decision) or turning it down.

use super::admin;
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, Decision, Rows, Tx};
use crate::store::{FourEyes, NewUser, Saved, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use stint_core::api::UserView;
use stint_core::connectors::ConnectorView;
use stint_core::four_eyes::{self, Change, ProposalState, ProposalView, RejectBody, Widening};
use stint_core::{Role, RuleError};

/// How a change that is applied came to be allowed, for its audit event.
#[derive(Debug, Clone, Copy)]
pub enum Sanction<'a> {
    /// It widens nothing.
    Narrowing,
    /// It widens access and the installation has one admin (`--single-admin`).
    Waived(&'a [Widening]),
    /// A second admin approved it.
    Approved(&'a ProposalView),
}

impl<'a> Sanction<'a> {
    pub fn of(four_eyes: FourEyes, widenings: &'a [Widening]) -> Sanction<'a> {
        match four_eyes {
            FourEyes::Waived if !widenings.is_empty() => Sanction::Waived(widenings),
            _ => Sanction::Narrowing,
        }
    }

    /// The change's event details with how it was allowed added under `four_eyes`.
    pub fn add_to(self, mut details: Value) -> Value {
        let four_eyes = match self {
            Sanction::Narrowing => return details,
            Sanction::Waived(widenings) => json!({
                "waived": "single-admin installation",
                "widenings": widenings,
            }),
            Sanction::Approved(p) => json!({
                "proposal_id": p.id,
                "proposed_by": p.proposed_by.name,
                "widenings": p.widenings,
            }),
        };
        details["four_eyes"] = four_eyes;
        details
    }
}

/// Files `change` as a proposal of `proposer`'s, with its audit event; refused when no
/// other admin could ever approve it.
async fn propose(
    rows: &mut dyn Rows,
    proposer: &UserView,
    change: &Change,
    widenings: &[Widening],
    password_hash: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<ProposalView> {
    let mut deciders = 0;
    for admin in rows.role_holders(Role::Admin).await? {
        let roles = rows.user(admin.id).await?.roles;
        if admin.id != proposer.id && !change.concerns(admin.id, &roles) {
            deciders += 1;
        }
    }
    four_eyes::check_second_admin(deciders)?;
    let id = rows
        .insert_proposal(change, widenings, password_hash, proposer.id, now)
        .await?;
    audit::record(
        rows,
        now,
        Event::new(
            Actor::User(proposer),
            "proposal.filed",
            "proposal",
            Some(id),
        )
        .details(json!({
            "subject": change.subject(),
            "change": change,
            "widenings": widenings,
        })),
    )
    .await?;
    Ok(rows.proposal(id).await?.view)
}

/// Whether a pending proposal would give `user_id` the admin role: their password is then
/// not reset by another admin (who could approve as them once it applies).
pub async fn admin_pending_for(rows: &mut dyn Rows, user_id: i64) -> StoreResult<bool> {
    let pending = rows
        .proposals(Some(ProposalState::Pending), u32::MAX)
        .await?;
    Ok(pending.iter().any(|p| {
        matches!(&p.change, Change::UserUpdate { user, after, .. }
            if user.id == user_id && after.roles.contains(&Role::Admin))
    }))
}

/// Files `change` as `propose` does and commits `tx`: what a save that widens access
/// answers.
pub async fn file(
    mut tx: Box<dyn Tx>,
    proposer: &UserView,
    change: Change,
    widenings: &[Widening],
    password_hash: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Saved> {
    let proposal = propose(&mut **tx, proposer, &change, widenings, password_hash, now).await?;
    tx.commit().await?;
    Ok(Saved::Proposed(Box::new(proposal)))
}

/// A second admin approves proposal `id`: the change applies now, in this transaction,
/// if what it changes is still as it was when proposed; otherwise it is a conflict and
/// the proposal stays pending for someone to turn down.
pub async fn approve(
    db: &dyn Database,
    actor: &UserView,
    id: i64,
    connectors: &[ConnectorView],
    now: DateTime<Utc>,
) -> StoreResult<ProposalView> {
    let mut tx = db.write().await?;
    let record = tx.proposal(id).await?;
    let proposal = record.view;
    four_eyes::check_approver(&proposal, actor.id, &actor.roles)?;
    // A proposal speaks for an admin: one who no longer is cannot have it applied.
    let admins = tx.role_holders(Role::Admin).await?;
    if !admins.iter().any(|a| a.id == proposal.proposed_by.id) {
        return Err(RuleError::Conflict(format!(
            "{} is no longer an enabled admin; turn the proposal down",
            proposal.proposed_by.name
        ))
        .into());
    }
    let sanction = Sanction::Approved(&proposal);
    let created_id = match &proposal.change {
        Change::ResourceCreate { resource } => {
            let body = admin::checked_resource(&mut **tx, resource, connectors).await?;
            Some(admin::insert_resource(&mut **tx, Some(actor), &body, sanction, now).await?)
        }
        Change::ResourceUpdate {
            resource_id,
            before,
            after,
        } => {
            let current = admin::current_resource(&mut **tx, *resource_id).await?;
            if current != **before {
                return Err(stale(&proposal));
            }
            let after = admin::checked_resource(&mut **tx, after, connectors).await?;
            admin::apply_resource_update(
                &mut **tx,
                actor,
                *resource_id,
                before,
                &after,
                sanction,
                now,
            )
            .await?;
            None
        }
        Change::UserCreate {
            username,
            display_name,
            roles,
        } => {
            let password_hash = record.password_hash.ok_or_else(|| {
                StoreError::Corrupt(format!("proposal {id} lost its account's password"))
            })?;
            let user = NewUser {
                username,
                display_name,
                password_hash: &password_hash,
                roles,
            };
            let creator = Some(proposal.proposed_by.id);
            Some(
                admin::insert_user(&mut **tx, Some(actor), &user, roles, creator, sanction, now)
                    .await?,
            )
        }
        Change::UserUpdate {
            user,
            before,
            after,
        } => {
            let current = tx.user(user.id).await?;
            // Whoever set this account's password could act as it: they do not make it an
            // admin.
            if after.roles.contains(&Role::Admin)
                && !current.roles.contains(&Role::Admin)
                && tx.password_setters(user.id).await?.contains(&actor.id)
            {
                return Err(RuleError::Forbidden(format!(
                    "you set {}'s password, so you could sign in as them: another admin must \
                     approve making them an admin",
                    user.name
                ))
                .into());
            }
            if &admin::update_body_of(&current) != before {
                return Err(stale(&proposal));
            }
            stint_core::admin::check_user_update(
                actor.id,
                user.id,
                &current.roles,
                &after.roles,
                after.disabled,
            )?;
            admin::apply_user_update(&mut **tx, actor, &current, after, sanction, now).await?;
            None
        }
    };
    let decision = Decision {
        state: ProposalState::Approved,
        by: actor.id,
        at: now,
        reason: None,
        created_id,
    };
    decide(&mut **tx, actor, &proposal, &decision, "proposal.approved").await?;
    let decided = tx.proposal(id).await?.view;
    tx.commit().await?;
    Ok(decided)
}

fn stale(proposal: &ProposalView) -> StoreError {
    RuleError::Conflict(format!(
        "the {} changed since proposal {} was filed; turn it down and propose the change again",
        proposal.change.subject(),
        proposal.id
    ))
    .into()
}

/// Turns proposal `id` down: rejected by another admin, withdrawn by its proposer.
pub async fn reject(
    db: &dyn Database,
    actor: &UserView,
    id: i64,
    body: &RejectBody,
    now: DateTime<Utc>,
) -> StoreResult<ProposalView> {
    let reason = four_eyes::check_reason(body)?;
    let mut tx = db.write().await?;
    let proposal = tx.proposal(id).await?.view;
    four_eyes::check_rejecter(&proposal, actor.has(Role::Admin))?;
    let (state, action) = if proposal.proposed_by.id == actor.id {
        (ProposalState::Withdrawn, "proposal.withdrawn")
    } else {
        (ProposalState::Rejected, "proposal.rejected")
    };
    let decision = Decision {
        state,
        by: actor.id,
        at: now,
        reason: Some(&reason),
        created_id: None,
    };
    decide(&mut **tx, actor, &proposal, &decision, action).await?;
    let decided = tx.proposal(id).await?.view;
    tx.commit().await?;
    Ok(decided)
}

async fn decide(
    rows: &mut dyn Rows,
    actor: &UserView,
    proposal: &ProposalView,
    decision: &Decision<'_>,
    action: &str,
) -> StoreResult<()> {
    rows.decide_proposal(proposal.id, decision).await?;
    audit::record(
        rows,
        decision.at,
        Event::new(Actor::User(actor), action, "proposal", Some(proposal.id)).details(json!({
            "subject": proposal.change.subject(),
            "proposed_by": proposal.proposed_by.name,
            "reason": decision.reason,
            "created_id": decision.created_id,
        })),
    )
    .await
}
