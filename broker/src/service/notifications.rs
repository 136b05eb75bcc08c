//! Notifications as use cases: admins add and remove sinks; the fan-out turns the trail's
//! new events into deliveries, one transaction a batch; the worker claims deliveries and
//! records each attempt. The sending itself runs outside any transaction
//! (`crate::notify::worker`), so a slow sink never holds the write lock.

use crate::config::Variables;
use crate::credential::random_bytes;
use crate::notify::{check_environment, message};
use crate::outbound::PostError;
use crate::store::audit::{self, Actor, Event};
use crate::store::port::{AttemptOutcome, Database, DeliveryJob, NewSink};
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use stint_core::api::UserView;
use stint_core::connectors::{RetryPolicy, retry_delay};
use stint_core::notify::{
    DeliveryView, MutesBody, NewSinkBody, NotificationChoice, SinkTarget, SinkView, check_mutes,
    check_sink, choices, is_news, notify_event, recipients, redacted_url, sink_failing, wants,
};
use stint_core::visibility::READS_EVERYTHING;
use stint_core::{Role, RuleError};

fn admin_only(actor: &UserView) -> Result<(), RuleError> {
    if actor.has(Role::Admin) {
        Ok(())
    } else {
        Err(RuleError::Forbidden(
            "only admins manage notification sinks".into(),
        ))
    }
}

fn readers_only(viewer: &UserView) -> Result<(), RuleError> {
    if viewer.has_any(READS_EVERYTHING) {
        Ok(())
    } else {
        Err(RuleError::Forbidden(
            "only admins and auditors see notification sinks".into(),
        ))
    }
}

/// Adds a sink, which hears the events committed after it: `notification.sink_added`.
pub async fn add_sink(
    db: &dyn Database,
    actor: &UserView,
    body: &NewSinkBody,
    variables: &Variables,
    alert_after: i64,
    now: DateTime<Utc>,
) -> StoreResult<SinkView> {
    admin_only(actor)?;
    let sink = check_sink(body)?;
    check_environment(&sink, variables)?;
    let mut tx = db.write().await?;
    if tx.sink_named(&sink.name).await?.is_some() {
        return Err(RuleError::invalid(
            "name",
            format!("a sink named {} exists already", sink.name),
        )
        .into());
    }
    let resource_ids = match &sink.resources {
        None => None,
        Some(names) => {
            let found = tx.resource_ids_named(names).await?;
            if let Some(missing) = names.iter().find(|n| !found.iter().any(|(f, _)| f == *n)) {
                return Err(RuleError::invalid(
                    "resources",
                    format!("no resource is named {missing}"),
                )
                .into());
            }
            Some(found.into_iter().map(|(_, id)| id).collect())
        }
    };
    let (head, _) = tx.audit_head().await?;
    let id = tx
        .insert_sink(&NewSink {
            sink: &sink,
            resource_ids,
            from_seq: head,
            at: now,
            by: actor.id,
        })
        .await?;
    let target = match &sink.target {
        SinkTarget::Env(var) => format!("${var}"),
        SinkTarget::Url(url) => redacted_url(url),
    };
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "notification.sink_added",
            "notification_sink",
            Some(id),
        )
        .details(json!({
            "name": sink.name,
            "kind": sink.kind.as_str(),
            "target": target,
            "signed": sink.secret_env.is_some(),
            "events": sink.events,
            "resources": sink.resources,
        })),
    )
    .await?;
    let view = tx
        .sink_views(alert_after)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| StoreError::NotFound(format!("sink {id}")))?;
    tx.commit().await?;
    Ok(view)
}

/// Removes a sink; what it had not delivered is given up: `notification.sink_removed`.
pub async fn remove_sink(
    db: &dyn Database,
    actor: &UserView,
    id: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    admin_only(actor)?;
    let mut tx = db.write().await?;
    let name = tx
        .remove_sink(id, now)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("notification sink {id}")))?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "notification.sink_removed",
            "notification_sink",
            Some(id),
        )
        .details(json!({ "name": name })),
    )
    .await?;
    tx.commit().await
}

pub async fn sinks(
    db: &dyn Database,
    viewer: &UserView,
    alert_after: i64,
) -> StoreResult<Vec<SinkView>> {
    readers_only(viewer)?;
    db.read().await?.sink_views(alert_after).await
}

pub async fn deliveries(
    db: &dyn Database,
    viewer: &UserView,
    sink_id: i64,
    limit: u32,
) -> StoreResult<Vec<DeliveryView>> {
    readers_only(viewer)?;
    db.read()
        .await?
        .sink_deliveries(sink_id, limit)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("notification sink {sink_id}")))
}

/// Queues a delivery to every sink that hears each of the next `limit` events after the
/// cursor, and moves the cursor past them, in one transaction: each event is queued once
/// however many replicas fan out. How many were queued, and whether events remain.
pub async fn fan_out(
    db: &dyn Database,
    public_url: &str,
    limit: u32,
    now: DateTime<Utc>,
) -> StoreResult<(u32, bool)> {
    let mut tx = db.write().await?;
    let sinks = tx.active_sinks().await?;
    let Some(from) = sinks.iter().map(|s| s.from_seq).min() else {
        return Ok((0, false));
    };
    let cursor = tx.notification_cursor().await?;
    let batch = tx.notable_events(cursor.max(from), limit, now).await?;
    let mutes = tx.notification_mutes().await?;
    let mut queued = 0;
    for event in &batch.events {
        let Some(kind) = notify_event(&event.action) else {
            continue;
        };
        if !is_news(&event.action, event.request.as_ref()) {
            continue;
        }
        let mut to = recipients(kind.audience, &event.audience);
        to.retain(|user| {
            mutes
                .get(&user.id)
                .is_none_or(|(roles, muted)| wants(&event.action, roles, muted))
        });
        for sink in sinks.iter().filter(|s| s.hears(event)) {
            let body = message::body(sink.kind, event, &to, public_url);
            tx.queue_delivery(sink.id, event.seq, &event.action, &body, now)
                .await?;
            queued += 1;
        }
    }
    tx.set_notification_cursor(batch.read_to.max(cursor))
        .await?;
    tx.commit().await?;
    Ok((queued, batch.more))
}

/// Claims up to `limit` deliveries due by `due_by` until `now + lease`; deliveries a day
/// old are given up first.
pub async fn claim(
    db: &dyn Database,
    now: DateTime<Utc>,
    due_by: DateTime<Utc>,
    lease: Duration,
    limit: u32,
) -> StoreResult<Vec<DeliveryJob>> {
    let give_up_before = now - Duration::seconds(stint_core::notify::GIVE_UP_AFTER_SECS);
    let mut tx = db.write().await?;
    let claim = hex::encode(random_bytes::<16>());
    let jobs = tx
        .claim_deliveries(now, due_by, give_up_before, now + lease, &claim, limit)
        .await?;
    tx.commit().await?;
    Ok(jobs)
}

/// Records an attempt: delivered, or tried again after a backoff (`jitter` in [0, 1)). A
/// sink whose deliveries have now failed `policy.alert_after` times in a row is flagged
/// once with `notification.sink_failing`.
pub async fn attempted(
    db: &dyn Database,
    job: &DeliveryJob,
    result: Result<u16, PostError>,
    policy: &RetryPolicy,
    jitter: f64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let outcome = match result {
        Ok(response_code) => AttemptOutcome::Delivered { response_code },
        Err(e) => AttemptOutcome::Failed {
            response_code: e.response_code,
            error: e.message,
            next_attempt_at: now
                + Duration::milliseconds(retry_delay(policy, job.attempts + 1, jitter)),
        },
    };
    let mut tx = db.write().await?;
    let Some(failures_in_a_row) = tx.record_delivery_attempt(job, &outcome, now).await? else {
        return Ok(());
    };
    let newly_failing = sink_failing(failures_in_a_row, policy.alert_after)
        && !sink_failing(failures_in_a_row - 1, policy.alert_after);
    if let (true, AttemptOutcome::Failed { error, .. }) = (newly_failing, &outcome) {
        audit::record(
            &mut **tx,
            now,
            Event::new(
                Actor::Broker,
                "notification.sink_failing",
                "notification_sink",
                Some(job.sink_id),
            )
            .details(json!({
                "name": job.sink_name,
                "failures_in_a_row": failures_in_a_row,
                "error": error,
            })),
        )
        .await?;
    }
    tx.commit().await
}

/// The events `viewer` may be named in, and which of them they want.
pub async fn my_choices(
    db: &dyn Database,
    viewer: &UserView,
) -> StoreResult<Vec<NotificationChoice>> {
    people_only(viewer)?;
    let muted = db.read().await?.muted_by(viewer.id).await?;
    Ok(choices(&viewer.roles, &muted))
}

/// Replaces what `actor` muted: `notification.choices_changed`.
pub async fn set_my_choices(
    db: &dyn Database,
    actor: &UserView,
    body: &MutesBody,
    now: DateTime<Utc>,
) -> StoreResult<Vec<NotificationChoice>> {
    people_only(actor)?;
    let muted = check_mutes(body, &actor.roles)?;
    let mut tx = db.write().await?;
    tx.set_mutes(actor.id, &muted).await?;
    audit::record(
        &mut **tx,
        now,
        Event::new(
            Actor::User(actor),
            "notification.choices_changed",
            "user",
            Some(actor.id),
        )
        .details(json!({ "muted": muted })),
    )
    .await?;
    tx.commit().await?;
    Ok(choices(&actor.roles, &muted))
}

/// Notifications name people: an identity speaking with its token has no choices to make.
fn people_only(viewer: &UserView) -> Result<(), RuleError> {
    if viewer.identity_id.is_some() {
        Err(RuleError::Forbidden(
            "notification choices are for people, not identities".into(),
        ))
    } else {
        Ok(())
    }
}
