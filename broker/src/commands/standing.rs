//! `stint standing import`: a secrets scanner's report, imported without a running broker.

use clap::Subcommand;
use std::path::PathBuf;
use stint_broker::clock::{Clock, SystemClock};
use stint_core::standing::SecretSource;

#[derive(Subcommand)]
pub enum StandingCommand {
    /// Import a detect-secrets baseline, a gitleaks JSON report or trufflehog JSON lines.
    /// Only fingerprints of the secrets are stored; a credential Stint issued that is in
    /// the report has its grant revoked at once.
    Import {
        /// The report file.
        file: PathBuf,
        /// What was scanned (a repository, a CI system): findings of the same tool and
        /// source are one scan's, and a newer full scan marks those it lacks as not seen.
        #[arg(long)]
        source: String,
        /// The report's format; read from its shape when not given.
        #[arg(long, value_parser = ["detect-secrets", "gitleaks", "trufflehog"])]
        format: Option<String>,
        /// The scan covered part of the source: mark nothing as not seen.
        #[arg(long)]
        partial: bool,
    },
}

pub async fn standing(command: StandingCommand, database_url: &str) -> anyhow::Result<()> {
    let StandingCommand::Import {
        file,
        source,
        format,
        partial,
    } = command;
    let size = std::fs::metadata(&file)?.len();
    if size > stint_broker::scan_report::MAX_REPORT_BYTES as u64 {
        anyhow::bail!(
            "{}: {size} bytes; at most {} are accepted",
            file.display(),
            stint_broker::scan_report::MAX_REPORT_BYTES
        );
    }
    let bytes = std::fs::read(&file)?;
    let format = format.as_deref().and_then(SecretSource::parse);
    let report = stint_broker::scan_report::parse(&bytes, format)
        .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", file.display()))?;
    let store = stint_broker::store::open(database_url).await?;
    let s = store
        .import_report(None, &report, &source, !partial, SystemClock.now())
        .await?;
    println!(
        "Imported {} findings from {} ({}): {} new, {} seen again, {} no longer seen, \
         {} mapped by rules, {} grants revoked for leaked Stint credentials.",
        s.findings,
        source,
        report.tool.as_str(),
        s.new,
        s.seen_again,
        s.not_seen,
        s.mapped_by_rule,
        s.revoked_grants.len()
    );
    Ok(())
}
