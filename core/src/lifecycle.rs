//! When a grant's access starts and how long it may run: a start scheduled for a change
//! window ("deploy on Saturday 02:00–04:00"), and extensions that move the same grant's
//! expiry without a moment without access, up to a total the policy caps.

use crate::model::Policy;
use crate::rules::RuleError;
use crate::state::GrantState;
use chrono::{DateTime, Duration, Utc};

/// The furthest ahead any request may schedule its start; a policy may allow less.
pub const MAX_START_AHEAD_SECS: i64 = 30 * 86_400;

/// How far ahead a request for a resource under `policy` may schedule its start.
pub fn start_ahead_limit(policy: &Policy) -> i64 {
    policy
        .max_start_ahead_secs
        .map_or(MAX_START_AHEAD_SECS, |secs| secs.min(MAX_START_AHEAD_SECS))
}

/// How long one grant may run in all, extensions included: the policy's cap, or twice its
/// longest grant when it names none, and never more than a month (so no grant becomes
/// standing access by renewals).
pub fn total_limit(max_duration_secs: i64, max_total_secs: Option<i64>) -> i64 {
    max_total_secs
        .unwrap_or(max_duration_secs.saturating_mul(2))
        .min(crate::admin::POLICY_MAX_DURATION_SECS)
}

/// A time as error messages say it, whatever the reader's zone: UTC, to the minute.
fn utc(at: DateTime<Utc>) -> String {
    crate::moments::utc_minute(&at)
}

/// Checks a requested start; `None` starts the access when the request is approved.
pub fn check_start(
    starts_at: Option<DateTime<Utc>>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, RuleError> {
    let Some(starts_at) = starts_at else {
        return Ok(None);
    };
    if starts_at <= now {
        return Err(RuleError::invalid(
            "starts_at",
            format!(
                "the start {} has passed; leave it out to start when approved",
                utc(starts_at)
            ),
        ));
    }
    let limit = start_ahead_limit(policy);
    if starts_at > now + Duration::seconds(limit) {
        return Err(RuleError::invalid(
            "starts_at",
            format!(
                "a request for this resource may start at most {} ahead",
                crate::format::duration(limit)
            ),
        ));
    }
    Ok(Some(starts_at))
}

/// Until when a request filed at `now` waits for its approvers: `pending_ttl`, and for a
/// scheduled start at least until that start, but never past the end of its window (an
/// approval after that would grant nothing).
pub fn pending_deadline(
    now: DateTime<Utc>,
    pending_ttl: Duration,
    starts_at: Option<DateTime<Utc>>,
    duration_secs: i64,
) -> DateTime<Utc> {
    let usual = now + pending_ttl;
    match starts_at {
        None => usual,
        Some(start) => usual
            .max(start)
            .min(start + Duration::seconds(duration_secs)),
    }
}

/// Until when an extension asked for at `now` waits for its approvers: `pending_ttl`, and
/// never past the expiry of the grant it extends (after which there is nothing to extend).
pub fn extension_deadline(
    now: DateTime<Utc>,
    pending_ttl: Duration,
    grant_expires_at: DateTime<Utc>,
) -> DateTime<Utc> {
    (now + pending_ttl).min(grant_expires_at)
}

/// When an approved request's access runs, and whether it is live yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub state: GrantState,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The grant's window when its request is approved at `now` for `duration_secs`: from now,
/// or from its scheduled start (`Scheduled` until then). Approved late, inside its
/// window, it starts at once and still ends with the window it was asked for.
pub fn grant_window(
    starts_at: Option<DateTime<Utc>>,
    duration_secs: i64,
    now: DateTime<Utc>,
) -> Result<Window, RuleError> {
    let length = Duration::seconds(duration_secs);
    match starts_at {
        None => Ok(Window {
            state: GrantState::Active,
            starts_at: now,
            expires_at: now + length,
        }),
        Some(start) if start > now => Ok(Window {
            state: GrantState::Scheduled,
            starts_at: start,
            expires_at: start + length,
        }),
        Some(start) if start + length > now => Ok(Window {
            state: GrantState::Active,
            starts_at: now,
            expires_at: start + length,
        }),
        Some(start) => Err(RuleError::Conflict(format!(
            "this request's window ended at {}; the requester must file a new one",
            utc(start + length)
        ))),
    }
}

/// A grant as asking to extend it needs to see it.
#[derive(Debug, Clone, Copy)]
pub struct Extendable {
    pub state: GrantState,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub break_glass: bool,
    /// Whether the one asking holds it (asked for it).
    pub actor_is_holder: bool,
    /// The extension already waiting for approvers, if any.
    pub pending_extension: Option<i64>,
    /// The resource's longest grant, and how long one may run in all (`total_limit`).
    pub max_duration_secs: i64,
    pub total_limit_secs: i64,
}

impl Extendable {
    /// How much longer the policy's total allows this grant to run.
    pub fn room_secs(&self) -> i64 {
        (self.total_limit_secs - (self.expires_at - self.starts_at).num_seconds()).max(0)
    }

    /// How long the longest extension asked for now may be: the policy's longest grant,
    /// and what its total leaves.
    pub fn longest_extension(&self) -> i64 {
        self.room_secs().min(self.max_duration_secs)
    }
}

/// Whether a grant in `state` from `starts_at` to `expires_at` is live at `now`:
/// extending anything else would make a gap, or bring ended access back.
fn check_live(
    state: GrantState,
    starts_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), RuleError> {
    match state {
        GrantState::Active if now < expires_at => Ok(()),
        GrantState::Active | GrantState::Expired => Err(RuleError::Conflict(format!(
            "this grant expired at {}; an ended grant cannot be extended, file a new request",
            utc(expires_at)
        ))),
        GrantState::Revoked => Err(RuleError::Conflict(
            "this grant was revoked; an ended grant cannot be extended, file a new request".into(),
        )),
        GrantState::Scheduled => Err(RuleError::Conflict(format!(
            "this grant has not started (it starts at {}); only live access is extended",
            utc(starts_at)
        ))),
    }
}

/// Every rule an extension request must pass before it is filed (the request's own rules
/// — owner, privilege, justification — are checked as for any request).
pub fn check_extension(
    grant: &Extendable,
    duration_secs: i64,
    now: DateTime<Utc>,
) -> Result<(), RuleError> {
    if !grant.actor_is_holder {
        return Err(RuleError::Forbidden(
            "only the grant's holder, who asked for it, may ask to extend it".into(),
        ));
    }
    if grant.break_glass {
        return Err(RuleError::Conflict(
            "break-glass access is not extended: file a request for the time the work still \
             needs"
                .into(),
        ));
    }
    check_live(grant.state, grant.starts_at, grant.expires_at, now)?;
    if let Some(request) = grant.pending_extension {
        return Err(RuleError::Conflict(format!(
            "an extension of this grant is already waiting (request {request})"
        )));
    }
    let room = grant.room_secs();
    if room <= 0 {
        return Err(RuleError::Conflict(format!(
            "this grant has run the longest this resource allows in all ({}); file a new \
             request for more",
            crate::format::duration(grant.total_limit_secs)
        )));
    }
    if duration_secs > room {
        return Err(RuleError::invalid(
            "duration_secs",
            format!(
                "this resource allows a grant {} in all; this one can be extended by at most {}",
                crate::format::duration(grant.total_limit_secs),
                crate::format::duration(room)
            ),
        ));
    }
    Ok(())
}

/// The expiry an approved extension of `duration_secs` gives a grant in `state` from
/// `starts_at` to `expires_at`: added to its current expiry, so the access runs on without
/// a gap. Refused when the grant ended (or was called off) while the extension waited.
pub fn extended_expiry(
    state: GrantState,
    starts_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    duration_secs: i64,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, RuleError> {
    check_live(state, starts_at, expires_at, now)?;
    Ok(expires_at + Duration::seconds(duration_secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Approvers;

    fn policy() -> Policy {
        Policy {
            approvals_required: 1,
            max_duration_secs: 4 * 3600,
            ticket_required: false,
            break_glass: None,
            approvers: Approvers::Role,
            ticket_pattern: None,
            auto_approve: None,
            max_start_ahead_secs: None,
            max_total_secs: None,
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn live(hours: i64) -> Extendable {
        Extendable {
            state: GrantState::Active,
            starts_at: at(0),
            expires_at: at(hours * 3600),
            break_glass: false,
            actor_is_holder: true,
            pending_extension: None,
            max_duration_secs: 4 * 3600,
            total_limit_secs: total_limit(4 * 3600, None),
        }
    }

    #[test]
    fn a_start_must_lie_ahead_within_the_policys_reach() {
        let mut p = policy();
        assert_eq!(check_start(None, &p, at(0)), Ok(None));
        assert_eq!(check_start(Some(at(60)), &p, at(0)), Ok(Some(at(60))));
        for past in [at(0), at(-1)] {
            let err = check_start(Some(past), &p, at(0)).unwrap_err();
            assert_eq!(err.field(), Some("starts_at"));
        }
        let thirty_days = MAX_START_AHEAD_SECS;
        assert!(check_start(Some(at(thirty_days)), &p, at(0)).is_ok());
        assert!(check_start(Some(at(thirty_days + 1)), &p, at(0)).is_err());
        p.max_start_ahead_secs = Some(86_400);
        assert!(check_start(Some(at(86_400)), &p, at(0)).is_ok());
        let err = check_start(Some(at(86_401)), &p, at(0)).unwrap_err();
        assert!(err.to_string().contains("1 d ahead"), "{err}");
        // A policy cannot reach beyond the broker's own limit.
        p.max_start_ahead_secs = Some(90 * 86_400);
        assert!(check_start(Some(at(thirty_days + 1)), &p, at(0)).is_err());
    }

    #[test]
    fn a_scheduled_request_waits_until_its_start_but_not_past_its_window() {
        let ttl = Duration::hours(24);
        assert_eq!(pending_deadline(at(0), ttl, None, 3600), at(86_400));
        // Starts in a week: the approvers have until it starts (then its window runs).
        let week = 7 * 86_400;
        assert_eq!(pending_deadline(at(0), ttl, Some(at(week)), 7200), at(week));
        // Starts in an hour, for two: the usual day would outlive the window.
        assert_eq!(
            pending_deadline(at(0), ttl, Some(at(3600)), 7200),
            at(10_800)
        );
    }

    #[test]
    fn the_window_starts_at_its_start_or_at_once_when_approved_late() {
        let w = grant_window(None, 600, at(0)).unwrap();
        assert_eq!(
            (w.state, w.starts_at, w.expires_at),
            (GrantState::Active, at(0), at(600))
        );
        let w = grant_window(Some(at(3600)), 7200, at(0)).unwrap();
        assert_eq!(
            (w.state, w.starts_at, w.expires_at),
            (GrantState::Scheduled, at(3600), at(10_800))
        );
        // Approved an hour into its 02:00–04:00 window: live at once, until 04:00.
        let w = grant_window(Some(at(3600)), 7200, at(7200)).unwrap();
        assert_eq!(
            (w.state, w.starts_at, w.expires_at),
            (GrantState::Active, at(7200), at(10_800))
        );
        assert!(matches!(
            grant_window(Some(at(3600)), 7200, at(10_800)),
            Err(RuleError::Conflict(_))
        ));
    }

    #[test]
    fn only_the_holder_extends_live_standard_access_once_at_a_time() {
        assert!(check_extension(&live(2), 3600, at(60)).is_ok());
        let mut g = live(2);
        g.actor_is_holder = false;
        assert!(matches!(
            check_extension(&g, 3600, at(60)),
            Err(RuleError::Forbidden(_))
        ));
        let mut g = live(2);
        g.break_glass = true;
        assert!(check_extension(&g, 3600, at(60)).is_err());
        let mut g = live(2);
        g.pending_extension = Some(9);
        let err = check_extension(&g, 3600, at(60)).unwrap_err();
        assert!(err.to_string().contains("request 9"), "{err}");
        let mut g = live(2);
        g.state = GrantState::Scheduled;
        assert!(check_extension(&g, 3600, at(-60)).is_err());
    }

    #[test]
    fn an_extension_asked_for_after_expiry_is_refused_as_such() {
        let g = live(2);
        // At the expiry instant the grant is over, whatever the sweeper has recorded.
        let err = check_extension(&g, 600, at(7200)).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        let mut expired = g;
        expired.state = GrantState::Expired;
        assert!(check_extension(&expired, 600, at(7000)).is_err());
        let extend_at = |now| extended_expiry(g.state, g.starts_at, g.expires_at, 600, now);
        assert!(extend_at(at(7200)).is_err());
        assert_eq!(extend_at(at(7199)), Ok(at(7800)));
    }

    #[test]
    fn the_total_is_capped_by_the_policy_or_twice_its_longest_grant() {
        // 4 h grants: 8 h in all by default; 2 h run, so 6 h of room, 4 h in one go.
        let mut g = live(2);
        assert_eq!(g.room_secs(), 6 * 3600);
        assert_eq!(g.longest_extension(), 4 * 3600);
        assert!(check_extension(&g, 6 * 3600, at(0)).is_ok());
        let err = check_extension(&g, 6 * 3600 + 1, at(0)).unwrap_err();
        assert_eq!(err.field(), Some("duration_secs"));
        // Never beyond a month, whatever the longest grant.
        assert_eq!(total_limit(20 * 86_400, None), 30 * 86_400);
        g.total_limit_secs = total_limit(4 * 3600, Some(2 * 3600));
        let err = check_extension(&g, 60, at(0)).unwrap_err();
        assert!(matches!(err, RuleError::Conflict(_)), "{err}");
        assert!(err.to_string().contains("new request"), "{err}");
    }
}
