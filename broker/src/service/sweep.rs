//! The broker's own work: what expires or lapses on time, whoever is watching.

use crate::store::audit::{self, Actor, Event};
use crate::store::port::Database;
use crate::store::{StoreResult, SweepReport};
use chrono::{DateTime, Utc};
use serde_json::json;
use stint_core::RuleError;
use stint_core::state::{GrantEvent, RequestEvent};

/// Expires every grant and pending request whose time is up and lapses every declaration
/// not re-attested, each with its event, in one transaction. Each is claimed by the
/// transaction that ends it, so brokers sweeping together never end one twice.
pub async fn sweep(db: &dyn Database, now: DateTime<Utc>) -> StoreResult<SweepReport> {
    // Most sweeps find nothing: asking first spares writers the wait.
    if !db.read().await?.anything_due(now).await? {
        return Ok(SweepReport::default());
    }
    let mut report = SweepReport::default();
    let mut tx = db.write().await?;
    for grant in tx.due_grants(now).await? {
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
                .details(grant.details()),
        )
        .await?;
        report.grants_expired += 1;
    }
    for request in tx.due_requests(now).await? {
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
    for declaration in tx.due_declarations(now).await? {
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
    tx.commit().await?;
    Ok(report)
}
