//! Appending to the audit trail: a SHA-256 hash chain over a canonical encoding.

use super::port::{AuditLog, AuditTrail};
use super::{StoreError, StoreResult};
use crate::credential::TrustedKeys;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use stint_core::api::{AuditCheckpoint, AuditVerification, UserView};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who caused an event.
#[derive(Clone, Copy)]
pub enum Actor<'a> {
    User(&'a UserView),
    /// Unauthenticated callers, named by what they claimed to be (e.g. a failed login);
    /// `""` when that claim is not to be recorded (a name no account has).
    Anonymous(&'a str),
    /// The broker itself (expiry, bootstrap).
    Broker,
}

impl Actor<'_> {
    pub(crate) fn id(&self) -> Option<i64> {
        match self {
            Actor::User(u) => Some(u.id),
            _ => None,
        }
    }

    fn name(&self) -> String {
        match self {
            Actor::User(u) => u.username.clone(),
            Actor::Anonymous("") => "anonymous".into(),
            Actor::Anonymous(name) => format!("anonymous:{name}"),
            Actor::Broker => "stint".into(),
        }
    }
}

/// Where the HTTP call being served came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

tokio::task_local! {
    /// Set around each HTTP call by the broker's middleware, so every event a call writes
    /// carries its origin without each store method passing it along.
    pub static ORIGIN: Origin;
}

fn current_origin() -> Origin {
    ORIGIN.try_with(Origin::clone).unwrap_or_default()
}

/// One change worth recording.
pub struct Event<'a> {
    pub actor: Actor<'a>,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: Option<i64>,
    pub request_id: Option<i64>,
    pub grant_id: Option<i64>,
    pub details: Value,
}

impl<'a> Event<'a> {
    /// An event about `target_kind target_id`, with no request, grant or details yet.
    pub fn new(
        actor: Actor<'a>,
        action: &'a str,
        target_kind: &'a str,
        target_id: Option<i64>,
    ) -> Self {
        Event {
            actor,
            action,
            target_kind,
            target_id,
            request_id: None,
            grant_id: None,
            details: json!({}),
        }
    }

    /// The request whose timeline shows this event.
    pub fn request(self, id: i64) -> Self {
        Event {
            request_id: Some(id),
            ..self
        }
    }

    /// The grant whose story includes this event.
    pub fn grant(self, id: i64) -> Self {
        Event {
            grant_id: Some(id),
            ..self
        }
    }

    /// What justifies the change: the details shown and hashed with it.
    pub fn details(self, details: Value) -> Self {
        Event { details, ..self }
    }
}

/// An event ready to store: its place in the chain and the hash that seals it there.
#[derive(Debug, Clone)]
pub struct SealedEvent {
    pub seq: i64,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub request_id: Option<i64>,
    pub grant_id: Option<i64>,
    /// Compact JSON, as hashed.
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Seals `event` after the chain's `head` (its last sequence number and hash): the same
/// for every backend, so any of them verifies what another wrote.
pub fn seal(head: (i64, String), at: DateTime<Utc>, event: Event<'_>) -> SealedEvent {
    let (last_seq, prev_hash) = head;
    let seq = last_seq + 1;
    let at_ms = at.timestamp_millis();
    let actor_name = event.actor.name();
    let origin = current_origin();
    let details = event.details.to_string();
    let covered = Covered {
        seq,
        at_ms,
        actor_id: event.actor.id(),
        actor_name: &actor_name,
        action: event.action,
        target_kind: event.target_kind,
        target_id: event.target_id,
        request_id: event.request_id,
        grant_id: event.grant_id,
        details: &details,
        source_ip: origin.source_ip.as_deref(),
        user_agent: origin.user_agent.as_deref(),
    };
    let hash = hex::encode(covered.hash(&prev_hash, &mut Vec::new()));
    SealedEvent {
        seq,
        at_ms,
        actor_id: event.actor.id(),
        actor_name,
        action: event.action.to_string(),
        target_kind: event.target_kind.to_string(),
        target_id: event.target_id,
        request_id: event.request_id,
        grant_id: event.grant_id,
        details,
        prev_hash,
        hash,
        source_ip: origin.source_ip,
        user_agent: origin.user_agent,
    }
}

/// Appends `event` to `log` inside the caller's transaction, which holds the chain's head
/// (`AuditLog::audit_head`), so reading it and appending after it cannot interleave.
pub async fn record<L: AuditLog + ?Sized>(
    log: &mut L,
    at: DateTime<Utc>,
    event: Event<'_>,
) -> StoreResult<()> {
    let head = log.audit_head().await?;
    log.insert_event(&seal(head, at, event)).await
}

/// The fields an event's hash covers.
struct Covered<'a> {
    seq: i64,
    at_ms: i64,
    actor_id: Option<i64>,
    actor_name: &'a str,
    action: &'a str,
    target_kind: &'a str,
    target_id: Option<i64>,
    request_id: Option<i64>,
    grant_id: Option<i64>,
    /// The details as stored: compact JSON.
    details: &'a str,
    source_ip: Option<&'a str>,
    user_agent: Option<&'a str>,
}

impl Covered<'_> {
    /// `hex(SHA-256(prev_hash "\n" canonical))`, the canonical encoding being a compact JSON
    /// array of the fields in this order, the origin appended only when there is one (so
    /// events without it hash as they always did). `details` is spliced in as stored: it was
    /// written as serde_json's compact encoding of a map sorted by key, so the same event
    /// always encodes to the same bytes, and verifying needs no JSON parsing.
    fn hash(&self, prev_hash: &str, buf: &mut Vec<u8>) -> [u8; 32] {
        buf.clear();
        buf.push(b'[');
        for n in [Some(self.seq), Some(self.at_ms), self.actor_id] {
            push_number(buf, n);
        }
        for text in [self.actor_name, self.action, self.target_kind] {
            push_string(buf, Some(text));
        }
        for n in [self.target_id, self.request_id, self.grant_id] {
            push_number(buf, n);
        }
        buf.extend_from_slice(self.details.as_bytes());
        if self.source_ip.is_some() || self.user_agent.is_some() {
            buf.push(b',');
            push_string(buf, self.source_ip);
            push_string(buf, self.user_agent);
            buf.pop(); // the separator after the last field
        }
        buf.push(b']');
        let mut hasher = Sha256::new();
        hasher.update(prev_hash.as_bytes());
        hasher.update(b"\n");
        hasher.update(&buf[..]);
        hasher.finalize().into()
    }
}

/// Appends a JSON number (or `null`) and a comma.
fn push_number(buf: &mut Vec<u8>, n: Option<i64>) {
    match n {
        Some(n) => {
            use std::io::Write;
            write!(buf, "{n}").expect("writing to a Vec cannot fail");
        }
        None => buf.extend_from_slice(b"null"),
    }
    buf.push(b',');
}

/// Appends a JSON string (escaped as serde_json does, or `null`) and a comma.
fn push_string(buf: &mut Vec<u8>, text: Option<&str>) {
    serde_json::to_writer(&mut *buf, &text).expect("writing to a Vec cannot fail");
    buf.push(b',');
}

/// An event as stored, borrowed from the batch it was read in.
#[derive(serde::Deserialize)]
struct StoredEvent<'a> {
    seq: i64,
    at: i64,
    actor_id: Option<i64>,
    #[serde(borrow)]
    actor_name: Cow<'a, str>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    target_kind: Cow<'a, str>,
    target_id: Option<i64>,
    request_id: Option<i64>,
    grant_id: Option<i64>,
    #[serde(borrow)]
    details: Cow<'a, str>,
    #[serde(borrow)]
    prev_hash: Cow<'a, str>,
    #[serde(borrow)]
    hash: Cow<'a, str>,
    #[serde(borrow)]
    source_ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
}

/// Events are read this many at a time, so verifying a long trail needs little memory.
const VERIFY_BATCH: i64 = 10_000;

/// Walks the whole chain: sequence numbers without gaps from 1, each `prev_hash` equal to
/// the previous event's hash, each hash recomputed from the event's fields. Then holds it
/// against every checkpoint stored with it and every copy of one kept `outside` it, each
/// of which one of `trusted` must have signed.
pub async fn verify<T: AuditTrail + ?Sized>(
    conn: &mut T,
    trusted: &TrustedKeys,
    outside: &[AuditCheckpoint],
) -> StoreResult<AuditVerification> {
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut buf = Vec::with_capacity(1024);
    let mut text = conn.audit_batch(1, VERIFY_BATCH).await?;
    loop {
        let mut batch: Vec<StoredEvent<'_>> = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("audit batch: {e}")))?;
        batch.sort_by_key(|e| e.seq);
        let next_from = (batch.len() as i64 == VERIFY_BATCH)
            .then(|| batch.last().map(|e| e.seq + 1))
            .flatten();
        // The database reads the next batch while this one is checked.
        let read_next = async {
            match next_from {
                Some(from) => conn.audit_batch(from, VERIFY_BATCH).await.map(Some),
                None => Ok(None),
            }
        };
        let check_this = async {
            for event in batch {
                if let Some(reason) = check(&event, expected_seq, &prev_hash, &mut buf) {
                    return Some(reason);
                }
                expected_seq += 1;
                prev_hash = event.hash.into_owned();
            }
            None
        };
        let (next, bad) = tokio::join!(read_next, check_this);
        if let Some(reason) = bad {
            return Ok(AuditVerification {
                ok: false,
                count: expected_seq - 1,
                head_seq: expected_seq - 1,
                head_hash: prev_hash,
                first_bad_seq: Some(expected_seq),
                reason: Some(reason),
            });
        }
        match next? {
            Some(next) => text = next,
            None => break,
        }
    }
    let count = expected_seq - 1;
    let fail = |bad: i64, reason: String| AuditVerification {
        ok: false,
        count: bad.min(count + 1) - 1,
        head_seq: count,
        head_hash: prev_hash.clone(),
        first_bad_seq: Some(bad),
        reason: Some(reason),
    };
    // A chain that verifies can still have been cut short, or rewritten and re-hashed from
    // some event on; a signed checkpoint of an earlier head catches both.
    let stored = conn.checkpoints(u32::MAX).await?;
    let all = stored
        .iter()
        .map(|c| (c, "the"))
        .chain(outside.iter().map(|c| (c, "the outside copy of the")));
    for (checkpoint, which) in all {
        let seq = checkpoint.head_seq;
        if !trusted.signed(checkpoint) {
            return Ok(fail(
                seq,
                format!("{which} checkpoint of event {seq} is not signed by a trusted key"),
            ));
        }
        if seq > count {
            return Ok(fail(
                count + 1,
                format!(
                    "the trail ends at event {count}, but a signed checkpoint names event {seq}: events were removed from its end"
                ),
            ));
        }
        let hash = conn.event_hash(seq).await?;
        if seq > 0 && hash.as_deref() != Some(checkpoint.head_hash.as_str()) {
            return Ok(fail(
                seq,
                format!(
                    "event {seq} differs from its signed checkpoint: the trail was rewritten up to it"
                ),
            ));
        }
    }
    Ok(AuditVerification {
        ok: true,
        count,
        head_seq: count,
        head_hash: prev_hash,
        first_bad_seq: None,
        reason: None,
    })
}

/// Why `event` does not continue the chain at `expected_seq` after `prev_hash`, if it does not.
fn check(
    event: &StoredEvent<'_>,
    expected_seq: i64,
    prev_hash: &str,
    buf: &mut Vec<u8>,
) -> Option<String> {
    if event.seq != expected_seq {
        return Some(format!(
            "event {expected_seq} is missing (the next event is {})",
            event.seq
        ));
    }
    if event.prev_hash != prev_hash {
        return Some("its prev_hash is not the previous event's hash".into());
    }
    let covered = Covered {
        seq: event.seq,
        at_ms: event.at,
        actor_id: event.actor_id,
        actor_name: &event.actor_name,
        action: &event.action,
        target_kind: &event.target_kind,
        target_id: event.target_id,
        request_id: event.request_id,
        grant_id: event.grant_id,
        details: &event.details,
        source_ip: event.source_ip.as_deref(),
        user_agent: event.user_agent.as_deref(),
    };
    let mut stored = [0u8; 32];
    let readable = hex::decode_to_slice(event.hash.as_bytes(), &mut stored).is_ok();
    (!readable || covered.hash(prev_hash, buf) != stored)
        .then(|| "its contents do not match its hash: it was changed after it was written".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The encoding events were first hashed with: a `serde_json` array of the fields.
    fn as_first_hashed(c: &Covered<'_>, prev_hash: &str) -> String {
        let details: Value = serde_json::from_str(c.details).unwrap();
        let mut canonical = json!([
            c.seq,
            c.at_ms,
            c.actor_id,
            c.actor_name,
            c.action,
            c.target_kind,
            c.target_id,
            c.request_id,
            c.grant_id,
            details,
        ]);
        if c.source_ip.is_some() || c.user_agent.is_some() {
            let fields = canonical.as_array_mut().unwrap();
            fields.push(json!(c.source_ip));
            fields.push(json!(c.user_agent));
        }
        let mut hasher = Sha256::new();
        hasher.update(prev_hash.as_bytes());
        hasher.update(b"\n");
        hasher.update(canonical.to_string().as_bytes());
        hex::encode(hasher.finalize())
    }

    /// Trails written before verification stopped parsing details still verify.
    #[test]
    fn the_hash_is_the_one_events_were_always_hashed_with() {
        let details = json!({ "task": "fix \"it\" <now>\n", "n": 3, "a": [1, null] }).to_string();
        let origins = [
            Origin::default(),
            Origin {
                source_ip: Some("127.0.0.1".into()),
                user_agent: None,
            },
            Origin {
                source_ip: Some("::1".into()),
                user_agent: Some("Mozilla/5.0 «ü»".into()),
            },
        ];
        for origin in &origins {
            for (actor_id, target_id) in [(None, None), (Some(7), Some(-3))] {
                let covered = Covered {
                    seq: 42,
                    at_ms: 1_800_000_000_123,
                    actor_id,
                    actor_name: "anonymous:al\"ice",
                    action: "request.filed",
                    target_kind: "request",
                    target_id,
                    request_id: Some(9),
                    grant_id: None,
                    details: &details,
                    source_ip: origin.source_ip.as_deref(),
                    user_agent: origin.user_agent.as_deref(),
                };
                assert_eq!(
                    hex::encode(covered.hash(GENESIS_HASH, &mut Vec::new())),
                    as_first_hashed(&covered, GENESIS_HASH)
                );
            }
        }
    }
}
