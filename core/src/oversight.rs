//! Oversight of live access: everything that gives access right now, narrowed by a filter,
//! and ending several grants in one move. The listing and the bulk revocation read the
//! same filter the same way: "revoke all matching" ends what matches it when the call is
//! made (grants since the list was read included), not a copy of the list.

use crate::api::GrantView;
use crate::rules::{RuleError, required_text};
use serde::{Deserialize, Serialize};

/// At most this many grants in one bulk revocation named by id.
pub const MAX_BULK_IDS: usize = 10_000;

/// The longest "ends within" window: a year (no grant lasts longer).
pub const MAX_ENDS_WITHIN_SECS: i64 = 366 * 24 * 3600;

/// Whether a grant came through the approval path or was taken as break-glass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    Standard,
    BreakGlass,
}

impl GrantKind {
    pub const CHOICES: &'static str = "standard or break_glass";

    pub fn parse(s: &str) -> Option<GrantKind> {
        match s {
            "standard" => Some(GrantKind::Standard),
            "break_glass" => Some(GrantKind::BreakGlass),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::Standard => "standard",
            GrantKind::BreakGlass => "break_glass",
        }
    }
}

/// Which live grants (active, or scheduled to start) to show or end; every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LiveAccessFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<GrantKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privilege: Option<String>,
    /// The person who holds the grant (who asked for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_id: Option<i64>,
    /// Only grants that end within this many seconds from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_within_secs: Option<i64>,
}

impl LiveAccessFilter {
    /// The filter as stored and compared: a blank privilege is no privilege filter; a
    /// time window must be positive.
    pub fn normalized(mut self) -> Result<LiveAccessFilter, RuleError> {
        self.privilege = self
            .privilege
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty());
        if let Some(secs) = self.ends_within_secs
            && !(1..=MAX_ENDS_WITHIN_SECS).contains(&secs)
        {
            return Err(RuleError::invalid(
                "ends_within_secs",
                format!("must be 1 to {MAX_ENDS_WITHIN_SECS} seconds"),
            ));
        }
        Ok(self)
    }

    /// Whether it narrows nothing: every live grant matches.
    pub fn is_everything(&self) -> bool {
        *self == LiveAccessFilter::default()
    }
}

/// Everything live that matches a filter, with the counts an incident lead reads first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveAccessView {
    /// Soonest to end first, at most `LIVE_ACCESS_SHOWN`; the counts cover every match.
    pub grants: Vec<GrantView>,
    /// How many grants match in all (more than `grants` holds when it was cut short).
    #[serde(default)]
    pub matching: u32,
    pub active: u32,
    pub scheduled: u32,
    pub break_glass: u32,
    /// Identities with live access among these grants.
    pub identities: u32,
    /// Who holds the grants that match, by name: whom the filter may narrow to.
    #[serde(default)]
    pub holders: Vec<crate::api::NamedRef>,
    /// The standing paths (mapped standing credentials) of those identities: access that
    /// bypasses JIT, which no revocation here ends. Identities without any are left out.
    #[serde(default)]
    pub standing_paths: Vec<StandingPaths>,
}

/// The most grants a live-access view lists: past it a person narrows the filter (or ends
/// all that match, which names the filter, not the list).
pub const LIVE_ACCESS_SHOWN: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StandingPaths {
    pub identity_id: i64,
    pub count: u32,
}

/// How many standing paths `identity_id` has among `paths` (0 when it has none).
pub fn standing_paths_of(paths: &[StandingPaths], identity_id: i64) -> u32 {
    paths
        .iter()
        .find(|p| p.identity_id == identity_id)
        .map_or(0, |p| p.count)
}

/// `POST /api/v1/grants/revoke`: grants named by id, or every live grant a filter matches,
/// all ended for one reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BulkRevokeBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<LiveAccessFilter>,
    pub reason: String,
}

/// What a bulk revocation is to end, once its body is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkTarget {
    /// Distinct ids, in the order first named.
    Ids(Vec<i64>),
    Filter(LiveAccessFilter),
}

impl BulkRevokeBody {
    /// The checked target and reason: exactly one of `ids` and `filter`, at most
    /// `MAX_BULK_IDS` ids, and a reason (each revocation's event carries it).
    pub fn checked(&self) -> Result<(BulkTarget, String), RuleError> {
        let reason = required_text("reason", &self.reason, "say why access ends early")?;
        let target = match (&self.ids, &self.filter) {
            (Some(ids), None) => {
                if ids.is_empty() {
                    return Err(RuleError::invalid("ids", "name at least one grant"));
                }
                if ids.len() > MAX_BULK_IDS {
                    return Err(RuleError::invalid(
                        "ids",
                        format!("at most {MAX_BULK_IDS} grants at once; use a filter"),
                    ));
                }
                let mut seen = std::collections::HashSet::new();
                BulkTarget::Ids(ids.iter().copied().filter(|id| seen.insert(*id)).collect())
            }
            (None, Some(filter)) => {
                let filter = filter.clone().normalized()?;
                // Ending every live grant at once is not a filter: whoever means it
                // selects them.
                if filter.is_everything() {
                    return Err(RuleError::invalid(
                        "filter",
                        "narrow it by at least one field; to end everything, name the grants",
                    ));
                }
                BulkTarget::Filter(filter)
            }
            _ => {
                return Err(RuleError::invalid(
                    "ids",
                    "give either ids or filter (exactly one of them)",
                ));
            }
        };
        Ok((target, reason))
    }
}

/// What a bulk revocation did: each grant ended, and each it could not end with why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkRevokeOutcome {
    pub revoked: Vec<i64>,
    pub failed: Vec<BulkRevokeFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkRevokeFailure {
    pub id: i64,
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(
        ids: Option<Vec<i64>>,
        filter: Option<LiveAccessFilter>,
        reason: &str,
    ) -> BulkRevokeBody {
        BulkRevokeBody {
            ids,
            filter,
            reason: reason.into(),
        }
    }

    fn field(e: RuleError) -> &'static str {
        match e {
            RuleError::Invalid { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn exactly_one_of_ids_and_filter_and_a_reason() {
        let filter = Some(LiveAccessFilter::default());
        assert_eq!(
            field(body(None, None, "incident").checked().unwrap_err()),
            "ids"
        );
        assert_eq!(
            field(
                body(Some(vec![1]), filter.clone(), "x")
                    .checked()
                    .unwrap_err()
            ),
            "ids"
        );
        assert_eq!(
            field(body(Some(vec![]), None, "x").checked().unwrap_err()),
            "ids"
        );
        assert_eq!(
            field(body(Some(vec![1]), None, "  ").checked().unwrap_err()),
            "reason"
        );
        let (target, reason) = body(Some(vec![3, 1, 3]), None, " incident 7 ")
            .checked()
            .unwrap();
        assert_eq!(target, BulkTarget::Ids(vec![3, 1]));
        assert_eq!(reason, "incident 7");
        let too_many = (1..=MAX_BULK_IDS as i64 + 1).collect();
        assert_eq!(
            field(body(Some(too_many), None, "x").checked().unwrap_err()),
            "ids"
        );
    }

    #[test]
    fn a_filter_is_normalised_must_narrow_and_its_window_is_bounded() {
        let blank = LiveAccessFilter {
            privilege: Some("  ".into()),
            resource_id: Some(1),
            ..Default::default()
        };
        let (target, _) = body(None, Some(blank), "x").checked().unwrap();
        let narrowed = LiveAccessFilter {
            resource_id: Some(1),
            ..Default::default()
        };
        assert_eq!(target, BulkTarget::Filter(narrowed));
        let everything = LiveAccessFilter {
            privilege: Some(" ".into()),
            ..Default::default()
        };
        assert_eq!(
            field(body(None, Some(everything), "x").checked().unwrap_err()),
            "filter"
        );
        let forever = LiveAccessFilter {
            ends_within_secs: Some(MAX_ENDS_WITHIN_SECS + 1),
            ..Default::default()
        };
        assert_eq!(field(forever.normalized().unwrap_err()), "ends_within_secs");
        let backwards = LiveAccessFilter {
            ends_within_secs: Some(0),
            ..Default::default()
        };
        assert_eq!(
            field(body(None, Some(backwards), "x").checked().unwrap_err()),
            "ends_within_secs"
        );
    }
}
