//! `stint`: the broker's command line.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use stint_broker::Broker;
use stint_broker::clock::SystemClock;
use stint_broker::config::Config;
use stint_broker::export::Format;
use stint_broker::store::Store;
use stint_core::standing::SecretSource;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "stint",
    version,
    about = "Just-in-time access for non-human identities"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The database of the commands that work without a running broker.
#[derive(clap::Args)]
struct Database {
    /// Database URL.
    #[arg(
        long = "database",
        env = "STINT_DATABASE_URL",
        default_value = "sqlite://data/stint.db",
        global = true
    )]
    url: String,
}

#[derive(Subcommand)]
enum Command {
    /// Read the audit trail without a running broker.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
        #[command(flatten)]
        database: Database,
    },
    /// Standing credentials: import a secrets scanner's report without a running broker.
    Standing {
        #[command(subcommand)]
        command: StandingCommand,
        #[command(flatten)]
        database: Database,
    },
    /// Run the broker: the API, the portal and the expiry sweeper.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "STINT_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Database URL; an SQLite file is created if missing.
        #[arg(
            long = "database",
            env = "STINT_DATABASE_URL",
            default_value = "sqlite://data/stint.db"
        )]
        database_url: String,
        /// The built portal to serve (Trunk's dist/ directory).
        #[arg(long, env = "STINT_PORTAL_DIR")]
        portal: Option<PathBuf>,
        /// The `iss` of issued credentials; defaults to http://LISTEN.
        #[arg(long, env = "STINT_ISSUER")]
        issuer: Option<String>,
        /// How long a request may wait for a decision before it expires, in seconds.
        #[arg(long, env = "STINT_PENDING_TTL_SECS", default_value_t = 24 * 3600,
              value_parser = clap::value_parser!(i64).range(1..))]
        pending_ttl_secs: i64,
        /// How many times one user may take break-glass for one identity per window.
        #[arg(long, env = "STINT_BREAK_GLASS_MAX_USES", default_value_t = 3)]
        break_glass_max_uses: u32,
        /// The window of that limit, in seconds.
        #[arg(long, env = "STINT_BREAK_GLASS_WINDOW_SECS", default_value_t = 24 * 3600,
              value_parser = clap::value_parser!(i64).range(1..))]
        break_glass_window_secs: i64,
        /// Also write each audit event, once committed, as a JSON line to this file
        /// (appended), or to stdout with `-`.
        #[arg(long, env = "STINT_AUDIT_STREAM")]
        audit_stream: Option<PathBuf>,
        /// How often to sign the audit chain's head into a checkpoint, in seconds.
        #[arg(long, env = "STINT_CHECKPOINT_INTERVAL_SECS", default_value_t = 60,
              value_parser = clap::value_parser!(u64).range(1..))]
        checkpoint_interval_secs: u64,
        /// The longest an ownership declaration holds before it must be renewed, in days.
        #[arg(long, env = "STINT_MAX_ATTESTATION_DAYS", default_value_t = 90,
              value_parser = clap::value_parser!(i64).range(1..=3650))]
        max_attestation_days: i64,
        /// Seed demo users and data into an empty database (loopback only).
        #[arg(long)]
        demo: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain; exit 0 if every event verifies, 1 naming the first that does not.
    Verify,
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
    },
}

#[derive(Subcommand)]
enum StandingCommand {
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    match Cli::parse().command {
        Command::Audit { command, database } => audit(command, &database.url).await,
        Command::Standing { command, database } => standing(command, &database.url).await,
        Command::Serve {
            listen,
            database_url,
            portal,
            issuer,
            pending_ttl_secs,
            break_glass_max_uses,
            break_glass_window_secs,
            checkpoint_interval_secs,
            audit_stream,
            max_attestation_days,
            demo,
        } => {
            let mut config = Config::new(database_url);
            config.portal_dir = portal;
            config.issuer = issuer.unwrap_or_else(|| format!("http://{listen}"));
            config.pending_ttl = chrono::Duration::seconds(pending_ttl_secs);
            config.checkpoint_interval = std::time::Duration::from_secs(checkpoint_interval_secs);
            config.audit_stream = audit_stream;
            config.max_attestation_days = max_attestation_days;
            config.break_glass_limit = stint_broker::store::BreakGlassLimit {
                max_uses: break_glass_max_uses,
                window: chrono::Duration::seconds(break_glass_window_secs),
            };
            // Browsers refuse Secure cookies over plain HTTP except on loopback, where it
            // is safe to go without.
            config.secure_cookies = !listen.ip().is_loopback();
            config.demo = demo;
            serve(listen, config).await
        }
    }
}

async fn serve(listen: SocketAddr, config: Config) -> anyhow::Result<()> {
    let demo = config.demo;
    if demo && !listen.ip().is_loopback() {
        anyhow::bail!(
            "--demo uses a published password; it listens on loopback only, not {listen}"
        );
    }
    create_sqlite_parent(&config.database_url)?;
    let broker = Broker::open(config, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "stint broker listening");
    println!("Stint is running at http://{addr}/");
    if demo {
        println!(
            "Demo logins (password `{}` for all):",
            stint_broker::demo::PASSWORD
        );
        for (name, _, roles) in stint_broker::demo::USERS {
            let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            println!("  {name:<6} {}", roles.join(", "));
        }
    }
    broker.serve(listener, shutdown_signal()).await
}

async fn audit(command: AuditCommand, database_url: &str) -> anyhow::Result<()> {
    let store = stint_broker::store::SqliteStore::open(database_url).await?;
    match command {
        AuditCommand::Verify => {
            // Read-only: without a stored key, a throwaway one fails any checkpoint there is.
            let (kid, der) = match store.existing_signing_key().await? {
                Some(key) => key,
                None => stint_broker::credential::Signer::generate_key(),
            };
            let signer = stint_broker::credential::Signer::from_pkcs8(kid, String::new(), &der)?;
            let v = store.verify_audit(&signer).await?;
            if v.ok {
                println!(
                    "OK: {} events verify; head {} {}",
                    v.count, v.head_seq, v.head_hash
                );
                Ok(())
            } else {
                println!(
                    "FAILED at event {}: {}. The {} events before it verify (head {}).",
                    v.first_bad_seq.unwrap_or_default(),
                    v.reason.unwrap_or_default(),
                    v.count,
                    v.head_hash
                );
                std::process::exit(1);
            }
        }
        AuditCommand::Export {
            format,
            since,
            until,
            follow,
        } => export(&store, format, since, until, follow).await,
    }
}

async fn standing(command: StandingCommand, database_url: &str) -> anyhow::Result<()> {
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
    let store = stint_broker::store::SqliteStore::open(database_url).await?;
    let s = store
        .import_report(None, &report, &source, !partial, chrono::Utc::now())
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

/// Writes every event in `[since, until)` to stdout, oldest first, a page at a time.
async fn export(
    store: &dyn Store,
    format: Format,
    since: Option<chrono::DateTime<chrono::Utc>>,
    until: Option<chrono::DateTime<chrono::Utc>>,
    follow: bool,
) -> anyhow::Result<()> {
    use std::io::Write;
    let filter = stint_broker::store::AuditFilter {
        since,
        until,
        ..Default::default()
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    out.write_all(&format.header())?;
    let mut after_seq = 0;
    loop {
        let page = stint_broker::export::page(store, &filter, after_seq).await?;
        for event in &page {
            out.write_all(&format.encode(event))?;
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

/// SQLite will not create the directory of its file; do it for `sqlite://dir/file.db`.
fn create_sqlite_parent(url: &str) -> anyhow::Result<()> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
            && path != ":memory:"
        {
            std::fs::create_dir_all(parent)?;
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
