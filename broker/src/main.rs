//! `stint`: the broker's command line.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use stint_broker::Broker;
use stint_broker::client::{self, AccessArgs, BrokerArgs, Output};
use stint_broker::clock::{Clock, SystemClock};
use stint_broker::config::Config;
use stint_broker::export::{Encoder, Format};
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

/// The key file that seals the signing keys stored in the database.
#[derive(clap::Args)]
struct KeyFileArg {
    /// Key file (at least 32 random bytes); `stint.key` beside an SQLite database when not
    /// given. Keep it out of the database's backups.
    #[arg(long = "key-file", env = "STINT_KEY_FILE", global = true)]
    path: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Ask a broker for access as an identity (its API token in STINT_TOKEN, or a workload
    /// token exchanged with --oidc-token).
    /// With --wait, prints only the credential on stdout; exits 0 granted, 1 error,
    /// 2 denied, 3 timed out, 4 expired or cancelled.
    Request {
        #[command(flatten)]
        access: AccessArgs,
        /// Wait for the decision and print the credential.
        #[arg(long)]
        wait: bool,
        /// What to print once granted.
        #[arg(long, value_enum, default_value = "token")]
        output: Output,
    },
    /// Run a command with access that ends when it does: request, wait, run it with
    /// STINT_CREDENTIAL in its environment, and release the grant when it exits.
    Exec {
        #[command(flatten)]
        access: AccessArgs,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// The identity's grants (live and scheduled ones; --all for every one).
    Grants {
        #[command(flatten)]
        broker: BrokerArgs,
        #[arg(long)]
        all: bool,
        /// Print JSON instead of one tab-separated line per grant.
        #[arg(long)]
        json: bool,
    },
    /// Ask for more time on one of the identity's live grants: a request linked to it,
    /// decided by the resource's policy; once approved the same grant ends later. With
    /// --wait, prints the new expiry on stdout; exits 0 extended, 1 error, 2 denied,
    /// 3 timed out, 4 expired or cancelled. Without it, prints the request's id.
    Extend {
        grant: i64,
        #[command(flatten)]
        broker: BrokerArgs,
        /// How much longer, e.g. 15m or 1h.
        #[arg(long, value_parser = client::parse_duration)]
        duration: std::time::Duration,
        /// Why the work needs more time; approvers read it.
        #[arg(long)]
        task: String,
        /// The ticket the task belongs to.
        #[arg(long)]
        ticket: Option<String>,
        /// Wait for the decision.
        #[arg(long)]
        wait: bool,
        /// How long to wait before giving up (and withdrawing the request).
        #[arg(long, value_parser = client::parse_duration, default_value = "10m")]
        timeout: std::time::Duration,
    },
    /// End one of the identity's grants now, because its task is over (a release: an
    /// identity may not revoke, only give back what it holds).
    #[command(alias = "release")]
    Revoke {
        grant: i64,
        #[command(flatten)]
        broker: BrokerArgs,
        /// Why it ends now; recorded with the release.
        #[arg(long)]
        reason: String,
        /// How the task went.
        #[arg(long, value_enum, default_value = "completed")]
        outcome: ReleaseOutcomeArg,
    },
    /// Copy an SQLite database consistently while brokers use it, and check the copy's
    /// audit chain before keeping it (PostgreSQL: use pg_dump). The key file is not in the
    /// copy: keep it, and the audit checkpoints' copies, somewhere else.
    Backup {
        #[command(flatten)]
        database: Database,
        /// Where to write the copy; an existing file is never overwritten.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the API's OpenAPI 3.1 description (what `GET /api/v1/openapi.json` serves).
    Openapi,
    /// Read the audit trail without a running broker.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
        #[command(flatten)]
        database: Database,
    },
    /// Reports for auditors, read from the database without a running broker.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
        #[command(flatten)]
        database: Database,
    },
    /// The signing keys: list them, or rotate to a new one.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        #[command(flatten)]
        database: Database,
        #[command(flatten)]
        key_file: KeyFileArg,
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
        /// A TOML file of these flags (`public_url = "https://…"`, `demo = true`); a flag
        /// given here, or its STINT_* variable, wins over it.
        #[arg(long, env = "STINT_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
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
        #[command(flatten)]
        key_file: KeyFileArg,
        /// The built portal to serve (Trunk's dist/ directory).
        #[arg(long, env = "STINT_PORTAL_DIR")]
        portal: Option<PathBuf>,
        /// The URL users reach the broker at, e.g. https://stint.example.com behind a TLS
        /// proxy; defaults to http://LISTEN. `https://` makes cookies Secure and sends HSTS.
        #[arg(long, env = "STINT_PUBLIC_URL", value_parser = parse_public_url)]
        public_url: Option<String>,
        /// The `iss` of issued credentials; defaults to the public URL.
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
        /// After taking over an orphaned identity, its new owner may take break-glass for it
        /// once an admin confirms the takeover, or once this many hours have passed (when
        /// set; by default only the confirmation counts).
        #[arg(long, env = "STINT_TAKEOVER_WAIT_HOURS",
              value_parser = clap::value_parser!(i64).range(1..=24 * 90))]
        takeover_wait_hours: Option<i64>,
        /// Token introspections each caller (a resource, a person) may make per minute.
        #[arg(long, env = "STINT_INTROSPECTION_RATE", default_value_t = 6000,
              value_parser = clap::value_parser!(u32).range(1..))]
        introspection_rate: u32,
        /// Workload-token exchanges each address may make per minute (a job exchanges once).
        #[arg(long, env = "STINT_TOKEN_EXCHANGE_RATE", default_value_t = 600,
              value_parser = clap::value_parser!(u32).range(1..))]
        token_exchange_rate: u32,
        /// The connectors file: downstream systems (PostgreSQL, webhooks) in which grants'
        /// access is made and taken away. Its secrets are read from the environment
        /// variables it names; an invalid file stops the start, naming the line.
        #[arg(long, env = "STINT_CONNECTORS")]
        connectors: Option<PathBuf>,
        /// Failed attempts after which a revocation that keeps failing is flagged
        /// (`grant.revocation_failing`), and failures in a row after which a notification
        /// sink is (`notification.sink_failing`); both are retried regardless.
        #[arg(long, env = "STINT_REVOCATION_ALERT_AFTER", default_value_t = 5,
              value_parser = clap::value_parser!(i64).range(1..))]
        revocation_alert_after: i64,
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
        /// Serve Prometheus metrics at http://ADDR/metrics, apart from the API (off by
        /// default; keep it where only the scraper reaches it).
        #[arg(long, env = "STINT_METRICS_LISTEN", value_name = "ADDR")]
        metrics_listen: Option<SocketAddr>,
        /// The identity providers file: OpenID Connect providers people sign in through,
        /// and which of their groups give which role. Client secrets are read from the
        /// environment variables it names; an invalid file stops the start, naming the line.
        #[arg(long = "oidc-config", env = "STINT_OIDC_CONFIG", value_name = "FILE")]
        oidc_config: Option<PathBuf>,
        /// Offer only the identity providers: no one signs in with a password.
        #[arg(long = "no-local-login", env = "STINT_NO_LOCAL_LOGIN")]
        no_local_login: bool,
        /// This installation has one admin: changes that widen access (a policy, a role)
        /// apply at once instead of waiting for a second admin's approval. Every admin
        /// page says so.
        #[arg(long = "single-admin", env = "STINT_SINGLE_ADMIN")]
        single_admin: bool,
        /// Seed demo users and data into an empty database (loopback only).
        #[arg(long)]
        demo: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List the keys: id, created, retired, whether the JWKS publishes it.
    List,
    /// Add a new key that signs from now on (running brokers switch to it within 10 s);
    /// the old one stays in the JWKS until the last credential it signed has expired.
    Rotate,
}

#[derive(Subcommand)]
enum AuditCommand {
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

#[derive(Subcommand)]
enum ReportCommand {
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
    match parse_cli().command {
        Command::Request {
            access,
            wait,
            output,
        } => {
            let exit = tokio::task::spawn_blocking(move || client::request(&access, wait, output));
            std::process::exit(exit.await? as i32)
        }
        Command::Exec { access, command } => {
            std::process::exit(client::exec(access, command).await)
        }
        Command::Grants { broker, all, json } => {
            let exit = tokio::task::spawn_blocking(move || client::grants(&broker, all, json));
            std::process::exit(exit.await? as i32)
        }
        Command::Extend {
            grant,
            broker,
            duration,
            task,
            ticket,
            wait,
            timeout,
        } => {
            let extension = client::Extension {
                grant_id: grant,
                duration,
                task,
                ticket,
            };
            let exit = tokio::task::spawn_blocking(move || {
                client::extend(&broker, &extension, wait, timeout)
            });
            std::process::exit(exit.await? as i32)
        }
        Command::Revoke {
            grant,
            broker,
            reason,
            outcome,
        } => {
            let exit = tokio::task::spawn_blocking(move || match client::connect(&broker) {
                Ok(broker) => client::release(&broker, grant, outcome.into(), &reason),
                Err(e) => client::fail(&e),
            });
            std::process::exit(exit.await? as i32)
        }
        Command::Audit { command, database } => audit(command, &database.url).await,
        Command::Backup { database, file } => backup(&database.url, &file).await,
        Command::Openapi => {
            println!("{}", stint_broker::http::api_description_json());
            Ok(())
        }
        Command::Standing { command, database } => standing(command, &database.url).await,
        Command::Report { command, database } => report(command, &database.url).await,
        Command::Keys {
            command,
            database,
            key_file,
        } => keys(command, &database.url, key_file.path.as_deref()).await,
        Command::Serve {
            config: _,
            listen,
            database_url,
            key_file,
            portal,
            public_url,
            issuer,
            pending_ttl_secs,
            break_glass_max_uses,
            break_glass_window_secs,
            takeover_wait_hours,
            introspection_rate,
            token_exchange_rate,
            connectors,
            revocation_alert_after,
            checkpoint_interval_secs,
            audit_stream,
            max_attestation_days,
            metrics_listen,
            oidc_config,
            no_local_login,
            single_admin,
            demo,
        } => {
            let mut config = Config::new(database_url);
            config.key_file = key_file.path;
            config.portal_dir = portal;
            config.public_url = public_url.unwrap_or_else(|| format!("http://{listen}"));
            config.issuer = issuer.unwrap_or_else(|| config.public_url.clone());
            config.pending_ttl = chrono::Duration::seconds(pending_ttl_secs);
            config.checkpoint_interval = std::time::Duration::from_secs(checkpoint_interval_secs);
            config.audit_stream = audit_stream;
            config.max_attestation_days = max_attestation_days;
            config.introspection_per_minute =
                std::num::NonZeroU32::new(introspection_rate).expect("the parser refuses 0");
            config.exchanges_per_minute =
                std::num::NonZeroU32::new(token_exchange_rate).expect("the parser refuses 0");
            if let Some(path) = connectors {
                config.connectors = stint_broker::connectors::config::read(&path)?;
            }
            config.connector_retry.alert_after = revocation_alert_after;
            config.break_glass_limit = stint_broker::store::BreakGlassLimit {
                max_uses: break_glass_max_uses,
                window: chrono::Duration::seconds(break_glass_window_secs),
                takeover_wait: takeover_wait_hours.map(chrono::Duration::hours),
            };
            if !config.https() && !listen.ip().is_loopback() {
                tracing::warn!(
                    public_url = %config.public_url,
                    "users reach the broker over plain HTTP: session cookies cross the network \
                     in the clear; put it behind TLS and give --public-url https://…"
                );
            }
            if let Some(path) = oidc_config {
                config.oidc = stint_broker::oidc::config::read(&path)?;
            }
            if no_local_login && config.oidc.providers.is_empty() {
                anyhow::bail!(
                    "--no-local-login leaves no way to sign in: give --oidc-config with a provider"
                );
            }
            config.local_login = !no_local_login;
            config.single_admin = single_admin;
            config.demo = demo;
            config.metrics_listen = metrics_listen;
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
    println!("Stint is running at http://{addr}/ (its API's reference: /api/v1/docs)");
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

async fn backup(database_url: &str, file: &std::path::Path) -> anyhow::Result<()> {
    let copy = stint_broker::backup::backup(database_url, file).await?;
    println!(
        "Copied to {} ({} bytes): {} audit events verify, head {} {}.",
        copy.path.display(),
        copy.bytes,
        copy.audit.count,
        copy.audit.head_seq,
        copy.audit.head_hash
    );
    println!(
        "The signing keys in it are sealed: keep the key file, and the audit checkpoints' \
         copies, somewhere other than this copy."
    );
    Ok(())
}

/// The command line, `serve`'s flags from `--config FILE` put before it.
fn parse_cli() -> Cli {
    use clap::CommandFactory;
    use stint_broker::config_file;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let serving = args.get(1).is_some_and(|a| a == "serve");
    let path = serving
        .then(|| config_file::config_path(&args[2..], std::env::var_os("STINT_CONFIG")))
        .flatten();
    let Some(path) = path else {
        return Cli::parse_from(args);
    };
    let command = Cli::command();
    let serve = command.find_subcommand("serve").expect("stint has serve");
    let env_set = |name: &str| std::env::var_os(name).is_some();
    let from_file = config_file::flags_from_file(&path, serve, &args[2..], &env_set)
        .unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2)
        });
    for (key, by) in &from_file.shadowed {
        tracing::warn!(file = %path.display(), key, by, "a setting of the file is overridden");
    }
    let flags = from_file.flags;
    let mut full = args[..2].to_vec();
    full.extend(flags.iter().map(|(_, flag)| flag.clone()));
    full.extend_from_slice(&args[2..]);
    Cli::try_parse_from(full).unwrap_or_else(|e| {
        // A value the flag refused: say which key of the file it came from.
        let text = e.to_string();
        let from_file = flags.iter().find(|(_, flag)| {
            let name = flag.to_str().unwrap_or_default();
            let name = name.split('=').next().unwrap_or_default();
            text.contains(&format!("'{name}"))
        });
        match from_file {
            Some((key, _)) => {
                let reason = text.trim().trim_start_matches("error: ");
                eprintln!("error: {}: key `{key}`: {reason}", path.display());
                std::process::exit(2)
            }
            None => e.exit(),
        }
    })
}

/// Opens an existing database for the commands that only read it.
async fn open_existing(
    database_url: &str,
) -> anyhow::Result<std::sync::Arc<dyn stint_broker::store::Store>> {
    if let Some(path) = stint_broker::store::sqlite_file(database_url)
        && !std::path::Path::new(path).exists()
    {
        anyhow::bail!("no database at {path}");
    }
    Ok(stint_broker::store::open_read_only(database_url).await?)
}

async fn audit(command: AuditCommand, database_url: &str) -> anyhow::Result<()> {
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

async fn report(command: ReportCommand, database_url: &str) -> anyhow::Result<()> {
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

async fn keys(
    command: KeysCommand,
    database_url: &str,
    key_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use stint_broker::keys;
    let now = SystemClock.now();
    let store = open_existing(database_url).await?;
    match command {
        KeysCommand::List => {
            for key in store.signing_keys(now).await? {
                let retired = key
                    .retired_at
                    .map(|t| format!("retired {}", t.to_rfc3339()))
                    .unwrap_or_else(|| "signing".into());
                let published = if key.published {
                    "published"
                } else {
                    "unpublished"
                };
                println!(
                    "{}  created {}  {retired}  {published}",
                    key.kid,
                    key.created_at.to_rfc3339()
                );
            }
            Ok(())
        }
        KeysCommand::Rotate => {
            drop(store);
            let store = stint_broker::store::open(database_url).await?;
            let path = match key_file {
                Some(path) => path.to_path_buf(),
                None => keys::default_path(database_url)
                    .ok_or_else(|| anyhow::anyhow!("give the key file with --key-file"))?,
            };
            let file = keys::KeyFile::open(&path)?;
            let kid = keys::rotate(&*store, &file, now).await?;
            println!(
                "New signing key {kid}. Running brokers sign with it within {} s; the JWKS \
                 keeps the old key until the last credential it signed has expired.",
                stint_broker::KEY_REFRESH.as_secs()
            );
            Ok(())
        }
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
        since,
        until,
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

/// `--public-url`: an absolute http(s) URL, kept without a trailing slash.
fn parse_public_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("it must start with https:// or http://")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("it must name a host".into());
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// SQLite will not create the directory of its file; do it for `sqlite://dir/file.db`.
fn create_sqlite_parent(url: &str) -> anyhow::Result<()> {
    if let Some(path) = stint_broker::store::sqlite_file(url)
        && let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
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

/// How the task went, as `stint revoke --outcome` reads it.
#[derive(clap::ValueEnum, Clone, Copy)]
enum ReleaseOutcomeArg {
    Completed,
    Failed,
}

impl From<ReleaseOutcomeArg> for stint_core::machine::ReleaseOutcome {
    fn from(arg: ReleaseOutcomeArg) -> Self {
        match arg {
            ReleaseOutcomeArg::Completed => Self::Completed,
            ReleaseOutcomeArg::Failed => Self::Failed,
        }
    }
}
