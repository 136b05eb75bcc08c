//! `stint`: the broker's command line.

mod commands;

use clap::{Parser, Subcommand};
use commands::{Database, KeyFileArg};
use std::path::PathBuf;
use stint_broker::client::{self, AccessArgs, BrokerArgs, Output};
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
        command: commands::audit::AuditCommand,
        #[command(flatten)]
        database: Database,
    },
    /// Reports for auditors, read from the database without a running broker.
    Report {
        #[command(subcommand)]
        command: commands::report::ReportCommand,
        #[command(flatten)]
        database: Database,
    },
    /// The signing keys: list them, or rotate to a new one.
    Keys {
        #[command(subcommand)]
        command: commands::keys::KeysCommand,
        #[command(flatten)]
        database: Database,
        #[command(flatten)]
        key_file: KeyFileArg,
    },
    /// Standing credentials: import a secrets scanner's report without a running broker.
    Standing {
        #[command(subcommand)]
        command: commands::standing::StandingCommand,
        #[command(flatten)]
        database: Database,
    },
    /// Run the broker: the API, the portal and the expiry sweeper.
    Serve(commands::serve::ServeArgs),
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
        Command::Audit { command, database } => {
            commands::audit::audit(command, &database.url).await
        }
        Command::Backup { database, file } => commands::backup(&database.url, &file).await,
        Command::Openapi => {
            println!("{}", stint_broker::http::api_description_json());
            Ok(())
        }
        Command::Standing { command, database } => {
            commands::standing::standing(command, &database.url).await
        }
        Command::Report { command, database } => {
            commands::report::report(command, &database.url).await
        }
        Command::Keys {
            command,
            database,
            key_file,
        } => commands::keys::keys(command, &database.url, key_file.path.as_deref()).await,
        Command::Serve(args) => commands::serve::run(args).await,
    }
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
