//! What an approver should know before deciding a request: who answers for the identity,
//! how its last grants on this resource were used, what else gives it access, and whether
//! the time asked for is more than its recent work needed.

use crate::api::NamedRef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many of the identity's last ended grants on the resource the context shows.
pub const RECENT_GRANTS: usize = 5;

/// A request's context, as its page and the approvals queue show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApproverContext {
    /// Who answers for the identity now, and until when their declaration holds.
    pub owners: Vec<OwnerAttestation>,
    /// The identity's last ended grants on this resource, newest first.
    pub recent_grants: Vec<PastGrant>,
    /// Static secrets mapped to this identity and resource: access outside the JIT path.
    pub standing_paths: Vec<StandingPath>,
    /// Its break-glass access judged unjustified in the last `crate::usage::SIGNAL_DAYS` days.
    pub unjustified_break_glass: i64,
    /// Its other requests waiting for a decision.
    pub open_requests: Vec<AccessRef>,
    /// Its live grants.
    pub live_grants: Vec<AccessRef>,
    /// Set when the time asked for is longer than its recent grants here were used.
    pub duration_advice: Option<DurationAdvice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerAttestation {
    pub user: NamedRef,
    pub attest_until: DateTime<Utc>,
}

/// An ended grant: how long was asked, how long it ran, how long it was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastGrant {
    pub grant_id: i64,
    pub request_id: i64,
    pub privilege: String,
    pub asked_secs: i64,
    pub granted_secs: i64,
    /// From its start to its last counted use; `None`: never used.
    pub used_secs: Option<i64>,
    pub uses: i64,
    pub ended_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandingPath {
    pub id: i64,
    pub secret_type: String,
    pub location: String,
}

/// Access named without ids: the approver may not be one who sees that request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRef {
    pub resource: String,
    pub privilege: String,
    /// When a live grant ends; `None` for a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// "Asks for 4 h; its last 3 grants here were used for at most 40 min."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationAdvice {
    pub asked_secs: i64,
    /// The longest any of them was used (0: none was).
    pub longest_use_secs: i64,
    pub grants_considered: usize,
}

/// Whether `asked_secs` is more than the recent grants needed: set only when at least two
/// ended grants say so, and the ask is longer than the longest use among them.
pub fn duration_advice(asked_secs: i64, recent: &[PastGrant]) -> Option<DurationAdvice> {
    if recent.len() < 2 {
        return None;
    }
    let longest_use_secs = recent
        .iter()
        .map(|g| g.used_secs.unwrap_or(0))
        .max()
        .unwrap_or(0);
    (asked_secs > longest_use_secs).then_some(DurationAdvice {
        asked_secs,
        longest_use_secs,
        grants_considered: recent.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn past(used_secs: Option<i64>) -> PastGrant {
        PastGrant {
            grant_id: 1,
            request_id: 1,
            privilege: "read".into(),
            asked_secs: 3600,
            granted_secs: 3600,
            used_secs,
            uses: used_secs.map_or(0, |_| 3),
            ended_at: Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap(),
        }
    }

    #[test]
    fn asking_longer_than_recent_uses_needed_is_pointed_out() {
        let advice = duration_advice(4 * 3600, &[past(Some(1200)), past(Some(2400)), past(None)]);
        assert_eq!(
            advice,
            Some(DurationAdvice {
                asked_secs: 4 * 3600,
                longest_use_secs: 2400,
                grants_considered: 3
            })
        );
        assert_eq!(
            duration_advice(2400, &[past(Some(1200)), past(Some(2400))]),
            None
        );
    }

    #[test]
    fn one_grant_is_not_a_pattern() {
        assert_eq!(duration_advice(4 * 3600, &[past(Some(60))]), None);
        assert_eq!(duration_advice(4 * 3600, &[]), None);
    }
}
