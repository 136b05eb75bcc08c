//! `stint report evidence`: the evidence report, read without a running broker.

use super::open_existing;
use clap::Subcommand;
use std::path::PathBuf;
use stint_broker::clock::{Clock, SystemClock};

#[derive(Subcommand)]
pub enum ReportCommand {
    /// What Stint enforced over a period, mapped to OWASP NHI Top 10, NIST CSF 2.0 and
    /// SOC 2: JIT coverage, tickets, approval times, break-glass reviews, orphaned
    /// identities, standing and leaked credentials, revocations, and the audit chain's
    /// verification. Written to stdout.
    Evidence {
        #[arg(long, value_enum, default_value = "json")]
        format: stint_broker::report::Format,
        /// The period's start (RFC 3339); by default 90 days before its end.
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// The period's end (RFC 3339); by default now.
        #[arg(long)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// The zone the HTML shows times in, e.g. Europe/Berlin.
        #[arg(long, value_parser = stint_broker::export::parse_zone, default_value = "UTC")]
        tz: chrono_tz::Tz,
        /// The portal's URL, for the HTML's links.
        #[arg(
            long,
            env = "STINT_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
        /// Verify checkpoints against the keys that unseal with this key file (by default,
        /// against the public keys stored in the same database, which proves less).
        #[arg(long = "key-file", value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
}

pub async fn report(command: ReportCommand, database_url: &str) -> anyhow::Result<()> {
    use stint_broker::{keys, report};
    let store = open_existing(database_url).await?;
    let ReportCommand::Evidence {
        format,
        since,
        until,
        tz,
        public_url,
        key_file,
    } = command;
    let now = SystemClock.now();
    let (since, until) = stint_core::evidence::period(since, until, now)?;
    let trusted = match key_file {
        Some(path) => keys::trusted_by_key_file(&*store, &keys::KeyFile::open(&path)?, now).await?,
        None => keys::stored_public_keys(&*store, now).await?,
    };
    let evidence = report::evidence(&*store, &trusted, since, until, now).await?;
    match format {
        report::Format::Json => println!("{}", serde_json::to_string_pretty(&evidence)?),
        report::Format::Html => println!("{}", report::html::render(&evidence, &public_url, tz)),
    }
    Ok(())
}
