//! `stint`: the broker's command line.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use stint_broker::Broker;
use stint_broker::clock::SystemClock;
use stint_broker::config::Config;
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

#[derive(Subcommand)]
enum Command {
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
        /// Seed demo users and data into an empty database (loopback only).
        #[arg(long)]
        demo: bool,
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
        Command::Serve {
            listen,
            database_url,
            portal,
            issuer,
            pending_ttl_secs,
            break_glass_max_uses,
            break_glass_window_secs,
            demo,
        } => {
            let mut config = Config::new(database_url);
            config.portal_dir = portal;
            config.issuer = issuer.unwrap_or_else(|| format!("http://{listen}"));
            config.pending_ttl = chrono::Duration::seconds(pending_ttl_secs);
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
