//! The evidence report (`GET /api/v1/reports/evidence`, `stint report evidence`): the
//! period's facts read in one snapshot, the figures computed by `stint_core::evidence`,
//! and a self-contained HTML rendering of them.

pub mod html;

use crate::credential::TrustedKeys;
use crate::store::{Store, StoreResult};
use chrono::{DateTime, Utc};
use stint_core::evidence::{self, EvidenceReport};

/// The report of `[since, until)` as of `now`, its chain verified against `trusted`.
pub async fn evidence(
    store: &dyn Store,
    trusted: &TrustedKeys,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<EvidenceReport> {
    let facts = store.evidence_facts(trusted, since, until, now).await?;
    Ok(evidence::report(&facts, since, until))
}

/// The formats the report comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Html,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            _ => None,
        }
    }
}
