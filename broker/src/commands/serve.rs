//! `stint serve`: the broker itself, configured by flags, `STINT_*` variables or a file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use stint_broker::Broker;
use stint_broker::clock::SystemClock;
use stint_broker::config::Config;

use super::KeyFileArg;

/// `stint serve`'s flags; `--config FILE` puts a file's before them (`main::parse_cli`).
#[derive(clap::Args)]
pub struct ServeArgs {
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
}

/// Starts the broker as `args` say, until a signal stops it.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs {
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
    } = args;
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
