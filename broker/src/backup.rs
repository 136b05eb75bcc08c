//! `stint backup`: a consistent copy of a running broker's SQLite database, checked before
//! it is kept. The copy holds the signing keys only sealed: the key file that opens them,
//! and the copies of the audit checkpoints kept elsewhere, belong in a different place than
//! the copy (README, "Backup and restore").

use crate::keys;
use crate::store;
use std::path::{Path, PathBuf};
use stint_core::api::AuditVerification;

/// What a backup holds: the audit trail of the copy, verified.
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    pub audit: AuditVerification,
}

/// Copies the database at `database_url` to the new file `dest`: written beside it under a
/// temporary name, its audit chain walked, and only then given its name, so `dest` is
/// either a whole, verified copy or absent.
pub async fn backup(database_url: &str, dest: &Path) -> anyhow::Result<Backup> {
    if dest.exists() {
        anyhow::bail!(
            "{} exists: a backup never overwrites a file",
            dest.display()
        );
    }
    let Some(source) = store::sqlite_file(database_url) else {
        // PostgreSQL: the store refuses, naming the tool that copies it.
        store::open_read_only(database_url)
            .await?
            .backup_into(dest)
            .await?;
        anyhow::bail!("stint backup copies SQLite databases only");
    };
    if !Path::new(source).exists() {
        anyhow::bail!("no database at {source}");
    }
    let name = dest
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("{} names no file", dest.display()))?;
    let partial = dest.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    // A leftover of an interrupted backup of the same name: never a finished copy.
    let _ = std::fs::remove_file(&partial);
    let result = copy_and_check(database_url, &partial).await;
    let audit = match result {
        Ok(audit) => audit,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, dest)?;
    Ok(Backup {
        path: dest.to_path_buf(),
        bytes: std::fs::metadata(dest)?.len(),
        audit,
    })
}

async fn copy_and_check(database_url: &str, partial: &Path) -> anyhow::Result<AuditVerification> {
    let original = store::open_read_only(database_url).await?;
    original.backup_into(partial).await?;
    drop(original);
    let copy_url = format!("sqlite://{}", partial.display());
    let copy = store::open_read_only(&copy_url).await?;
    // The chain's own consistency, its checkpoints held against the keys stored with it:
    // the copy is whole and every event hashes as sealed.
    let stored = keys::stored_public_keys(&*copy, chrono::Utc::now()).await?;
    let audit = copy.verify_audit(&stored, &[]).await?;
    if !audit.ok {
        anyhow::bail!(
            "the copy's audit trail does not verify at event {}: {}; nothing was kept",
            audit.first_bad_seq.unwrap_or_default(),
            audit.reason.clone().unwrap_or_default()
        );
    }
    Ok(audit)
}
