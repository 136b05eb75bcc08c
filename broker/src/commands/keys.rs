//! `stint keys list|rotate`: the signing keys.

use super::open_existing;
use clap::Subcommand;
use stint_broker::clock::{Clock, SystemClock};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// List the keys: id, created, retired, whether the JWKS publishes it.
    List,
    /// Add a new key that signs from now on (running brokers switch to it within 10 s);
    /// the old one stays in the JWKS until the last credential it signed has expired.
    Rotate,
}

pub async fn keys(
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
