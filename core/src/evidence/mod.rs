//! The evidence report: what Stint enforced over a period, in figures an auditor can hand
//! in, each section mapped to the framework items it gives evidence for (OWASP NHI Top 10,
//! NIST CSF 2.0, SOC 2).
//!
//! The broker reads the period's records as plain [`facts::Facts`]; every figure is
//! computed here, in pure code, so the API, the command line, the portal's view and the
//! tests agree on what a number means.

pub mod facts;
pub mod frameworks;
mod sections;

use crate::api::{AuditCheckpoint, AuditVerification};
use crate::rules::RuleError;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

pub use frameworks::FrameworkRow;

/// The period a report covers when none is given.
pub const DEFAULT_PERIOD_DAYS: i64 = 90;
/// The longest period one report covers (a year, leap day included).
pub const MAX_PERIOD_DAYS: i64 = 366;
/// Named items a section lists at most; the rest are counted.
pub const MAX_ITEMS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SectionKey {
    Coverage,
    Requests,
    Grants,
    BreakGlass,
    Ownership,
    AccessReviews,
    Standing,
    Leaks,
    Revocations,
    Audit,
}

impl SectionKey {
    pub const ALL: [SectionKey; 10] = [
        SectionKey::Coverage,
        SectionKey::Requests,
        SectionKey::Grants,
        SectionKey::BreakGlass,
        SectionKey::Ownership,
        SectionKey::AccessReviews,
        SectionKey::Standing,
        SectionKey::Leaks,
        SectionKey::Revocations,
        SectionKey::Audit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SectionKey::Coverage => "coverage",
            SectionKey::Requests => "requests",
            SectionKey::Grants => "grants",
            SectionKey::BreakGlass => "break_glass",
            SectionKey::Ownership => "ownership",
            SectionKey::AccessReviews => "access_reviews",
            SectionKey::Standing => "standing",
            SectionKey::Leaks => "leaks",
            SectionKey::Revocations => "revocations",
            SectionKey::Audit => "audit",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            SectionKey::Coverage => "JIT coverage",
            SectionKey::Requests => "Requests, tickets and approvals",
            SectionKey::Grants => "Grants and credential lifetimes",
            SectionKey::BreakGlass => "Break-glass and its reviews",
            SectionKey::Ownership => "Ownership and orphaned identities",
            SectionKey::AccessReviews => "Periodic access reviews",
            SectionKey::Standing => "Standing credentials",
            SectionKey::Leaks => "Leaked credentials revoked",
            SectionKey::Revocations => "Revocation in downstream systems",
            SectionKey::Audit => "The audit trail",
        }
    }
}

/// The whole report, as `GET /api/v1/reports/evidence` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceReport {
    pub generated_at: DateTime<Utc>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub sections: Vec<Section>,
    /// Each framework's items in its own order, with the sections that give evidence
    /// for each (an empty list: none does).
    pub owasp_nhi: Vec<FrameworkRow>,
    pub nist_csf: Vec<FrameworkRow>,
    pub soc2: Vec<FrameworkRow>,
    pub chain: ChainEvidence,
}

impl EvidenceReport {
    pub fn section(&self, key: SectionKey) -> Option<&Section> {
        self.sections.iter().find(|s| s.key == key)
    }
}

/// The audit chain's verification, and the signed checkpoint it ends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainEvidence {
    pub verification: AuditVerification,
    /// The newest stored checkpoint the verified chain reaches (`None`: none yet).
    pub checkpoint: Option<AuditCheckpoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Section {
    pub key: SectionKey,
    pub title: String,
    /// The figures in one or two sentences.
    pub summary: String,
    /// Something here needs someone's action (an overdue review, an orphan, a revocation
    /// not confirmed, a chain that does not verify).
    pub attention: bool,
    pub figures: Vec<Figure>,
    pub chart: Option<Chart>,
    /// The things behind the figures that someone may need to look at, by name.
    pub items: Vec<Item>,
    /// Items beyond the first `MAX_ITEMS`, counted.
    pub more_items: u32,
    pub owasp_nhi: Vec<String>,
    pub nist_csf: Vec<String>,
    pub soc2: Vec<String>,
    /// The audit page's filter (`/audit?…`) listing the events behind the figures.
    pub events_query: String,
}

impl Section {
    pub fn figure(&self, key: &str) -> Option<i64> {
        self.figures
            .iter()
            .find(|f| f.key == key)
            .and_then(|f| f.value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Count,
    Percent,
    Seconds,
}

/// One number, with a key scripts can rely on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figure {
    pub key: String,
    pub label: String,
    /// `None` when there is nothing to measure (a share of no requests).
    pub value: Option<i64>,
    pub unit: Unit,
}

impl Figure {
    pub fn new(key: &str, label: &str, value: Option<i64>, unit: Unit) -> Figure {
        Figure {
            key: key.into(),
            label: label.into(),
            value,
            unit,
        }
    }

    /// "42", "71 %", "1 h 5 min", "—".
    pub fn display(&self) -> String {
        match (self.value, self.unit) {
            (None, _) => "—".into(),
            (Some(v), Unit::Count) => v.to_string(),
            (Some(v), Unit::Percent) => format!("{v} %"),
            (Some(v), Unit::Seconds) => crate::format::duration(v),
        }
    }
}

/// Bars, one per label, of one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Chart {
    pub caption: String,
    pub unit: Unit,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bar {
    pub label: String,
    pub value: i64,
}

impl Chart {
    /// The scale's top: 100 for percentages, else the largest bar (at least 1).
    pub fn top(&self) -> i64 {
        match self.unit {
            Unit::Percent => 100,
            _ => self.bars.iter().map(|b| b.value).max().unwrap_or(0).max(1),
        }
    }
}

/// A named thing behind a figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Item {
    pub label: String,
    pub detail: String,
    /// The moment the detail is about, shown in the reader's zone.
    pub at: Option<DateTime<Utc>>,
    /// Where the portal shows it (`/reviews/7`, `/audit?grant_id=3`).
    pub href: Option<String>,
}

/// The period a report covers: `until` defaults to now and never passes it, `since` to
/// `DEFAULT_PERIOD_DAYS` before `until`.
pub fn period(
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), RuleError> {
    let until = until.unwrap_or(now).min(now);
    let since = since.unwrap_or(until - Duration::days(DEFAULT_PERIOD_DAYS));
    if since >= until {
        return Err(RuleError::invalid(
            "since",
            "the period must start before it ends (and before now)",
        ));
    }
    if until - since > Duration::days(MAX_PERIOD_DAYS) {
        return Err(RuleError::invalid(
            "since",
            format!("a report covers at most {MAX_PERIOD_DAYS} days"),
        ));
    }
    Ok((since, until))
}

/// Computes the report of the period `[since, until)` from its facts.
pub fn report(facts: &facts::Facts, since: DateTime<Utc>, until: DateTime<Utc>) -> EvidenceReport {
    let period = Period { since, until };
    let sections = SectionKey::ALL
        .into_iter()
        .map(|key| sections::build(key, facts, &period))
        .collect();
    let checkpoint = facts.checkpoint.clone();
    EvidenceReport {
        generated_at: facts.now,
        since,
        until,
        sections,
        owasp_nhi: frameworks::matrix(&frameworks::OWASP_NHI, |m| m.owasp_nhi),
        nist_csf: frameworks::matrix(&frameworks::NIST_CSF, |m| m.nist_csf),
        soc2: frameworks::matrix(&frameworks::SOC2, |m| m.soc2),
        chain: ChainEvidence {
            verification: facts.verification.clone(),
            checkpoint,
        },
    }
}

/// `[since, until)`.
pub(crate) struct Period {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl Period {
    pub fn holds(&self, t: DateTime<Utc>) -> bool {
        self.since <= t && t < self.until
    }

    /// The audit page's filter of the period's events whose action starts with `action`.
    pub fn events_query(&self, action: &str) -> String {
        format!(
            "action={action}&since={}&until={}",
            self.since.to_rfc3339_opts(SecondsFormat::Secs, true),
            self.until.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }
}
