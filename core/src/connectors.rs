//! Connectors, as the API shows them and the rules about them: which connector a resource
//! may be linked to, where a grant's access stands downstream, and how soon a failed step
//! is tried again.

use crate::rules::RuleError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A connector the broker loaded from its connectors file (`GET /api/v1/connectors`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectorView {
    pub name: String,
    /// `postgres` or `webhook`.
    pub kind: String,
    /// The privileges it has statements for; absent when it takes any.
    #[serde(default)]
    pub privileges: Option<Vec<String>>,
}

/// Login details for the temporary PostgreSQL role of a grant, returned with each
/// credential fetch (each one sets a new password; the previous stops working).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostgresAccess {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub username: String,
    pub password: String,
    pub url: String,
}

/// Where a grant's access in the downstream system stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccessPhase {
    /// Being made: the grant cannot be used yet.
    Provisioning,
    /// Made: usable.
    Ready,
    /// The grant ended and the access is being taken away, until the downstream confirms.
    Revoking,
    /// The downstream confirmed it is gone.
    Revoked,
}

impl AccessPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessPhase::Provisioning => "provisioning",
            AccessPhase::Ready => "ready",
            AccessPhase::Revoking => "revoking",
            AccessPhase::Revoked => "revoked",
        }
    }

    /// The phase from what is recorded: whether the downstream confirmed the access made
    /// and taken away, and whether the grant has ended.
    pub fn of(provisioned: bool, revoked: bool, grant_ended: bool) -> AccessPhase {
        match (revoked, grant_ended, provisioned) {
            (true, _, _) => AccessPhase::Revoked,
            (false, true, _) => AccessPhase::Revoking,
            (false, false, true) => AccessPhase::Ready,
            (false, false, false) => AccessPhase::Provisioning,
        }
    }
}

/// Grants by where their access downstream stands (`GET /api/v1/grants?access=`): a phase,
/// or `failing`, a revocation flagged for failing again and again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessFilter {
    Phase(AccessPhase),
    Failing,
}

impl AccessFilter {
    pub const CHOICES: &'static str = "provisioning, ready, revoking, revoked or failing";

    pub fn as_str(self) -> &'static str {
        match self {
            AccessFilter::Phase(phase) => phase.as_str(),
            AccessFilter::Failing => "failing",
        }
    }

    pub fn parse(text: &str) -> Option<AccessFilter> {
        [
            AccessPhase::Provisioning,
            AccessPhase::Ready,
            AccessPhase::Revoking,
            AccessPhase::Revoked,
        ]
        .into_iter()
        .map(AccessFilter::Phase)
        .chain([AccessFilter::Failing])
        .find(|f| f.as_str() == text)
    }
}

/// What a connector made for a grant, and the step under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantAccessView {
    pub connector: String,
    pub phase: AccessPhase,
    /// The account made downstream (a PostgreSQL role's name), once named.
    pub account: Option<String>,
    pub provisioned_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Open sessions the revocation ended.
    pub sessions_ended: Option<i64>,
    /// Attempts of the step under way so far, the last one's error and the next try.
    #[serde(default)]
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The revocation has failed often enough to be flagged to admins.
    #[serde(default)]
    pub failing: bool,
}

/// How failed steps are retried: capped exponential backoff with jitter, and after how
/// many failed attempts a revocation is flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base_ms: i64,
    pub cap_ms: i64,
    pub alert_after: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_ms: 1_000,
            cap_ms: 300_000,
            alert_after: 5,
        }
    }
}

/// How long after failed attempt number `attempt` (1 for the first) to try again:
/// `base · 2^(attempt-1)` capped at `cap`, of which the upper half is scaled by `jitter` in
/// [0, 1) ("equal jitter"), so many steps failing together do not retry in lockstep yet
/// each waits at least half its backoff.
pub fn retry_delay(policy: &RetryPolicy, attempt: i64, jitter: f64) -> i64 {
    let doublings = (attempt - 1).clamp(0, 30) as u32;
    let full = policy
        .base_ms
        .max(1)
        .saturating_mul(1_i64 << doublings)
        .min(policy.cap_ms.max(1));
    let half = full / 2;
    half + ((full - half) as f64 * jitter.clamp(0.0, 1.0)) as i64
}

/// Whether a resource with `privileges` may be linked to `connector` (`None`: to none),
/// given the connectors the broker loaded: it must be one of them, and have statements
/// for every privilege the resource offers.
pub fn check_link(
    connector: Option<&str>,
    privileges: &[String],
    loaded: &[ConnectorView],
) -> Result<(), RuleError> {
    let Some(name) = connector else {
        return Ok(());
    };
    let Some(found) = loaded.iter().find(|c| c.name == name) else {
        let names: Vec<&str> = loaded.iter().map(|c| c.name.as_str()).collect();
        return Err(RuleError::invalid(
            "connector",
            if names.is_empty() {
                format!("no connector named {name} is loaded: the broker has no connectors file")
            } else {
                format!(
                    "no connector named {name} is loaded (loaded: {})",
                    names.join(", ")
                )
            },
        ));
    };
    if let Some(known) = &found.privileges
        && let Some(missing) = privileges.iter().find(|p| !known.contains(p))
    {
        return Err(RuleError::invalid(
            "connector",
            format!("connector {name} has no statements for privilege {missing}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg() -> ConnectorView {
        ConnectorView {
            name: "payments-pg".into(),
            kind: "postgres".into(),
            privileges: Some(vec!["read".into(), "write".into()]),
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_jitter_stays_in_the_upper_half() {
        let p = RetryPolicy {
            base_ms: 1_000,
            cap_ms: 8_000,
            alert_after: 5,
        };
        assert_eq!(retry_delay(&p, 1, 0.0), 500);
        assert_eq!(retry_delay(&p, 1, 0.999_999), 999);
        assert_eq!(retry_delay(&p, 3, 0.0), 2_000);
        assert_eq!(retry_delay(&p, 4, 0.5), 6_000);
        assert_eq!(retry_delay(&p, 9, 0.0), 4_000, "capped");
        assert_eq!(retry_delay(&p, 10_000, 1.0), 8_000, "no overflow");
    }

    #[test]
    fn a_link_names_a_loaded_connector_that_covers_every_privilege() {
        let loaded = [pg()];
        let privileges = ["read".to_string(), "write".to_string()];
        assert!(check_link(Some("payments-pg"), &privileges, &loaded).is_ok());
        assert!(check_link(None, &privileges, &[]).is_ok());
        let unknown = check_link(Some("ledger-pg"), &privileges, &loaded).unwrap_err();
        assert!(
            unknown.to_string().contains("loaded: payments-pg"),
            "{unknown}"
        );
        let admin = ["admin".to_string()];
        let uncovered = check_link(Some("payments-pg"), &admin, &loaded).unwrap_err();
        assert!(
            uncovered.to_string().contains("privilege admin"),
            "{uncovered}"
        );
        let hook = ConnectorView {
            name: "deploy-hook".into(),
            kind: "webhook".into(),
            privileges: None,
        };
        assert!(check_link(Some("deploy-hook"), &admin, &[hook]).is_ok());
    }

    #[test]
    fn the_phase_follows_what_the_downstream_confirmed() {
        assert_eq!(
            AccessPhase::of(false, false, false),
            AccessPhase::Provisioning
        );
        assert_eq!(AccessPhase::of(true, false, false), AccessPhase::Ready);
        assert_eq!(AccessPhase::of(true, false, true), AccessPhase::Revoking);
        assert_eq!(AccessPhase::of(false, false, true), AccessPhase::Revoking);
        assert_eq!(AccessPhase::of(true, true, true), AccessPhase::Revoked);
    }
}
