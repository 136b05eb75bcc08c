//! The embedded default: SQLite in WAL mode, one file.
//!
//! Every write runs inside a `BEGIN IMMEDIATE` transaction, one writer at a time: SQLite's
//! single write lock is taken before the first read, so a rule evaluated on what the writer
//! read still holds when it writes, and the audit chain's head cannot move under it. Two
//! approvers racing are serialised here; the second sees the first's outcome. Writers
//! queued together share that transaction's commit (`group_commit`).
//!
//! The SQL itself is shared with PostgreSQL (`../sql/`); this module opens the database,
//! serialises writers, and spells the dialect's few expressions (the macros below).

use crate::store::audit::{self, Actor, Event};
use crate::store::port::{Database, GrantAccessRecord, KeyRows, SessionRecord, Tx, UserRecord};
use crate::store::{NewSigningKey, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use zeroize::Zeroizing;

mod group_commit;
mod inline_reads;
mod writer_thread;
use group_commit::GroupCommit;
use inline_reads::InlineReads;
use writer_thread::WriterThread;

type Db = sqlx::Sqlite;
type Conn = SqliteConnection;
type Args = sqlx::sqlite::SqliteArguments;
type Backend = SqliteStore;

/// Whether `$1`, a user holding the approver role, is among a request's approvers (`r`).
macro_rules! among_request_approvers {
    () => {
        "(json_extract(r.approvers, '$.kind') = 'role' OR EXISTS (
          SELECT 1 FROM json_each(r.approvers, '$.users') j
          WHERE json_extract(j.value, '$.id') = $1))"
    };
}

/// The ids in the JSON array bound as parameter `$n`, as a subquery for `IN`.
macro_rules! ids_in {
    ($n:literal) => {
        concat!("(SELECT value FROM json_each($", $n, "))")
    };
}

/// The elements of the JSON array of strings bound as `$n`, as a table with column `value`.
macro_rules! json_texts {
    ($n:literal) => {
        concat!("json_each($", $n, ")")
    };
}

/// The ids of the people with an item in the campaign audit event `e` is about.
macro_rules! campaign_assignee_ids {
    () => {
        "(SELECT group_concat(DISTINCT ci.assignee_id) FROM campaign_items ci
          WHERE e.target_kind = 'campaign' AND ci.campaign_id = e.target_id)"
    };
}

/// The current owners' ids of the identity of request `r` (or of the row aliased `$of`
/// with an `identity_id`), comma-separated.
macro_rules! owner_ids {
    () => {
        owner_ids!("r")
    };
    ($of:literal) => {
        concat!(
            "(SELECT group_concat(o.user_id) FROM ownerships o
              WHERE o.identity_id = ",
            $of,
            ".identity_id AND o.ended_at IS NULL)"
        )
    };
    // Only those whose attestation still holds at the time bound as `$n` (in ms).
    ($of:literal, attested_at $n:literal) => {
        concat!(
            "(SELECT group_concat(o.user_id) FROM ownerships o
              WHERE o.identity_id = ",
            $of,
            ".identity_id AND o.ended_at IS NULL AND o.attest_until > $",
            $n,
            ")"
        )
    };
}

/// The approvals of the request aliased `$of`, oldest first, as one JSON array of
/// `[approver_id, approver_name, duration_secs, comment, at]`.
macro_rules! approvals_json {
    ($of:literal) => {
        concat!(
            "(SELECT json_group_array(json_array(a.approver_id, u.username, a.duration_secs,
                                                 a.comment, a.at)
                                      ORDER BY a.at, a.approver_id)
              FROM approvals a JOIN users u ON u.id = a.approver_id
              WHERE a.request_id = ",
            $of,
            ".id)"
        )
    };
}

/// Case-insensitive LIKE (SQLite's LIKE already ignores ASCII case).
macro_rules! ilike {
    () => {
        "LIKE"
    };
}

/// Claims the rows a sweep selects. SQLite has no row locks: `BEGIN IMMEDIATE` already
/// excludes every other writer.
macro_rules! claim_rows {
    ($table:literal) => {
        ""
    };
}

/// Up to `$2` audit events from seq `$1` on, as one JSON array of arrays (one row crosses
/// into Rust per batch instead of one per event).
macro_rules! audit_batch {
    () => {
        "SELECT json_group_array(json_array(seq, at, actor_id, actor_name, action, target_kind,
                target_id, request_id, grant_id, details, prev_hash, hash, source_ip,
                user_agent))
         FROM (SELECT * FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2)"
    };
}

// The same SQL, compiled against this backend's types: loading it once per backend is
// the point.
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    /// Reads, from any thread but the writer thread.
    pool: SqlitePool,
    /// Connections opened from the writer thread: its writes (through `writer`) and its
    /// reads (a state-changing call reads who is calling, and what it answers).
    write_pool: SqlitePool,
    /// Every write transaction goes through it: writers take turns (first come, first
    /// served) in SQLite's one write transaction, and share its commit.
    writer: Arc<GroupCommit>,
    /// Where writes run fastest: the thread the writer pool's connections were opened
    /// from (`None` when read-only).
    writer_thread: Option<WriterThread>,
    /// Introspection's reads, on the calling thread (`None` for a database in memory).
    inline: Option<InlineReads>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and applies pending migrations.
    pub async fn open(url: &str) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Every commit reaches the disk before the broker answers: an issued
            // credential, a grant and their audit events survive a power cut. Group commit
            // shares one flush among the writers queued at the time.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10))
            // 16 MiB of page cache per connection (SQLite's default is 2 MiB): big write
            // transactions (a sweep of thousands of grants) stay in memory until commit.
            .pragma("cache_size", "-16384");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A connection to a local file does not go stale; pinging it before each use
            // would cost a round trip to its thread on every query.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Db(e.into()))?;
        let writer_thread = WriterThread::start()
            .await
            .map_err(|e| StoreError::Config(format!("cannot start the writer thread: {e}")))?;
        // Opened from the writer thread, so the connections' own threads share its CPU;
        // kept open for good, so they are not reopened from elsewhere in normal running (one
        // that were would only lose the pin). One for the group's transaction, the rest for
        // the reads of the calls on the writer thread (one CPU: more would not add speed).
        let writer_options = SqlitePoolOptions::new()
            .min_connections(4)
            .max_connections(4)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false);
        let write_pool = writer_thread
            .run(writer_options.connect_with(options.thread_name(|id| format!("stint-sql-w{id}"))))
            .await
            .map_err(|e| StoreError::Config(format!("the writer thread stopped: {e}")))??;
        Ok(SqliteStore {
            writer: GroupCommit::new(write_pool.clone()),
            write_pool,
            pool,
            writer_thread: Some(writer_thread),
            inline: sqlite_file(url).map(InlineReads::new),
        })
    }

    /// Opens an existing database to read only: nothing is created or migrated, so a
    /// mistyped path is an error instead of a new, empty database.
    pub async fn open_read_only(url: &str) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(false)
            .read_only(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await?;
        sql::check_schema(&pool, &MIGRATOR).await?;
        Ok(SqliteStore {
            writer: GroupCommit::new(pool.clone()),
            write_pool: pool.clone(),
            pool,
            writer_thread: None,
            inline: None,
        })
    }

    /// The pool, for tests that inspect or tamper with rows behind the store's back.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// The file of an SQLite URL (`sqlite://dir/file.db?mode=…`), unless it is in memory.
pub fn sqlite_file(url: &str) -> Option<&str> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    (path != ":memory:" && !path.is_empty()).then_some(path)
}

#[async_trait]
impl Database for SqliteStore {
    async fn write(&self) -> StoreResult<Box<dyn Tx>> {
        Ok(Box::new(self.writer.begin().await?))
    }

    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        Ok(sql::Transaction::boxed(self.snapshot().await?, None))
    }

    async fn lookup(&self) -> StoreResult<Box<dyn Tx>> {
        Ok(sql::Connection::boxed(self.reads().acquire().await?))
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, UserRecord)>> {
        sql::session(self, token_hash).await
    }

    async fn grant_access(&self, grant_id: i64) -> StoreResult<Option<GrantAccessRecord>> {
        sql::grant_access(self, grant_id).await
    }
}

impl SqliteStore {
    /// A read transaction: in WAL mode its statements all see one moment.
    async fn snapshot(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.reads().begin().await?)
    }

    /// The pool to read through from here: the writer thread's own, on that thread.
    fn reads(&self) -> &SqlitePool {
        if writer_thread::on_writer_thread() {
            &self.write_pool
        } else {
            &self.pool
        }
    }

    /// `read` on the calling thread, if this database can (`inline_reads`); `None` sends
    /// the caller to the pool, as does a read that failed here (a lock met, say).
    fn read_inline<R>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R>,
    ) -> Option<R> {
        let inline = self.inline.as_ref()?;
        match inline.run(read) {
            Ok(answer) => Some(answer),
            Err(e) => {
                tracing::warn!(error = %e, "an inline read failed; reading through the pool");
                None
            }
        }
    }

    fn writer_runtime(&self) -> Option<tokio::runtime::Handle> {
        self.writer_thread.as_ref().map(|t| t.handle().clone())
    }

    /// One process serves an SQLite file: there is no other broker to keep out.
    async fn bootstrap(&self) -> StoreResult<crate::store::BootstrapLock> {
        Ok(crate::store::BootstrapLock::new(()))
    }

    /// `VACUUM INTO` reads the whole database in one read transaction, so the copy is the
    /// database as of one commit, whatever writers do meanwhile (WAL lets them go on).
    async fn copy_into(&self, path: &std::path::Path) -> StoreResult<()> {
        let path = path.to_str().ok_or_else(|| {
            crate::store::StoreError::Config(format!("{} is not UTF-8", path.display()))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Only SQLite databases ever held a signing key in the clear (before key custody).
impl SqliteStore {
    async fn legacy_keys(&self) -> StoreResult<Vec<(String, Zeroizing<Vec<u8>>, DateTime<Utc>)>> {
        let mut conn = self.pool.acquire().await?;
        legacy_signing_keys(&mut conn).await
    }

    async fn seal_legacy(
        &self,
        key: &NewSigningKey<'_>,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        seal_legacy_key(tx.conn(), key, created_at, now).await?;
        Tx::commit(Box::new(tx)).await?;
        // The clear key's old page images live on in the write-ahead log until it is
        // checkpointed; truncate it now rather than whenever SQLite gets round to it.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Keys stored in the clear before key custody: id, PKCS#8 DER, creation time.
async fn legacy_signing_keys(
    conn: &mut SqliteConnection,
) -> StoreResult<Vec<(String, Zeroizing<Vec<u8>>, DateTime<Utc>)>> {
    let rows: Vec<(String, Vec<u8>, i64)> =
        sqlx::query_as("SELECT kid, private_key, created_at FROM legacy_signing_keys")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(kid, der, at)| (kid, Zeroizing::new(der), sql::time(at)))
        .collect())
}

/// Stores a legacy key sealed, and deletes its clear row with SQLite's secure delete, so
/// the freed page is overwritten rather than left holding the key.
async fn seal_legacy_key(
    conn: &mut SqliteConnection,
    key: &NewSigningKey<'_>,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("PRAGMA secure_delete = ON")
        .execute(&mut *conn)
        .await?;
    conn.insert_signing_key(key, created_at).await?;
    sqlx::query("DELETE FROM legacy_signing_keys WHERE kid = $1")
        .bind(key.kid)
        .execute(&mut *conn)
        .await?;
    audit::record(
        conn,
        now,
        Event::new(Actor::Broker, "signing_key.sealed", "signing_key", None)
            .details(json!({ "kid": key.kid })),
    )
    .await?;
    Ok(())
}
