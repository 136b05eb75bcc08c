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
/// temporary name, its audit chain walked, flushed to disk, readable by its owner alone, and
/// only then given its name (never over a file that appeared meanwhile), so `dest` is
/// either a whole, verified copy or absent.
pub async fn backup(database_url: &str, dest: &Path) -> anyhow::Result<Backup> {
    let Some(source) = store::sqlite_file(database_url) else {
        anyhow::bail!(
            "stint backup copies SQLite databases; back PostgreSQL up with pg_dump \
             (README: Backup and restore)"
        );
    };
    if !Path::new(source).exists() {
        anyhow::bail!("no database at {source}");
    }
    if dest.exists() {
        anyhow::bail!(
            "{} exists: a backup never overwrites a file",
            dest.display()
        );
    }
    let shown = dest.display().to_string();
    // The copy is reopened by URL, where these mean something else.
    if shown.contains(['?', '#', '%']) {
        anyhow::bail!("{shown}: name the copy without ?, # or %");
    }
    let name = dest
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("{shown} names no file"))?;
    let partial = dest.with_file_name(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        hex::encode(crate::credential::random_bytes::<6>())
    ));
    let kept = match copy_and_check(database_url, &partial).await {
        Ok(audit) => keep(&partial, dest).map(|()| audit),
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(&partial);
    let audit = kept?;
    Ok(Backup {
        path: dest.to_path_buf(),
        bytes: std::fs::metadata(dest)?.len(),
        audit,
    })
}

/// Makes the checked copy `partial` the file `dest`: on disk first, its owner's alone (it
/// holds password hashes and sealed keys), then linked under its name, which fails rather
/// than replace a file that appeared meanwhile.
fn keep(partial: &Path, dest: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let file = std::fs::File::open(partial)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.sync_all()?;
    std::fs::hard_link(partial, dest).map_err(|e| anyhow::anyhow!("{}: {e}", dest.display()))?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
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
