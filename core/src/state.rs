//! The two state machines: access requests and grants.
//!
//! Each is an enum with a transition function returning `Result`, so a row can only move
//! along an edge drawn here; the broker applies them inside the transaction that persists
//! the new state.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Pending,
    Approved,
    Denied,
    Cancelled,
    Expired,
}

/// What can happen to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestEvent {
    /// An approval was recorded; `complete` when it was the last one the policy needs.
    Approval {
        complete: bool,
    },
    Deny,
    Cancel,
    /// Nobody decided before the pending deadline.
    Expire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// Approved, starts later.
    Scheduled,
    Active,
    /// Ended on time.
    Expired,
    /// Ended early by a person.
    Revoked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantEvent {
    Activate,
    Expire,
    Revoke,
}

/// A transition the machine does not have, e.g. approving a cancelled request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {from} {noun} cannot be {verb}")]
pub struct TransitionError {
    pub noun: &'static str,
    pub from: &'static str,
    pub verb: &'static str,
}

impl RequestState {
    pub const ALL: [RequestState; 5] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Denied,
        RequestState::Cancelled,
        RequestState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Denied => "denied",
            RequestState::Cancelled => "cancelled",
            RequestState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<RequestState> {
        RequestState::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Only a pending request takes decisions; every other state is final.
    pub fn is_final(self) -> bool {
        self != RequestState::Pending
    }

    pub fn apply(self, event: RequestEvent) -> Result<RequestState, TransitionError> {
        use RequestEvent as E;
        use RequestState as S;
        match (self, event) {
            (S::Pending, E::Approval { complete: false }) => Ok(S::Pending),
            (S::Pending, E::Approval { complete: true }) => Ok(S::Approved),
            (S::Pending, E::Deny) => Ok(S::Denied),
            (S::Pending, E::Cancel) => Ok(S::Cancelled),
            (S::Pending, E::Expire) => Ok(S::Expired),
            (from, event) => Err(TransitionError {
                noun: "request",
                from: from.as_str(),
                verb: match event {
                    E::Approval { .. } => "approved",
                    E::Deny => "denied",
                    E::Cancel => "cancelled",
                    E::Expire => "expired",
                },
            }),
        }
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl GrantState {
    pub const ALL: [GrantState; 4] = [
        GrantState::Scheduled,
        GrantState::Active,
        GrantState::Expired,
        GrantState::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantState::Scheduled => "scheduled",
            GrantState::Active => "active",
            GrantState::Expired => "expired",
            GrantState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<GrantState> {
        GrantState::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Access has ended for good.
    pub fn is_final(self) -> bool {
        matches!(self, GrantState::Expired | GrantState::Revoked)
    }

    pub fn apply(self, event: GrantEvent) -> Result<GrantState, TransitionError> {
        use GrantEvent as E;
        use GrantState as S;
        match (self, event) {
            (S::Scheduled, E::Activate) => Ok(S::Active),
            // A scheduled grant whose whole window passed while the broker was down.
            (S::Scheduled | S::Active, E::Expire) => Ok(S::Expired),
            (S::Scheduled | S::Active, E::Revoke) => Ok(S::Revoked),
            (from, event) => Err(TransitionError {
                noun: "grant",
                from: from.as_str(),
                verb: match event {
                    E::Activate => "activated",
                    E::Expire => "expired",
                    E::Revoke => "revoked",
                },
            }),
        }
    }
}

impl fmt::Display for GrantState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_requests_take_no_event() {
        let events = [
            RequestEvent::Approval { complete: true },
            RequestEvent::Approval { complete: false },
            RequestEvent::Deny,
            RequestEvent::Cancel,
            RequestEvent::Expire,
        ];
        for state in RequestState::ALL.into_iter().filter(|s| s.is_final()) {
            for event in events {
                assert!(state.apply(event).is_err(), "{state} accepted {event:?}");
            }
        }
    }

    #[test]
    fn partial_approval_keeps_request_pending() {
        let s = RequestState::Pending.apply(RequestEvent::Approval { complete: false });
        assert_eq!(s, Ok(RequestState::Pending));
    }

    #[test]
    fn ended_grants_stay_ended() {
        for state in [GrantState::Expired, GrantState::Revoked] {
            for event in [GrantEvent::Activate, GrantEvent::Expire, GrantEvent::Revoke] {
                assert!(state.apply(event).is_err());
            }
        }
        assert!(GrantState::Active.apply(GrantEvent::Activate).is_err());
    }

    #[test]
    fn transition_error_reads_as_a_sentence() {
        let err = RequestState::Cancelled
            .apply(RequestEvent::Deny)
            .unwrap_err();
        assert_eq!(err.to_string(), "a cancelled request cannot be denied");
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for s in RequestState::ALL {
            assert_eq!(RequestState::parse(s.as_str()), Some(s));
        }
        for s in GrantState::ALL {
            assert_eq!(GrantState::parse(s.as_str()), Some(s));
        }
    }
}
