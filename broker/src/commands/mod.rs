//! The commands of `stint` that are more than a call into the library: the broker itself,
//! and what reads or changes its database without a running broker.

pub mod audit;
pub mod keys;
pub mod report;
pub mod serve;
pub mod standing;

use std::path::PathBuf;

/// The database of the commands that work without a running broker.
#[derive(clap::Args)]
pub struct Database {
    /// Database URL.
    #[arg(
        long = "database",
        env = "STINT_DATABASE_URL",
        default_value = "sqlite://data/stint.db",
        global = true
    )]
    pub url: String,
}

/// The key file that seals the signing keys stored in the database.
#[derive(clap::Args)]
pub struct KeyFileArg {
    /// Key file (at least 32 random bytes); `stint.key` beside an SQLite database when not
    /// given. Keep it out of the database's backups.
    #[arg(long = "key-file", env = "STINT_KEY_FILE", global = true)]
    pub path: Option<PathBuf>,
}

/// Opens an existing database for the commands that only read it.
pub async fn open_existing(
    database_url: &str,
) -> anyhow::Result<std::sync::Arc<dyn stint_broker::store::Store>> {
    if let Some(path) = stint_broker::store::sqlite_file(database_url)
        && !std::path::Path::new(path).exists()
    {
        anyhow::bail!("no database at {path}");
    }
    Ok(stint_broker::store::open_read_only(database_url).await?)
}

pub async fn backup(database_url: &str, file: &std::path::Path) -> anyhow::Result<()> {
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
