//! What grants' usage says over time: whether access that was granted was needed.
//! (Seeds 001 and 003: grants never used, or used for a fraction of their length, are
//! standing privilege in disguise.)

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How far back the signals look.
pub const SIGNAL_DAYS: i64 = 90;

/// An ended grant, as the signals weigh it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndedGrant {
    pub starts_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// Its last counted use; `None`: never used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// How often its resource's servers checked its token: only such grants say how long
    /// the access was in use (a credential fetched once and used offline, or a database
    /// login, leaves no trace after the fetch).
    pub introspections: i64,
    /// Every counted use, fetches included.
    pub uses: i64,
    /// How many approved extensions moved its expiry.
    pub extensions: i64,
}

impl EndedGrant {
    /// Whether it ran at all (one revoked before its start did not).
    pub fn ran(&self) -> bool {
        self.ended_at > self.starts_at
    }

    /// How long it ran, in seconds.
    pub fn ran_secs(&self) -> i64 {
        (self.ended_at - self.starts_at).num_seconds().max(0)
    }

    /// How long into it its last use came, in seconds, at most its length (a use counted
    /// just after its end — a revocation racing a check — is at its end); `None` when never
    /// used.
    pub fn used_secs(&self) -> Option<i64> {
        let last = self.last_used_at?;
        Some(
            (last - self.starts_at)
                .num_seconds()
                .clamp(0, self.ran_secs()),
        )
    }

    /// Whether its resource's servers watched its use (see `introspections`).
    pub fn watched(&self) -> bool {
        self.introspections > 0
    }

    /// The share of its length up to its last use: 0 when never used, 1 when used to its
    /// end.
    pub fn used_share(&self) -> f64 {
        match (self.used_secs(), self.ran_secs()) {
            (None, _) => 0.0,
            (Some(_), 0) => 1.0,
            (Some(used), length) => used as f64 / length as f64,
        }
    }
}

/// The signals of an identity's grants that ended in the last `SIGNAL_DAYS` days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageSignals {
    pub days: i64,
    /// Grants that ran and ended in that time.
    pub ended_grants: i64,
    /// Of those, how many were never used at all (no fetch, no check).
    pub never_used: i64,
    /// Of those, how many were watched: their resource's servers checked their tokens.
    pub watched: i64,
    /// The median share of a watched grant's length that passed before its last use (0 to
    /// 1); `None` without watched grants.
    pub median_used_share: Option<f64>,
    /// Of the ended grants, how many were extended at least once.
    #[serde(default)]
    pub extended: i64,
    /// Every one of at least `ALWAYS_EXTENDED_MIN` ended grants was extended: the task
    /// needs longer grants, or renewals are standing access in disguise.
    #[serde(default)]
    pub always_extended: bool,
}

/// How many ended grants, all extended, make "always extended" a pattern and not a chance.
pub const ALWAYS_EXTENDED_MIN: i64 = 2;

/// The signals of `grants`; those that never ran (revoked before their start) do not count.
pub fn signals(grants: &[EndedGrant]) -> UsageSignals {
    let ran: Vec<&EndedGrant> = grants.iter().filter(|g| g.ran()).collect();
    let mut shares: Vec<f64> = ran
        .iter()
        .filter(|g| g.watched())
        .map(|g| g.used_share())
        .collect();
    shares.sort_by(f64::total_cmp);
    let median = match shares.len() {
        0 => None,
        n if n % 2 == 1 => Some(shares[n / 2]),
        n => Some((shares[n / 2 - 1] + shares[n / 2]) / 2.0),
    };
    let extended = ran.iter().filter(|g| g.extensions > 0).count() as i64;
    UsageSignals {
        days: SIGNAL_DAYS,
        extended,
        always_extended: ran.len() as i64 >= ALWAYS_EXTENDED_MIN && extended == ran.len() as i64,
        ended_grants: ran.len() as i64,
        never_used: ran.iter().filter(|g| g.uses == 0).count() as i64,
        watched: shares.len() as i64,
        median_used_share: median,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    /// A grant of `hours`, checked by its servers until `last_used_after_min` (or only
    /// fetched then, when `checked` is false).
    fn grant(hours: i64, last_used_after_min: Option<i64>, checked: bool) -> EndedGrant {
        let starts_at = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap();
        EndedGrant {
            starts_at,
            ended_at: starts_at + Duration::hours(hours),
            last_used_at: last_used_after_min.map(|m| starts_at + Duration::minutes(m)),
            introspections: if checked && last_used_after_min.is_some() {
                5
            } else {
                0
            },
            uses: if last_used_after_min.is_some() { 6 } else { 0 },
            extensions: 0,
        }
    }

    #[test]
    fn grants_always_extended_are_a_pattern_once_there_are_two() {
        let extended = |mut g: EndedGrant| {
            g.extensions = 1;
            g
        };
        let one = signals(&[extended(grant(1, Some(30), true))]);
        assert_eq!((one.extended, one.always_extended), (1, false));
        let two = signals(&[
            extended(grant(1, Some(30), true)),
            extended(grant(2, None, false)),
        ]);
        assert_eq!((two.extended, two.always_extended), (2, true));
        let mixed = signals(&[
            extended(grant(1, Some(30), true)),
            grant(2, None, false),
            extended(grant(2, None, false)),
        ]);
        assert_eq!((mixed.extended, mixed.always_extended), (2, false));
    }

    #[test]
    fn a_grant_used_for_a_quarter_of_its_length_used_a_quarter() {
        assert_eq!(grant(4, Some(60), true).used_share(), 0.25);
        assert_eq!(grant(4, None, true).used_share(), 0.0);
        // A check that raced its revocation is counted at its end, not past it.
        assert_eq!(grant(1, Some(90), true).used_secs(), Some(3600));
        assert_eq!(grant(1, Some(90), true).used_share(), 1.0);
    }

    #[test]
    fn the_median_is_over_watched_grants_and_unused_ones_are_counted_apart() {
        let s = signals(&[
            grant(4, Some(60), true), // 0.25
            grant(2, Some(90), true), // 0.75
            grant(1, Some(30), true), // 0.5
            grant(2, None, true),     // never used
            grant(8, Some(1), false), // fetched once, then used where nobody counts
        ]);
        assert_eq!((s.ended_grants, s.never_used, s.watched), (5, 1, 3));
        assert_eq!(s.median_used_share, Some(0.5));
        let even = signals(&[grant(4, Some(60), true), grant(1, Some(60), true)]);
        assert_eq!(even.median_used_share, Some(0.625));
        assert_eq!(signals(&[grant(4, Some(1), false)]).median_used_share, None);
    }

    #[test]
    fn a_grant_revoked_before_it_started_never_ran_and_does_not_count() {
        let mut early = grant(1, None, false);
        early.ended_at = early.starts_at - Duration::minutes(5);
        assert!(!early.ran());
        assert_eq!(signals(&[early]).ended_grants, 0);
    }
}
