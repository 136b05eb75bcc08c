//! The audit trail in formats a SIEM reads: one JSON object per line, or CSV. Shared by
//! `stint audit export` and `GET /api/v1/audit/export`.

use crate::store::{AuditFilter, Store, StoreResult};
use stint_core::api::AuditEventView;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "ndjson" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        }
    }

    /// What comes before the first event.
    pub fn header(self) -> Vec<u8> {
        match self {
            Format::Ndjson => Vec::new(),
            Format::Csv => b"seq,at,actor,action,target,details,source_ip,user_agent\n".to_vec(),
        }
    }

    /// One event, ending in a newline.
    pub fn encode(self, event: &AuditEventView) -> Vec<u8> {
        match self {
            Format::Ndjson => {
                let mut line = serde_json::to_vec(event).expect("events serialize");
                line.push(b'\n');
                line
            }
            Format::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record([
                    event.seq.to_string(),
                    event.at.to_rfc3339(),
                    event.actor.clone(),
                    event.action.clone(),
                    event.target.clone(),
                    event.details.to_string(),
                    event.source_ip.clone().unwrap_or_default(),
                    event.user_agent.clone().unwrap_or_default(),
                ])
                .expect("writing to memory cannot fail");
                w.into_inner().expect("writing to memory cannot fail")
            }
        }
    }
}

/// Events are read this many at a time.
pub const PAGE: u32 = 10_000;

/// The next page of `filter`'s events after `after_seq`, oldest first.
pub async fn page(
    store: &dyn Store,
    filter: &AuditFilter,
    after_seq: i64,
) -> StoreResult<Vec<AuditEventView>> {
    let filter = AuditFilter {
        after_seq: Some(after_seq),
        before_seq: None,
        limit: PAGE,
        ..filter.clone()
    };
    store.audit_events(&filter).await
}

/// Follows the trail: writes each event committed after `after_seq` as an NDJSON line to
/// `out`, checking every `every` until `stop` turns true. Events are read back only once
/// committed, so a line never describes a change that was rolled back.
pub async fn follow(
    store: std::sync::Arc<dyn Store>,
    mut out: Box<dyn std::io::Write + Send>,
    mut after_seq: i64,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let filter = AuditFilter::default();
    loop {
        match page(&*store, &filter, after_seq).await {
            Ok(events) => {
                for event in &events {
                    if let Err(e) = out.write_all(&Format::Ndjson.encode(event)) {
                        tracing::error!(error = %e, "cannot write the audit stream; it stops");
                        return;
                    }
                    after_seq = event.seq;
                }
                let _ = out.flush();
                if events.len() as u32 == PAGE {
                    continue;
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the audit trail failed; retrying"),
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}
