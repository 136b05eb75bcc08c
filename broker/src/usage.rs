//! Usage evidence: every introspection of a grant's token by its resource's servers and
//! every credential its holder fetches, counted per grant.
//!
//! Introspection is on the path of every downstream call and must stay a read, so uses are
//! tallied in memory and added to `grant_usage` about once a second by each broker (in one
//! transaction per flush, as increments, so replicas add up). A broker that dies loses at
//! most its last second of counts; a grant's end event summarises what was flushed by then.

use crate::http::AppState;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Mutex;
use std::time::Duration;
use stint_core::api::GrantUsageView;

/// How often the tallies are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// A use of a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A resource server introspected one of its tokens while it was live.
    Introspection,
    /// Its holder fetched a credential.
    CredentialFetch,
}

/// The uses of one grant since the last flush (the shape `grant_usage` adds up).
pub type Tally = GrantUsageView;

/// Uses not yet written.
#[derive(Default)]
pub struct Recorder {
    pending: Mutex<HashMap<i64, Tally>>,
}

impl Recorder {
    pub fn record(&self, grant_id: i64, used: Use, at: DateTime<Utc>, address: Option<String>) {
        let mut pending = self.pending.lock().expect("no panic holds this lock");
        let tally = pending.entry(grant_id).or_insert_with(|| Tally {
            introspections: 0,
            credential_fetches: 0,
            first_used_at: at,
            last_used_at: at,
            last_address: None,
        });
        match used {
            Use::Introspection => tally.introspections += 1,
            Use::CredentialFetch => tally.credential_fetches += 1,
        }
        tally.first_used_at = tally.first_used_at.min(at);
        if at >= tally.last_used_at {
            tally.last_used_at = at;
            if address.is_some() {
                tally.last_address = address;
            }
        }
    }

    /// Writes what was tallied; on failure it is kept for the next flush. How many grants'
    /// tallies were written.
    pub async fn flush(&self, state: &AppState) -> anyhow::Result<usize> {
        let mut tallies: Vec<(i64, Tally)> = {
            let mut pending = self.pending.lock().expect("no panic holds this lock");
            pending.drain().collect()
        };
        // In one order on every broker, so replicas' flushes never wait on each other in a
        // circle.
        tallies.sort_by_key(|(grant_id, _)| *grant_id);
        if tallies.is_empty() {
            return Ok(0);
        }
        match state.store.add_usage(&tallies).await {
            Ok(()) => Ok(tallies.len()),
            Err(e) => {
                let mut pending = self.pending.lock().expect("no panic holds this lock");
                for (grant_id, tally) in tallies {
                    match pending.entry(grant_id) {
                        Entry::Occupied(mut newer) => merge(newer.get_mut(), &tally),
                        Entry::Vacant(slot) => {
                            slot.insert(tally);
                        }
                    }
                }
                Err(e.into())
            }
        }
    }
}

/// Adds `older` (a tally that failed to be written) into `newer`.
fn merge(newer: &mut Tally, older: &Tally) {
    newer.introspections += older.introspections;
    newer.credential_fetches += older.credential_fetches;
    newer.first_used_at = newer.first_used_at.min(older.first_used_at);
    if older.last_used_at > newer.last_used_at {
        newer.last_used_at = older.last_used_at;
        if older.last_address.is_some() {
            newer.last_address = older.last_address.clone();
        }
    } else if newer.last_address.is_none() {
        newer.last_address = older.last_address.clone();
    }
}

/// Flushes every `FLUSH_EVERY` until `stopped`, and once more then.
pub fn spawn(
    state: AppState,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => {}
                _ = stopped.changed() => break,
            }
            if let Err(e) = state.usage.flush(&state).await {
                tracing::warn!(error = %e, "writing grants' usage failed; kept for the next try");
            }
        }
        if let Err(e) = state.usage.flush(&state).await {
            tracing::warn!(error = %e, "writing grants' usage at shutdown failed");
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn uses_tally_per_grant_with_their_first_and_last_use() {
        let recorder = Recorder::default();
        recorder.record(7, Use::Introspection, at(5), Some("10.0.0.5".into()));
        recorder.record(7, Use::CredentialFetch, at(1), Some("10.0.0.1".into()));
        recorder.record(7, Use::Introspection, at(9), None);
        recorder.record(8, Use::Introspection, at(3), None);
        let pending = recorder.pending.lock().unwrap();
        let seven = &pending[&7];
        assert_eq!((seven.introspections, seven.credential_fetches), (2, 1));
        assert_eq!((seven.first_used_at, seven.last_used_at), (at(1), at(9)));
        // The last use with a known address says where it came from.
        assert_eq!(seven.last_address.as_deref(), Some("10.0.0.5"));
        assert_eq!(pending[&8].introspections, 1);
    }

    #[test]
    fn a_tally_that_failed_to_be_written_adds_to_the_next() {
        let mut newer = Tally {
            introspections: 2,
            credential_fetches: 0,
            first_used_at: at(10),
            last_used_at: at(12),
            last_address: Some("b".into()),
        };
        let older = Tally {
            introspections: 3,
            credential_fetches: 1,
            first_used_at: at(1),
            last_used_at: at(4),
            last_address: Some("a".into()),
        };
        merge(&mut newer, &older);
        assert_eq!((newer.introspections, newer.credential_fetches), (5, 1));
        assert_eq!((newer.first_used_at, newer.last_used_at), (at(1), at(12)));
        assert_eq!(newer.last_address.as_deref(), Some("b"));
    }
}
