//! PostgreSQL, for several broker replicas on one database.
//!
//! Every change appends to the one audit chain, so writers are serial at its head anyway.
//! A write transaction therefore takes the chain's transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`) before its first read: what it read and decided on still holds
//! when it writes, whichever replica it runs on — the guarantee SQLite's `BEGIN IMMEDIATE`
//! gives in one process — and the lock ends with the transaction, so a replica that dies
//! mid-write leaves nothing held and nothing half-done. Reads take a repeatable-read
//! snapshot and never wait for writers.
//!
//! The SQL itself is shared with SQLite (`../sql/`); this module connects, migrates under
//! sqlx's migration lock (two replicas starting together migrate once), serialises
//! writers, and spells the dialect's few expressions (the macros below).

use crate::store::port::{Database, GrantAccessRecord, SessionRecord, Tx, UserRecord};
use crate::store::{NewSigningKey, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};
use std::str::FromStr;
use std::sync::Arc;
use zeroize::Zeroizing;

type Db = sqlx::Postgres;
type Conn = PgConnection;
type Args = sqlx::postgres::PgArguments;
type Backend = PgStore;

/// Whether `$1`, a user holding the approver role, is among a request's approvers (`r`).
macro_rules! among_request_approvers {
    () => {
        "((r.approvers::jsonb ->> 'kind') = 'role' OR EXISTS (
          SELECT 1 FROM jsonb_array_elements(r.approvers::jsonb -> 'users') j
          WHERE (j ->> 'id')::bigint = $1))"
    };
}

/// The elements of the JSON array of strings bound as `$n`, as a table with column `value`.
macro_rules! json_texts {
    ($n:literal) => {
        concat!("jsonb_array_elements_text($", $n, "::jsonb)")
    };
}

/// The ids in the JSON array bound as parameter `$n`, as a subquery for `IN`.
macro_rules! ids_in {
    ($n:literal) => {
        concat!(
            "(SELECT jsonb_array_elements_text($",
            $n,
            "::jsonb)::bigint)"
        )
    };
}

/// The ids of the people with an item in the campaign audit event `e` is about.
macro_rules! campaign_assignee_ids {
    () => {
        "(SELECT string_agg(DISTINCT ci.assignee_id::text, ',') FROM campaign_items ci
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
            "(SELECT string_agg(o.user_id::text, ',') FROM ownerships o
              WHERE o.identity_id = ",
            $of,
            ".identity_id AND o.ended_at IS NULL)"
        )
    };
    // Only those whose attestation still holds at the time bound as `$n` (in ms).
    ($of:literal, attested_at $n:literal) => {
        concat!(
            "(SELECT string_agg(o.user_id::text, ',') FROM ownerships o
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
            "(SELECT COALESCE(json_agg(json_build_array(a.approver_id, u.username,
                                                        a.duration_secs, a.comment, a.at)
                                       ORDER BY a.at, a.approver_id), '[]')::text
              FROM approvals a JOIN users u ON u.id = a.approver_id
              WHERE a.request_id = ",
            $of,
            ".id)"
        )
    };
}

/// Case-insensitive LIKE.
macro_rules! ilike {
    () => {
        "ILIKE"
    };
}

/// Claims the rows of `$table` a sweep selects: a replica sweeping at the same moment
/// skips them instead of waiting (the chain lock already orders writers; this keeps a sweep
/// correct on its own should that ever change).
macro_rules! claim_rows {
    ($table:literal) => {
        concat!(" FOR UPDATE OF ", $table, " SKIP LOCKED")
    };
}

/// Up to `$2` audit events from seq `$1` on, as one JSON array of arrays (one row crosses
/// into Rust per batch instead of one per event).
macro_rules! audit_batch {
    () => {
        "SELECT COALESCE(json_agg(json_build_array(seq, at, actor_id, actor_name, action,
                target_kind, target_id, request_id, grant_id, details, prev_hash, hash,
                source_ip, user_agent) ORDER BY seq), '[]')::text
         FROM (SELECT * FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2) batch"
    };
}

// The same SQL, compiled against this backend's types: loading it once per backend is
// the point.
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The key of the audit chain's advisory lock (any constant the database shares with no
/// other application; these are the bytes of "stint").
pub const CHAIN_LOCK: i64 = 0x0073_7469_6e74;

/// The key of the lock a broker holds while it seeds an empty database.
const BOOTSTRAP_LOCK: i64 = CHAIN_LOCK + 1;

pub struct PgStore {
    pool: PgPool,
    /// This process's writers queue here before they take a connection: those waiting
    /// for the chain's lock never hold every pooled connection, so reads (a session check
    /// on every call) always find one.
    write_lock: Arc<tokio::sync::Mutex<()>>,
}

impl PgStore {
    /// Connects to the database at `url` and applies pending migrations. sqlx holds an
    /// advisory lock while migrating, so replicas starting together apply each migration
    /// once.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(PgConnectOptions::from_str(url)?)
            .await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Db(e.into()))?;
        Ok(PgStore::with_pool(pool))
    }

    /// Connects to read only: nothing is created or migrated, and every transaction is
    /// read-only, so a mistyped URL or an old schema is an error instead of a change.
    pub async fn open_read_only(url: &str) -> StoreResult<PgStore> {
        let options =
            PgConnectOptions::from_str(url)?.options([("default_transaction_read_only", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await?;
        sql::check_schema(&pool, &MIGRATOR).await?;
        Ok(PgStore::with_pool(pool))
    }

    fn with_pool(pool: PgPool) -> PgStore {
        PgStore {
            pool,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The pool, for tests that inspect or tamper with rows behind the store's back.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A write transaction holding this process's turn and the audit chain's lock (see
    /// the module above). Read committed, whatever the server's default: each statement
    /// after the lock sees what the writers before it committed.
    async fn write(
        &self,
    ) -> StoreResult<(
        sqlx::Transaction<'static, sqlx::Postgres>,
        tokio::sync::OwnedMutexGuard<()>,
    )> {
        let turn = self.write_lock.clone().lock_owned().await;
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHAIN_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok((tx, turn))
    }

    fn reads(&self) -> &PgPool {
        &self.pool
    }

    /// Every read goes to the server: there is nothing to read on the calling thread.
    fn read_inline<R>(
        &self,
        _read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R>,
    ) -> Option<R> {
        None
    }

    /// PostgreSQL's connections are sockets, not threads of this process: a write runs
    /// wherever its call arrived.
    fn writer_runtime(&self) -> Option<tokio::runtime::Handle> {
        None
    }

    /// PostgreSQL's copies are `pg_dump`'s to take (README, "Backup and restore").
    async fn copy_into(&self, _path: &std::path::Path) -> StoreResult<()> {
        Err(crate::store::StoreError::Config(
            "stint backup copies SQLite databases; back PostgreSQL up with pg_dump \
             (README: Backup and restore)"
                .into(),
        ))
    }

    /// A session-level advisory lock on a connection of its own, taken out of the pool:
    /// dropping the guard closes the connection, which ends the lock even if the broker
    /// dies holding it.
    async fn bootstrap(&self) -> StoreResult<crate::store::BootstrapLock> {
        let mut conn = self.pool.acquire().await?.detach();
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(BOOTSTRAP_LOCK)
            .execute(&mut conn)
            .await?;
        Ok(crate::store::BootstrapLock::new(conn))
    }

    /// No PostgreSQL database ever held a signing key in the clear (key custody came first).
    async fn legacy_keys(&self) -> StoreResult<Vec<(String, Zeroizing<Vec<u8>>, DateTime<Utc>)>> {
        Ok(Vec::new())
    }

    async fn seal_legacy(
        &self,
        key: &NewSigningKey<'_>,
        _created_at: DateTime<Utc>,
        _now: DateTime<Utc>,
    ) -> StoreResult<()> {
        Err(StoreError::Corrupt(format!(
            "no key is stored in the clear on PostgreSQL (asked to seal {})",
            key.kid
        )))
    }
}

impl PgStore {
    /// A read-only transaction whose statements all see one moment.
    async fn snapshot(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?)
    }
}

#[async_trait]
impl Database for PgStore {
    async fn write(&self) -> StoreResult<Box<dyn Tx>> {
        let (tx, turn) = PgStore::write(self).await?;
        Ok(sql::Transaction::boxed(tx, Some(turn)))
    }

    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        Ok(sql::Transaction::boxed(self.snapshot().await?, None))
    }

    async fn lookup(&self) -> StoreResult<Box<dyn Tx>> {
        Ok(sql::Connection::boxed(self.pool.acquire().await?))
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<(SessionRecord, UserRecord)>> {
        sql::session(self, token_hash).await
    }

    async fn grant_access(&self, grant_id: i64) -> StoreResult<Option<GrantAccessRecord>> {
        sql::grant_access(self, grant_id).await
    }
}
