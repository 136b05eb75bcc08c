//! The storage port's notifications: sinks, the fan-out's cursor and notable events, the
//! deliveries' outbox, and each person's mutes (see `crate::notify`).

use crate::store::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use stint_core::Role;
use stint_core::notify::{
    AudienceFacts, CheckedSink, DeliveryView, NoticeRequest, SinkKind, SinkView,
};

/// Notification sinks and their outbox (see `crate::notify`): the fan-out queues one
/// delivery per sink for each event of the trail after its cursor, and moves the cursor,
/// in one transaction; the worker claims due deliveries and records each attempt.
#[async_trait]
pub trait NotificationRows {
    async fn insert_sink(&mut self, sink: &NewSink<'_>) -> StoreResult<i64>;
    /// The id of the sink (not removed) named `name`.
    async fn sink_named(&mut self, name: &str) -> StoreResult<Option<i64>>;
    /// The ids of the resources named, by name; a name no resource has is absent.
    async fn resource_ids_named(&mut self, names: &[String]) -> StoreResult<Vec<(String, i64)>>;
    /// Removes a sink and gives up its undelivered messages; its name, `None` if there is
    /// no such sink (or it was removed before).
    async fn remove_sink(&mut self, id: i64, at: DateTime<Utc>) -> StoreResult<Option<String>>;
    /// The sinks not removed, by name, flagged after `alert_after` failures in a row.
    async fn sink_views(&mut self, alert_after: i64) -> StoreResult<Vec<SinkView>>;
    /// A sink's newest `limit` deliveries with their attempts, newest first; `None` if
    /// there is no such sink.
    async fn sink_deliveries(
        &mut self,
        sink_id: i64,
        limit: u32,
    ) -> StoreResult<Option<Vec<DeliveryView>>>;
    /// The sinks the fan-out sends to.
    async fn active_sinks(&mut self) -> StoreResult<Vec<SinkRecord>>;
    /// How far the trail was fanned out.
    async fn notification_cursor(&mut self) -> StoreResult<i64>;
    async fn set_notification_cursor(&mut self, seq: i64) -> StoreResult<()>;
    /// Up to `limit` events sinks may hear after `after_seq`, oldest first, with the facts
    /// a message tells and its recipients are drawn from, read at `now`; the batch ends at
    /// the trail's head as first read.
    async fn notable_events(
        &mut self,
        after_seq: i64,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<NotableBatch>;
    /// Queues `body` for `sink_id` about event `seq` (once: queuing it again does nothing).
    async fn queue_delivery(
        &mut self,
        sink_id: i64,
        seq: i64,
        event: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Gives up deliveries queued before `give_up_before`, then claims up to `limit` due by
    /// `due_by` and not under way at `now`, oldest first, until `lease_until`.
    async fn claim_deliveries(
        &mut self,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        give_up_before: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim: &str,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>>;
    /// Records an attempt of `job` and its sink's run of failures, which it returns;
    /// `None`, and nothing written, when the job is no longer this claim's to record.
    async fn record_delivery_attempt(
        &mut self,
        job: &DeliveryJob,
        outcome: &AttemptOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>>;
    /// When the next delivery falls due (or its lease runs out), if any is open.
    async fn next_delivery_at(&mut self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Whether the trail holds events after the cursor and some sink may hear them.
    async fn fan_out_due(&mut self) -> StoreResult<bool>;
    /// Everyone who muted something: their roles and what they muted.
    async fn notification_mutes(&mut self) -> StoreResult<HashMap<i64, (Vec<Role>, Vec<String>)>>;
    /// What one person muted.
    async fn muted_by(&mut self, user_id: i64) -> StoreResult<Vec<String>>;
    /// Replaces what one person muted.
    async fn set_mutes(&mut self, user_id: i64, muted: &[String]) -> StoreResult<()>;
}

/// A sink to add, checked.
pub struct NewSink<'a> {
    pub sink: &'a CheckedSink,
    pub resource_ids: Option<Vec<i64>>,
    /// The trail's head when it is added: it hears only what comes after.
    pub from_seq: i64,
    pub at: DateTime<Utc>,
    pub by: i64,
}

/// A sink as the fan-out and the worker need it.
#[derive(Debug, Clone)]
pub struct SinkRecord {
    pub id: i64,
    pub name: String,
    pub kind: SinkKind,
    pub events: Vec<String>,
    pub resource_ids: Option<Vec<i64>>,
    pub from_seq: i64,
}

impl SinkRecord {
    /// Whether the sink hears `event`: one of its events, after it was added, about one of
    /// its resources (when it names any).
    pub fn hears(&self, event: &NotableEvent) -> bool {
        event.seq > self.from_seq
            && self.events.contains(&event.action)
            && match (&self.resource_ids, event.resource_id) {
                (None, _) => true,
                (Some(ids), Some(id)) => ids.contains(&id),
                (Some(_), None) => false,
            }
    }
}

/// An event of the trail sinks may hear, with what its message tells.
#[derive(Debug, Clone)]
pub struct NotableEvent {
    pub seq: i64,
    pub action: String,
    pub at: DateTime<Utc>,
    /// Who did it: a username, or `stint` for the broker.
    pub actor: String,
    pub request: Option<NoticeRequest>,
    pub resource_id: Option<i64>,
    pub grant_id: Option<i64>,
    pub grant_expires_at: Option<DateTime<Utc>>,
    pub review_id: Option<i64>,
    pub review_due_at: Option<DateTime<Utc>>,
    /// A denial's comment, or why a grant was revoked.
    pub reason: Option<String>,
    /// The access review it is about.
    pub campaign: Option<stint_core::notify::NoticeCampaign>,
    /// The proposed change it is about.
    pub proposal: Option<stint_core::notify::NoticeProposal>,
    pub audience: AudienceFacts,
}

pub struct NotableBatch {
    pub events: Vec<NotableEvent>,
    /// The cursor's next place: the last event read, or the head when the batch is short.
    pub read_to: i64,
    /// Events sinks may hear remain after `read_to`.
    pub more: bool,
}

/// A delivery claimed for an attempt, with where its sink posts.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub claim: String,
    pub id: i64,
    pub sink_id: i64,
    pub sink_name: String,
    pub kind: SinkKind,
    pub url_env: Option<String>,
    pub url: Option<String>,
    pub secret_env: Option<String>,
    pub event: String,
    pub body: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered {
        response_code: u16,
    },
    Failed {
        response_code: Option<u16>,
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
}
