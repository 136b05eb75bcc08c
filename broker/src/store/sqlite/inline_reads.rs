//! Reads answered on the calling thread, for the two on the path of nearly every call: the
//! caller's session (every signed-in call, and on the writer thread every write) and a
//! resource server's introspection (every downstream call).
//!
//! A read through sqlx's pool is two hand-offs: the statement goes to its connection's
//! thread and the rows come back, each a thread woken (on this 2-CPU machine often on the
//! other CPU, ~50 µs, see `writer_thread`), several times the cost of an indexed lookup.
//! These connections (`rusqlite`, on the same SQLite library sqlx links) run the statement
//! where the call already is. A read of a few indexed rows blocks its thread for tens of
//! µs, as any CPU work in a handler does; it never waits on a writer (WAL readers see the
//! last commit without locks), and a lock it does meet (a checkpoint resetting the log)
//! gives up after `BUSY_WAIT` so the caller falls back to the pool rather than hold a
//! runtime thread.

use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Connections kept open between reads: a read holds one only while it runs, so this many
/// serve as many threads reading at once (more are opened, and closed after use).
const KEPT: usize = 8;

/// How long a read waits on a lock before the caller falls back to the pool.
const BUSY_WAIT: Duration = Duration::from_millis(50);

/// Prepared statements kept per connection.
const STATEMENTS_CACHED: usize = 16;

/// Read-only connections to one SQLite file, taken one per read.
pub struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl InlineReads {
    /// Connections to the database file at `path`, opened when first needed (after the
    /// store has created and migrated it).
    pub fn new(path: impl Into<PathBuf>) -> InlineReads {
        InlineReads {
            path: path.into(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on a connection of its own, in autocommit: it sees every write committed
    /// before it started.
    pub fn run<R>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<R>,
    ) -> rusqlite::Result<R> {
        let taken = self.idle().pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = read(&conn);
        let mut idle = self.idle();
        if idle.len() < KEPT {
            idle.push(conn);
        }
        result
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A read that panicked left the list as it was: still a list of good connections.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_WAIT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_another_connection_committed_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inline.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER);")
            .unwrap();
        let reads = InlineReads::new(&path);
        let count = |reads: &InlineReads| {
            reads.run(|c| {
                c.prepare_cached("SELECT count(*) FROM t")?
                    .query_row([], |row| row.get::<_, i64>(0))
            })
        };
        assert_eq!(count(&reads).unwrap(), 0);
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        // The same kept connection and cached statement see the new commit.
        assert_eq!(count(&reads).unwrap(), 1);
        assert!(
            reads
                .run(|c| c.execute("INSERT INTO t VALUES (2)", []))
                .is_err()
        );
        assert_eq!(count(&reads).unwrap(), 1);
    }
}
