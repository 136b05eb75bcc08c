//! The audit trail in formats a SIEM reads: one JSON object per line, or CSV. Shared by
//! `stint audit export` and `GET /api/v1/audit/export`.

use crate::store::{AuditFilter, Store, StoreResult};
use chrono::SecondsFormat;
use chrono_tz::Tz;
use stint_core::api::{AuditCheckpoint, AuditEventView};
use stint_core::query::AuditQuery;

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
}

/// How events are written: the format, and optionally a time zone whose wall-clock time
/// each event also carries (`at_local`, RFC 3339 with the zone's offset then), so a person
/// reading the file sees the times the portal showed them.
#[derive(Debug, Clone, Copy)]
pub struct Encoder {
    pub format: Format,
    pub zone: Option<Tz>,
}

impl Encoder {
    pub fn new(format: Format, zone: Option<Tz>) -> Self {
        Encoder { format, zone }
    }

    /// What comes before the first event.
    pub fn header(&self) -> Vec<u8> {
        match (self.format, self.zone) {
            (Format::Ndjson, _) => Vec::new(),
            // Columns only ever get added at the end.
            (Format::Csv, None) => {
                b"seq,at,actor,action,target,details,source_ip,user_agent,actor_id\n".to_vec()
            }
            (Format::Csv, Some(_)) => {
                b"seq,at,actor,action,target,details,source_ip,user_agent,actor_id,at_local\n"
                    .to_vec()
            }
        }
    }

    /// One event, ending in a newline.
    pub fn encode(&self, event: &AuditEventView) -> Vec<u8> {
        let local = self.zone.map(|zone| {
            event
                .at
                .with_timezone(&zone)
                .to_rfc3339_opts(SecondsFormat::AutoSi, false)
        });
        match self.format {
            Format::Ndjson => {
                let mut value = serde_json::to_value(event).expect("events serialize");
                if let (Some(local), Some(object)) = (local, value.as_object_mut()) {
                    object.insert("at_local".into(), local.into());
                }
                let mut line = serde_json::to_vec(&value).expect("events serialize");
                line.push(b'\n');
                line
            }
            Format::Csv => {
                let mut record = vec![
                    event.seq.to_string(),
                    event.at.to_rfc3339(),
                    spreadsheet_safe(&event.actor),
                    spreadsheet_safe(&event.action),
                    spreadsheet_safe(&event.target),
                    spreadsheet_safe(&event.details.to_string()),
                    spreadsheet_safe(event.source_ip.as_deref().unwrap_or_default()),
                    spreadsheet_safe(event.user_agent.as_deref().unwrap_or_default()),
                    event.actor_id.map(|id| id.to_string()).unwrap_or_default(),
                ];
                record.extend(local);
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(record)
                    .expect("writing to memory cannot fail");
                w.into_inner().expect("writing to memory cannot fail")
            }
        }
    }
}

/// An IANA time zone name (`Europe/Berlin`), as the portal reads it from the browser.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("`{name}` is not a time zone name such as Europe/Berlin or UTC"))
}

/// A cell a spreadsheet will not run as a formula (OWASP's CSV injection advice): text
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`.
pub fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
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
        asked: AuditQuery {
            after_seq: Some(after_seq),
            cursor: None,
            ..filter.asked.clone()
        },
        limit: PAGE,
        ..filter.clone()
    };
    store.audit_events(&filter).await
}

/// A checkpoint as the audit stream writes it: `{"checkpoint": {…}}` on a line of its own.
pub fn encode_checkpoint(checkpoint: &AuditCheckpoint) -> Vec<u8> {
    let mut line = serde_json::to_vec(&serde_json::json!({ "checkpoint": checkpoint }))
        .expect("checkpoints serialize");
    line.push(b'\n');
    line
}

/// The checkpoints of an audit stream's file (its event lines are skipped), or of a saved
/// `GET /api/v1/audit/checkpoints` (a JSON array).
pub fn read_checkpoints(text: &str) -> Result<Vec<AuditCheckpoint>, String> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).map_err(|e| format!("not a list of checkpoints: {e}"));
    }
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|_| format!("line {} is not JSON", i + 1))?;
        if let Some(checkpoint) = value.get("checkpoint") {
            found.push(
                serde_json::from_value(checkpoint.clone())
                    .map_err(|e| format!("line {}: not a checkpoint: {e}", i + 1))?,
            );
        }
    }
    Ok(found)
}

/// Follows the trail: writes each event committed after `after_seq` as an NDJSON line to
/// `out`, and each new signed checkpoint as a `{"checkpoint": …}` line, checking every
/// `every` until `stop` turns true. Events are read back only once committed, so a line
/// never describes a change that was rolled back; a copy of the checkpoints kept in the
/// stream lets `stint audit verify --checkpoints` check the database against it.
pub async fn follow(
    store: std::sync::Arc<dyn Store>,
    mut out: Box<dyn std::io::Write + Send>,
    mut after_seq: i64,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let filter = AuditFilter::default();
    let mut last_pass = false;
    let mut last_checkpoint = match store.checkpoints(1).await {
        Ok(newest) => newest.first().map(|c| (c.at, c.head_seq)),
        Err(_) => None,
    };
    loop {
        match page(&*store, &filter, after_seq).await {
            Ok(events) => {
                for event in &events {
                    if let Err(e) = out.write_all(&Encoder::new(Format::Ndjson, None).encode(event))
                    {
                        tracing::error!(error = %e, "cannot write the audit stream; it stops");
                        return;
                    }
                    after_seq = event.seq;
                }
                if events.len() as u32 == PAGE {
                    continue;
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the audit trail failed; retrying"),
        }
        match store.checkpoints(100).await {
            Ok(newest_first) => {
                for checkpoint in newest_first.iter().rev() {
                    let key = (checkpoint.at, checkpoint.head_seq);
                    if last_checkpoint.is_some_and(|last| key <= last) {
                        continue;
                    }
                    if let Err(e) = out.write_all(&encode_checkpoint(checkpoint)) {
                        tracing::error!(error = %e, "cannot write the audit stream; it stops");
                        return;
                    }
                    last_checkpoint = Some(key);
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the checkpoints failed; retrying"),
        }
        let _ = out.flush();
        if last_pass {
            return;
        }
        // Stopped: one more pass carries what committed before the stop (the broker's
        // final checkpoint), even when it landed after this pass read the checkpoints.
        if *stop.borrow() {
            last_pass = true;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_neutralised() {
        for formula in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(spreadsheet_safe(formula), format!("'{formula}"));
        }
        assert_eq!(spreadsheet_safe("curl/8.5"), "curl/8.5");
        assert_eq!(spreadsheet_safe(""), "");
    }

    #[test]
    fn an_export_in_a_zone_carries_each_time_as_its_wall_clock_showed_it() {
        let event = AuditEventView {
            seq: 7,
            at: "2026-07-01T12:00:00Z".parse().unwrap(),
            actor: "alice".into(),
            actor_id: Some(1),
            action: "request.filed".into(),
            target: "request 3".into(),
            details: serde_json::json!({}),
            source_ip: None,
            user_agent: None,
        };
        let berlin = parse_zone("Europe/Berlin").unwrap();
        let csv =
            String::from_utf8(Encoder::new(Format::Csv, Some(berlin)).encode(&event)).unwrap();
        assert!(
            csv.trim_end().ends_with(",1,2026-07-01T14:00:00+02:00"),
            "{csv}"
        );
        let line: serde_json::Value =
            serde_json::from_slice(&Encoder::new(Format::Ndjson, Some(berlin)).encode(&event))
                .unwrap();
        assert_eq!(line["at_local"], "2026-07-01T14:00:00+02:00");
        assert_eq!(line["at"], "2026-07-01T12:00:00Z");
        // Without a zone the formats are as they always were.
        let plain = String::from_utf8(Encoder::new(Format::Csv, None).encode(&event)).unwrap();
        assert!(plain.trim_end().ends_with(",1"), "{plain}");
        assert!(parse_zone("Mars/Olympus").is_err());
    }
}
