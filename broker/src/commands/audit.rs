//! `stint audit verify|export`: the trail read without a running broker.

use super::open_existing;
use clap::Subcommand;
use std::path::PathBuf;
use stint_broker::clock::{Clock, SystemClock};
use stint_broker::export::{Encoder, Format};
use stint_broker::store::Store;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and hold it against signed checkpoints; exit 0 if every event
    /// verifies, 1 naming the first that does not. Without --trust-jwks, --checkpoints or
    /// --key-file it can only check the chain's internal consistency, and says so.
    Verify {
        /// A JWK Set kept outside the database (a saved copy of /.well-known/jwks.json, or
        /// its http(s) URL): checkpoints must be signed by one of its keys.
        #[arg(long = "trust-jwks", value_name = "FILE|URL")]
        trust_jwks: Option<String>,
        /// Checkpoints kept outside the database: the audit stream's file (its
        /// `{"checkpoint": …}` lines) or a saved GET /api/v1/audit/checkpoints.
        #[arg(long, value_name = "FILE")]
        checkpoints: Option<PathBuf>,
        /// Trust the stored keys that unseal with this key file.
        #[arg(long = "key-file", value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
    /// Write events to stdout, oldest first, for a SIEM.
    Export {
        #[arg(long, value_enum, default_value = "ndjson")]
        format: Format,
        /// Only events at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Only events before this time (RFC 3339).
        #[arg(long)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// Keep going: write each new event as it commits (polled every second).
        #[arg(long)]
        follow: bool,
        /// Also write each event's time in this zone (`at_local`), e.g. Europe/Berlin.
        #[arg(long, value_parser = stint_broker::export::parse_zone)]
        tz: Option<chrono_tz::Tz>,
    },
}

pub async fn audit(command: AuditCommand, database_url: &str) -> anyhow::Result<()> {
    let store = open_existing(database_url).await?;
    match command {
        AuditCommand::Verify {
            trust_jwks,
            checkpoints,
            key_file,
        } => {
            verify(
                &*store,
                trust_jwks.as_deref(),
                checkpoints.as_deref(),
                key_file.as_deref(),
            )
            .await
        }
        AuditCommand::Export {
            format,
            since,
            until,
            follow,
            tz,
        } => export(&*store, Encoder::new(format, tz), since, until, follow).await,
    }
}

async fn verify(
    store: &dyn Store,
    trust_jwks: Option<&str>,
    checkpoints: Option<&std::path::Path>,
    key_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use stint_broker::keys;
    let now = SystemClock.now();
    let (head, _) = store.audit_head().await?;
    if head == 0 {
        anyhow::bail!("the audit trail is empty: this is not the database of a broker that ran");
    }
    let mut anchors = Vec::new();
    let mut trusted = stint_broker::credential::TrustedKeys::default();
    if let Some(source) = trust_jwks {
        let text = read_jwks(source).await?;
        let jwks =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{source}: not JSON: {e}"))?;
        let keys = stint_broker::credential::TrustedKeys::from_jwks(&jwks)
            .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        anchors.push(format!("{} keys of {source}", keys.len()));
        trusted = keys;
    }
    if let Some(path) = key_file {
        let file = keys::KeyFile::open(path)?;
        let unsealed = keys::trusted_by_key_file(store, &file, now).await?;
        anchors.push(format!(
            "{} keys that unseal with {}",
            unsealed.len(),
            path.display()
        ));
        if trust_jwks.is_none() {
            trusted = unsealed;
        }
    }
    let outside = match checkpoints {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let list = stint_broker::export::read_checkpoints(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            anchors.push(format!("{} checkpoints of {}", list.len(), path.display()));
            list
        }
        None => Vec::new(),
    };
    if trust_jwks.is_none() && key_file.is_none() {
        // Nothing to hold the stored keys against: use them, and say what that proves.
        trusted = keys::stored_public_keys(store, now).await?;
    }
    let v = store.verify_audit(&trusted, &outside).await?;
    if !v.ok {
        println!(
            "FAILED at event {}: {}. The {} events before it verify (head {}).",
            v.first_bad_seq.unwrap_or_default(),
            v.reason.unwrap_or_default(),
            v.count,
            v.head_hash
        );
        std::process::exit(1);
    }
    println!(
        "OK: {} events verify; head {} {}",
        v.count, v.head_seq, v.head_hash
    );
    if anchors.is_empty() {
        println!(
            "Only the chain's internal consistency was checked, against keys stored in the \
             same database: a copy rewritten whole would pass too. Give --trust-jwks, \
             --checkpoints or --key-file to check it against something kept elsewhere."
        );
    } else {
        println!("Checked against {}.", anchors.join(", "));
    }
    Ok(())
}

/// A JWK Set from a file, or fetched from an http(s) URL.
async fn read_jwks(source: &str) -> anyhow::Result<String> {
    if source.starts_with("https://") || source.starts_with("http://") {
        let url = source.to_string();
        return tokio::task::spawn_blocking(move || {
            ureq::get(&url)
                .call()
                .and_then(|mut answer| answer.body_mut().read_to_string())
                .map_err(|e| anyhow::anyhow!("{url}: {e}"))
        })
        .await?;
    }
    std::fs::read_to_string(source).map_err(|e| anyhow::anyhow!("{source}: {e}"))
}

/// Writes every event in `[since, until)` to stdout, oldest first, a page at a time.
async fn export(
    store: &dyn Store,
    encoder: Encoder,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    follow: bool,
) -> anyhow::Result<()> {
    use std::io::Write;
    let filter = stint_broker::store::AuditFilter {
        asked: stint_core::query::AuditQuery {
            since,
            until,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    out.write_all(&encoder.header())?;
    let mut after_seq = 0;
    loop {
        let page = stint_broker::export::page(store, &filter, after_seq).await?;
        for event in &page {
            out.write_all(&encoder.encode(event))?;
        }
        if let Some(last) = page.last() {
            after_seq = last.seq;
        }
        if page.len() as u32 == stint_broker::export::PAGE {
            continue;
        }
        if !follow {
            break;
        }
        out.flush()?;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    out.flush()?;
    Ok(())
}
