//! The broker's own work: what expires or lapses on time, whoever is watching.

use crate::store::audit::{self, Actor, Event};
use crate::store::port::Database;
use crate::store::{StoreResult, SweepReport};
use chrono::{DateTime, Utc};
use serde_json::json;
use stint_core::RuleError;
use stint_core::live::Notice;
use stint_core::state::{GrantEvent, RequestEvent};

/// How many grants (and as many requests and declarations) one sweep transaction ends:
/// each transaction stays short, so a revocation or an approval never waits long behind
/// a mass expiry, and a broker that dies mid-sweep loses at most one uncommitted batch,
/// which the next sweep (its own or another replica's) ends instead.
pub const SWEEP_BATCH: u32 = 200;

/// Expires every grant and pending request whose time is up, starts every scheduled grant
/// whose start has come, lapses every declaration not re-attested and gives the timed
/// notices that are due, each with its event, in transactions of at most `SWEEP_BATCH` of each.
/// Each row is claimed by the transaction that ends it, so brokers sweeping together never
/// end one twice.
pub async fn sweep(db: &dyn Database, now: DateTime<Utc>) -> StoreResult<SweepReport> {
    let mut report = SweepReport::default();
    loop {
        // Most sweeps find nothing: asking first spares writers the wait.
        if !db.read().await?.anything_due(now).await? {
            return Ok(report);
        }
        let batch = sweep_batch(db, now).await?;
        report.grants_started += batch.grants_started;
        report.grants_expired += batch.grants_expired;
        report.requests_expired += batch.requests_expired;
        report.ownerships_lapsed += batch.ownerships_lapsed;
        report.notices_given += batch.notices_given;
        if batch == SweepReport::default() {
            // What was due was claimed by another broker meanwhile.
            return Ok(report);
        }
    }
}

/// One transaction of the sweep.
async fn sweep_batch(db: &dyn Database, now: DateTime<Utc>) -> StoreResult<SweepReport> {
    let mut report = SweepReport::default();
    let mut tx = db.write().await?;
    for grant in tx.due_grants(now, SWEEP_BATCH).await? {
        let next = grant
            .state
            .apply(GrantEvent::Expire)
            .map_err(RuleError::from)?;
        // Ended on time: at its expiry, however late the sweep.
        tx.end_grant(grant.id, grant.state, next, grant.expires_at, None)
            .await?;
        audit::record(
            &mut **tx,
            now,
            Event::new(Actor::Broker, "grant.expired", "grant", Some(grant.id))
                .request(grant.request_id)
                .grant(grant.id)
                .details(grant.end_details()),
        )
        .await?;
        report.grants_expired += 1;
    }
    // After the expiries: a scheduled grant whose whole window passed is expired, never
    // started.
    for grant in tx.due_starts(now, SWEEP_BATCH).await? {
        grant
            .state
            .apply(GrantEvent::Activate)
            .map_err(RuleError::from)?;
        tx.start_grant(grant.id).await?;
        let mut details = grant.details();
        details["starts_at"] = json!(grant.starts_at);
        details["scheduled"] = json!(true);
        audit::record(
            &mut **tx,
            now,
            Event::new(Actor::Broker, "grant.activated", "grant", Some(grant.id))
                .request(grant.request_id)
                .grant(grant.id)
                .details(details),
        )
        .await?;
        report.grants_started += 1;
    }
    for request in tx.due_requests(now, SWEEP_BATCH).await? {
        let next = request
            .state
            .apply(RequestEvent::Expire)
            .map_err(RuleError::from)?;
        tx.set_request_state(request.id, request.state, next, now, None)
            .await?;
        audit::record(
            &mut **tx,
            now,
            Event::new(
                Actor::Broker,
                "request.expired",
                "request",
                Some(request.id),
            )
            .request(request.id)
            .details(json!({ "pending_expires_at": request.pending_expires_at })),
        )
        .await?;
        report.requests_expired += 1;
    }
    for declaration in tx.due_declarations(now, SWEEP_BATCH).await? {
        tx.lapse_declaration(declaration.id).await?;
        let orphaned = !tx.has_owner(declaration.identity.id, now).await?;
        audit::record(
            &mut **tx,
            now,
            Event::new(
                Actor::Broker,
                "ownership.lapsed",
                "identity",
                Some(declaration.identity.id),
            )
            .details(json!({
                "identity": declaration.identity.name,
                "owner": declaration.owner,
                "attest_until": declaration.attest_until,
                "orphaned": orphaned,
            })),
        )
        .await?;
        report.ownerships_lapsed += 1;
    }
    // After the expiries above, which clear the warnings of what they ended.
    for due in tx.due_notices(now, SWEEP_BATCH).await? {
        tx.notice_given(&due).await?;
        if !due.notice.is_news(due.deadline, now) {
            continue;
        }
        let subject = match due.notice {
            Notice::GrantExpiring => "grant",
            Notice::ReviewDueSoon | Notice::ReviewOverdue => "review",
        };
        audit::record(
            &mut **tx,
            now,
            Event::new(
                Actor::Broker,
                due.notice.action(),
                subject,
                Some(due.subject_id),
            )
            .request(due.request_id)
            .grant(due.grant_id)
            .details(json!({ "deadline": due.deadline })),
        )
        .await?;
        report.notices_given += 1;
    }
    // An access review past its due time with items unanswered: those who owe an answer
    // hear so once.
    for campaign in tx.due_campaign_notices(now, SWEEP_BATCH).await? {
        tx.campaign_notice_given(campaign.id).await?;
        if campaign.decided == campaign.items {
            continue;
        }
        audit::record(
            &mut **tx,
            now,
            Event::new(
                Actor::Broker,
                "campaign.overdue",
                "campaign",
                Some(campaign.id),
            )
            .details(json!({
                "campaign": campaign.name,
                "unanswered": campaign.items - campaign.decided,
            })),
        )
        .await?;
        report.notices_given += 1;
    }
    tx.commit().await?;
    Ok(report)
}
