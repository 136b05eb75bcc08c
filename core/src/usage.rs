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
}

impl EndedGrant {
    /// The share of its length up to its last use: 0 when never used, 1 when used to its
    /// end.
    pub fn used_share(&self) -> f64 {
        let Some(last) = self.last_used_at else {
            return 0.0;
        };
        let length = (self.ended_at - self.starts_at).num_milliseconds();
        if length <= 0 {
            return 1.0;
        }
        let used = (last - self.starts_at).num_milliseconds();
        (used as f64 / length as f64).clamp(0.0, 1.0)
    }
}

/// The signals of an identity's (or a resource's) grants that ended in the last
/// `SIGNAL_DAYS` days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageSignals {
    pub days: i64,
    pub ended_grants: i64,
    pub never_used: i64,
    /// The median share of a grant's length that passed before its last use (0 to 1);
    /// `None` without ended grants.
    pub median_used_share: Option<f64>,
}

pub fn signals(grants: &[EndedGrant]) -> UsageSignals {
    let mut shares: Vec<f64> = grants.iter().map(EndedGrant::used_share).collect();
    shares.sort_by(f64::total_cmp);
    let median = match shares.len() {
        0 => None,
        n if n % 2 == 1 => Some(shares[n / 2]),
        n => Some((shares[n / 2 - 1] + shares[n / 2]) / 2.0),
    };
    UsageSignals {
        days: SIGNAL_DAYS,
        ended_grants: grants.len() as i64,
        never_used: grants.iter().filter(|g| g.last_used_at.is_none()).count() as i64,
        median_used_share: median,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn grant(hours: i64, last_used_after_min: Option<i64>) -> EndedGrant {
        let starts_at = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap();
        EndedGrant {
            starts_at,
            ended_at: starts_at + Duration::hours(hours),
            last_used_at: last_used_after_min.map(|m| starts_at + Duration::minutes(m)),
        }
    }

    #[test]
    fn a_grant_used_for_a_quarter_of_its_length_used_a_quarter() {
        assert_eq!(grant(4, Some(60)).used_share(), 0.25);
        assert_eq!(grant(4, None).used_share(), 0.0);
        // A use counted after its end (a flush that came late) is its whole length.
        assert_eq!(grant(1, Some(90)).used_share(), 1.0);
    }

    #[test]
    fn signals_count_never_used_grants_and_take_the_median_share() {
        let s = signals(&[grant(4, Some(60)), grant(2, None), grant(1, Some(60))]);
        assert_eq!((s.ended_grants, s.never_used), (3, 1));
        assert_eq!(s.median_used_share, Some(0.25));
        let even = signals(&[grant(4, Some(60)), grant(1, Some(60))]);
        assert_eq!(even.median_used_share, Some(0.625));
        assert_eq!(signals(&[]).median_used_share, None);
    }
}
