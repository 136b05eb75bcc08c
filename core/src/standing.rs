//! Standing credentials: static secrets that reach a resource outside the JIT path.
//!
//! A secrets scanner's finding (or a hand-made record) starts `unmapped`; triage maps it to
//! the identity and resource it gives access to, or resolves it as a false positive or as
//! rotated. A resource is *JIT only* while no mapped standing credential reaches it: that,
//! not the number of grants, is what coverage measures.

use crate::api::NamedRef;
use crate::rules::{RuleError, optional_text, required_text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A reason shorter than this does not say why a finding needs no rotation.
pub const REASON_MIN_CHARS: usize = 10;

/// Where a finding stands in triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StandingStatus {
    /// Nobody has said yet what it reaches.
    Unmapped,
    /// Gives a known identity access to a known resource: a standing path.
    Mapped,
    FalsePositive,
    /// The secret was rotated or revoked where it is used.
    Rotated,
    /// A credential Stint issued, found where it should not be; its grant was revoked.
    LeakedStintCredential,
}

impl StandingStatus {
    pub const ALL: [StandingStatus; 5] = [
        StandingStatus::Unmapped,
        StandingStatus::Mapped,
        StandingStatus::FalsePositive,
        StandingStatus::Rotated,
        StandingStatus::LeakedStintCredential,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StandingStatus::Unmapped => "unmapped",
            StandingStatus::Mapped => "mapped",
            StandingStatus::FalsePositive => "false_positive",
            StandingStatus::Rotated => "rotated",
            StandingStatus::LeakedStintCredential => "leaked_stint_credential",
        }
    }

    pub fn parse(s: &str) -> Option<StandingStatus> {
        StandingStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            StandingStatus::Unmapped => "unmapped",
            StandingStatus::Mapped => "standing path",
            StandingStatus::FalsePositive => "false positive",
            StandingStatus::Rotated => "rotated",
            StandingStatus::LeakedStintCredential => "leaked Stint credential",
        }
    }

    /// Whether triage is over for it.
    pub fn is_resolved(self) -> bool {
        !matches!(self, StandingStatus::Unmapped | StandingStatus::Mapped)
    }
}

/// The tool that reported a finding, or `manual` for one recorded by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SecretSource {
    DetectSecrets,
    Gitleaks,
    Trufflehog,
    Manual,
}

impl SecretSource {
    pub const ALL: [SecretSource; 4] = [
        SecretSource::DetectSecrets,
        SecretSource::Gitleaks,
        SecretSource::Trufflehog,
        SecretSource::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SecretSource::DetectSecrets => "detect-secrets",
            SecretSource::Gitleaks => "gitleaks",
            SecretSource::Trufflehog => "trufflehog",
            SecretSource::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<SecretSource> {
        SecretSource::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One standing credential as the portal shows it. Never carries the secret: only a
/// fingerprint (a hash) of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StandingView {
    pub id: i64,
    pub tool: SecretSource,
    /// The scanned thing the report is about (a repository, a CI system), named at import.
    pub source: String,
    /// Where the secret sits: `path:line`, or a CI variable's name.
    pub location: String,
    pub secret_type: String,
    /// A hash of the secret (`sha1:…` from detect-secrets, `sha256:…` otherwise), absent
    /// for records made by hand.
    pub fingerprint: Option<String>,
    pub description: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Set when a newer full scan of the same source no longer reported it.
    pub not_seen_since: Option<DateTime<Utc>>,
    pub status: StandingStatus,
    pub identity: Option<NamedRef>,
    pub resource: Option<NamedRef>,
    pub privilege: Option<String>,
    /// Who answers for the secret itself (e.g. whoever holds the vendor account).
    pub owner: Option<NamedRef>,
    /// The mapping rule that mapped it on import, if one did.
    pub mapped_by_rule: Option<i64>,
    pub resolution_reason: Option<String>,
    pub resolved_by: Option<NamedRef>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The revoked grant, for a leaked Stint credential.
    pub grant_id: Option<i64>,
    /// Whether the viewer may triage it now.
    pub can_triage: bool,
}

/// A triage decision on one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TriageBody {
    /// It gives `identity_id` access to `resource_id` (with `privilege`, if known).
    Map {
        identity_id: i64,
        resource_id: i64,
        #[serde(default)]
        privilege: Option<String>,
    },
    FalsePositive {
        reason: String,
    },
    Rotated {
        reason: String,
    },
}

/// A standing credential recorded by hand (no secret: only where it lives and what it
/// reaches).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewStandingBody {
    pub identity_id: i64,
    pub resource_id: i64,
    #[serde(default)]
    pub privilege: Option<String>,
    pub location: String,
    pub secret_type: String,
    #[serde(default)]
    pub description: String,
    /// Who answers for the secret; the user recording it when not given.
    #[serde(default)]
    pub owner_id: Option<i64>,
}

/// Maps findings on import: every part that is set must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MappingRuleBody {
    #[serde(default)]
    pub tool: Option<SecretSource>,
    /// Matched against the finding's type, ignoring case (`AWS Access Key`).
    #[serde(default)]
    pub secret_type: Option<String>,
    /// A glob over the file path (`deploy/**/*.env`); `*` alone matches everything.
    pub path_pattern: String,
    pub identity_id: i64,
    pub resource_id: i64,
    #[serde(default)]
    pub privilege: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MappingRuleView {
    pub id: i64,
    pub tool: Option<SecretSource>,
    pub secret_type: Option<String>,
    pub path_pattern: String,
    pub identity: NamedRef,
    pub resource: NamedRef,
    pub privilege: Option<String>,
    pub created_by: NamedRef,
    pub created_at: DateTime<Utc>,
}

/// What one import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportSummary {
    pub tool: Option<SecretSource>,
    pub source: String,
    /// Findings in the report (after merging the same secret at the same place).
    pub findings: u32,
    pub new: u32,
    pub seen_again: u32,
    /// Earlier findings of the same tool and source that this full scan did not report.
    pub not_seen: u32,
    pub mapped_by_rule: u32,
    /// Grants revoked because their credential was in the report.
    pub revoked_grants: Vec<i64>,
}

/// One resource's coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceCoverage {
    pub resource: NamedRef,
    /// Mapped standing credentials that reach it.
    pub standing_paths: u32,
}

impl ResourceCoverage {
    pub fn jit_only(&self) -> bool {
        self.standing_paths == 0
    }

    /// `JIT only` or `standing path exists (N)`.
    pub fn label(&self) -> String {
        if self.jit_only() {
            "JIT only".into()
        } else {
            format!("standing path exists ({})", self.standing_paths)
        }
    }
}

/// Coverage at the end of one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoveragePoint {
    pub at: DateTime<Utc>,
    pub jit_only: u32,
    pub resources: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageView {
    pub resources: Vec<ResourceCoverage>,
    /// Findings nobody has mapped or resolved yet.
    pub unmapped: u32,
    /// The unresolved standing credential first seen longest ago.
    pub oldest_unresolved: Option<StandingView>,
    /// Oldest first, one point a day.
    pub history: Vec<CoveragePoint>,
}

impl CoverageView {
    pub fn jit_only(&self) -> u32 {
        self.resources.iter().filter(|r| r.jit_only()).count() as u32
    }
}

/// The share of resources that are JIT only, in whole percent (100 with no resources:
/// nothing is reachable outside JIT).
pub fn share_percent(jit_only: u32, resources: u32) -> u32 {
    if resources == 0 {
        100
    } else {
        (u64::from(jit_only) * 100 / u64::from(resources)) as u32
    }
}

/// "No finding waits for triage." / "1 finding waits …" / "3 findings wait …".
pub fn waiting_for_triage(unmapped: u32) -> String {
    match unmapped {
        0 => "No finding waits for triage.".into(),
        1 => "1 finding waits for triage.".into(),
        n => format!("{n} findings wait for triage."),
    }
}

/// What the actor has to do with a finding, as triage needs it.
#[derive(Debug, Clone, Copy)]
pub struct TriageActor {
    pub admin: bool,
    /// Owns the identity the finding is mapped to now (false when unmapped).
    pub owns_current_identity: bool,
    /// Owns the identity a `Map` decision names.
    pub owns_target_identity: bool,
    /// Mapped this finding by hand: dismissing it then takes an admin, or anyone could
    /// claim a finding and make it disappear.
    pub mapped_it: bool,
}

/// Whether `actor` may triage a finding in `status` at all (to show the controls).
pub fn may_triage(status: StandingStatus, admin: bool, owns_current_identity: bool) -> bool {
    !status.is_resolved() && (admin || owns_current_identity || status == StandingStatus::Unmapped)
}

/// Checks a triage decision; returns the new status and the trimmed reason.
///
/// Admins triage anything. An owner may map an unmapped finding to an identity they own,
/// and decide on findings mapped to an identity they own; resolving an unmapped finding
/// as false positive or rotated takes an admin, since no owner answers for it yet.
pub fn decide_triage(
    status: StandingStatus,
    body: &TriageBody,
    actor: TriageActor,
) -> Result<(StandingStatus, Option<String>), RuleError> {
    if status.is_resolved() {
        return Err(RuleError::Conflict(format!(
            "this finding is already resolved ({})",
            status.label()
        )));
    }
    let may_touch = actor.admin
        || actor.owns_current_identity
        || (status == StandingStatus::Unmapped && matches!(body, TriageBody::Map { .. }));
    if !may_touch {
        return Err(RuleError::Forbidden(
            "only admins and the owners of the identity it is mapped to triage this finding".into(),
        ));
    }
    match body {
        TriageBody::Map { .. } => {
            if !actor.admin && !actor.owns_target_identity {
                return Err(RuleError::Forbidden(
                    "you can map findings only to identities you own".into(),
                ));
            }
            Ok((StandingStatus::Mapped, None))
        }
        TriageBody::FalsePositive { reason } => {
            if actor.mapped_it && !actor.admin {
                return Err(RuleError::Forbidden(
                    "you mapped this finding yourself; an admin must confirm it is a false \
                     positive"
                        .into(),
                ));
            }
            Ok((StandingStatus::FalsePositive, Some(check_reason(reason)?)))
        }
        TriageBody::Rotated { reason } => {
            Ok((StandingStatus::Rotated, Some(check_reason(reason)?)))
        }
    }
}

fn check_reason(reason: &str) -> Result<String, RuleError> {
    let reason = required_text("reason", reason, "say why")?;
    if reason.chars().count() < REASON_MIN_CHARS {
        return Err(RuleError::invalid(
            "reason",
            format!("say why in at least {REASON_MIN_CHARS} characters"),
        ));
    }
    Ok(reason)
}

/// Checks a hand-made record's text fields; returns them trimmed.
pub fn check_new_standing(body: &NewStandingBody) -> Result<NewStandingBody, RuleError> {
    Ok(NewStandingBody {
        location: required_text("location", &body.location, "say where the secret lives")?,
        secret_type: required_text("secret_type", &body.secret_type, "say what kind it is")?,
        description: optional_text("description", Some(&body.description))?.unwrap_or_default(),
        privilege: optional_text("privilege", body.privilege.as_deref())?,
        ..body.clone()
    })
}

/// Checks a mapping rule's pattern and type; returns them trimmed.
pub fn check_mapping_rule(body: &MappingRuleBody) -> Result<MappingRuleBody, RuleError> {
    let pattern = body.path_pattern.trim();
    if pattern.is_empty() {
        return Err(RuleError::invalid(
            "path_pattern",
            "required (use * to match every path)",
        ));
    }
    if pattern.chars().count() > 200 {
        return Err(RuleError::invalid("path_pattern", "at most 200 characters"));
    }
    Ok(MappingRuleBody {
        path_pattern: pattern.to_string(),
        secret_type: optional_text("secret_type", body.secret_type.as_deref())?,
        privilege: optional_text("privilege", body.privilege.as_deref())?,
        ..body.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: TriageActor = TriageActor {
        admin: true,
        owns_current_identity: false,
        owns_target_identity: false,
        mapped_it: false,
    };
    const NOBODY: TriageActor = TriageActor {
        admin: false,
        owns_current_identity: false,
        owns_target_identity: false,
        mapped_it: false,
    };

    fn map() -> TriageBody {
        TriageBody::Map {
            identity_id: 1,
            resource_id: 2,
            privilege: None,
        }
    }

    fn false_positive(reason: &str) -> TriageBody {
        TriageBody::FalsePositive {
            reason: reason.into(),
        }
    }

    #[test]
    fn an_owner_maps_unmapped_findings_only_to_identities_they_own() {
        let owner = TriageActor {
            owns_target_identity: true,
            ..NOBODY
        };
        assert_eq!(
            decide_triage(StandingStatus::Unmapped, &map(), owner)
                .unwrap()
                .0,
            StandingStatus::Mapped
        );
        assert!(matches!(
            decide_triage(StandingStatus::Unmapped, &map(), NOBODY),
            Err(RuleError::Forbidden(_))
        ));
    }

    #[test]
    fn only_admins_resolve_a_finding_nobody_answers_for_yet() {
        let reason = "test fixture, never deployed";
        assert!(matches!(
            decide_triage(
                StandingStatus::Unmapped,
                &false_positive(reason),
                TriageActor {
                    owns_target_identity: true,
                    ..NOBODY
                }
            ),
            Err(RuleError::Forbidden(_))
        ));
        assert_eq!(
            decide_triage(StandingStatus::Unmapped, &false_positive(reason), ADMIN).unwrap(),
            (StandingStatus::FalsePositive, Some(reason.into()))
        );
        let owner_of_mapped = TriageActor {
            owns_current_identity: true,
            ..NOBODY
        };
        let rotated = TriageBody::Rotated {
            reason: "rotated in the vendor console".into(),
        };
        assert_eq!(
            decide_triage(StandingStatus::Mapped, &rotated, owner_of_mapped)
                .unwrap()
                .0,
            StandingStatus::Rotated
        );
        // Who mapped a finding may not also dismiss it; an admin may.
        let mapper = TriageActor {
            mapped_it: true,
            ..owner_of_mapped
        };
        assert!(matches!(
            decide_triage(StandingStatus::Mapped, &false_positive(reason), mapper),
            Err(RuleError::Forbidden(m)) if m.contains("an admin")
        ));
        assert!(decide_triage(StandingStatus::Mapped, &rotated, mapper).is_ok());
        let admin_mapper = TriageActor {
            mapped_it: true,
            ..ADMIN
        };
        assert!(
            decide_triage(
                StandingStatus::Mapped,
                &false_positive(reason),
                admin_mapper
            )
            .is_ok()
        );
    }

    #[test]
    fn resolved_findings_stay_resolved_and_reasons_must_say_something() {
        for status in [
            StandingStatus::FalsePositive,
            StandingStatus::Rotated,
            StandingStatus::LeakedStintCredential,
        ] {
            assert!(matches!(
                decide_triage(status, &map(), ADMIN),
                Err(RuleError::Conflict(_))
            ));
            assert!(!may_triage(status, true, true));
        }
        assert!(matches!(
            decide_triage(StandingStatus::Mapped, &false_positive("  no  "), ADMIN),
            Err(RuleError::Invalid {
                field: "reason",
                ..
            })
        ));
    }

    #[test]
    fn coverage_is_the_share_of_resources_without_a_standing_path() {
        assert_eq!(share_percent(0, 0), 100);
        assert_eq!(share_percent(1, 3), 33);
        assert_eq!(share_percent(2, 2), 100);
        let covered = ResourceCoverage {
            resource: NamedRef::new(1, "payments-db"),
            standing_paths: 0,
        };
        assert_eq!(covered.label(), "JIT only");
        let exposed = ResourceCoverage {
            standing_paths: 1,
            ..covered
        };
        assert_eq!(exposed.label(), "standing path exists (1)");
    }

    #[test]
    fn triage_bodies_read_as_the_api_documents_them() {
        let body: TriageBody = serde_json::from_str(
            r#"{"action":"map","identity_id":3,"resource_id":1,"privilege":"read"}"#,
        )
        .unwrap();
        assert_eq!(
            body,
            TriageBody::Map {
                identity_id: 3,
                resource_id: 1,
                privilege: Some("read".into())
            }
        );
        let body: TriageBody =
            serde_json::from_str(r#"{"action":"rotated","reason":"rotated on 2026-11-20"}"#)
                .unwrap();
        assert!(matches!(body, TriageBody::Rotated { .. }));
    }
}
