//! What an approver should know before deciding a request: who answers for the identity,
//! how its last grants on this resource were used, what else gives it access, and whether
//! the time asked for is more than its recent work needed.

use crate::api::NamedRef;
use crate::usage::EndedGrant;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many of the identity's last ended grants on the resource the context shows.
pub const RECENT_GRANTS: usize = 5;

/// A request's context, as its page and the approvals queue show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApproverContext {
    /// Who answers for the identity now, and until when their declaration holds.
    pub owners: Vec<OwnerAttestation>,
    /// The identity's last ended grants on this resource, newest first.
    pub recent_grants: Vec<PastGrant>,
    /// How many static secrets are mapped to this identity and resource: access outside
    /// the JIT path (their details are for owners, admins and auditors, on Secrets).
    pub standing_paths: i64,
    /// Its break-glass access judged unjustified in the last `crate::usage::SIGNAL_DAYS` days.
    pub unjustified_break_glass: i64,
    /// Its other requests waiting for a decision.
    pub open_requests: Vec<AccessRef>,
    /// Its live grants, and those scheduled to start.
    pub live_grants: Vec<AccessRef>,
    /// Set when the time asked for is longer than its recent grants here were used.
    pub duration_advice: Option<DurationAdvice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnerAttestation {
    pub user: NamedRef,
    pub attest_until: DateTime<Utc>,
}

/// An ended grant: how long was asked, how long it ran, how long it was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PastGrant {
    pub grant_id: i64,
    pub request_id: i64,
    pub privilege: String,
    pub asked_secs: i64,
    /// How long it ran (to its expiry, or to its revocation).
    pub granted_secs: i64,
    /// From its start to its last counted use, at most `granted_secs`; `None`: never used.
    pub used_secs: Option<i64>,
    pub uses: i64,
    /// Checks of its token by its resource's servers: without them, a last use is only the
    /// last fetch, and says nothing of how long the access was in use.
    pub introspections: i64,
    pub ended_at: DateTime<Utc>,
}

impl PastGrant {
    pub fn new(
        grant_id: i64,
        request_id: i64,
        privilege: String,
        asked_secs: i64,
        ended: &EndedGrant,
    ) -> PastGrant {
        PastGrant {
            grant_id,
            request_id,
            privilege,
            asked_secs,
            granted_secs: ended.ran_secs(),
            used_secs: ended.used_secs(),
            uses: ended.uses,
            introspections: ended.introspections,
            ended_at: ended.ended_at,
        }
    }
}

/// Access named without ids: the approver may not be one who sees that request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessRef {
    pub resource: String,
    pub privilege: String,
    /// When a live grant ends; `None` for a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// When a scheduled grant starts; `None` for one already live, or a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
}

/// "Asks for 4 h; its last 3 grants here were used for at most 40 min."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DurationAdvice {
    pub asked_secs: i64,
    /// The longest any of them was used (0: none was).
    pub longest_use_secs: i64,
    pub grants_considered: usize,
}

/// Whether `asked_secs` is clearly more than the recent grants needed: set only when at
/// least two of them were watched (their servers checked their tokens, so their last use
/// says how long they were in use) and the ask is at least twice the longest such use.
pub fn duration_advice(asked_secs: i64, recent: &[PastGrant]) -> Option<DurationAdvice> {
    let watched: Vec<&PastGrant> = recent.iter().filter(|g| g.introspections > 0).collect();
    if watched.len() < 2 {
        return None;
    }
    let longest_use_secs = watched
        .iter()
        .map(|g| g.used_secs.unwrap_or(0))
        .max()
        .unwrap_or(0);
    (asked_secs >= 2 * longest_use_secs).then_some(DurationAdvice {
        asked_secs,
        longest_use_secs,
        grants_considered: watched.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A watched hour-long grant last used `used_secs` in (or one only fetched, unwatched).
    fn past(used_secs: Option<i64>, watched: bool) -> PastGrant {
        PastGrant {
            grant_id: 1,
            request_id: 1,
            privilege: "read".into(),
            asked_secs: 3600,
            granted_secs: 3600,
            used_secs,
            uses: used_secs.map_or(0, |_| 3),
            introspections: if watched && used_secs.is_some() { 2 } else { 0 },
            ended_at: Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap(),
        }
    }

    #[test]
    fn asking_far_longer_than_recent_uses_needed_is_pointed_out() {
        let recent = [
            past(Some(1200), true),
            past(Some(2400), true),
            past(None, true),
        ];
        assert_eq!(
            duration_advice(4 * 3600, &recent),
            Some(DurationAdvice {
                asked_secs: 4 * 3600,
                longest_use_secs: 2400,
                grants_considered: 2
            })
        );
        // Not twice the longest use: no advice.
        assert_eq!(duration_advice(4000, &recent), None);
    }

    #[test]
    fn grants_used_to_their_end_ask_for_no_less() {
        let recent = [past(Some(3598), true), past(Some(3590), true)];
        assert_eq!(duration_advice(3600, &recent), None);
    }

    #[test]
    fn fetched_but_unwatched_grants_and_single_grants_are_no_pattern() {
        let unwatched = [past(Some(30), false), past(Some(40), false)];
        assert_eq!(duration_advice(4 * 3600, &unwatched), None);
        assert_eq!(duration_advice(4 * 3600, &[past(Some(60), true)]), None);
        assert_eq!(duration_advice(4 * 3600, &[]), None);
    }
}
