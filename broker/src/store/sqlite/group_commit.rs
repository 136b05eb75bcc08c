//! Group commit: writers that queue up while one writes share one SQLite transaction, so
//! one flush to disk makes all of them durable.
//!
//! With `synchronous = FULL` every commit waits for the write-ahead log to reach the disk
//! (a millisecond or more here), which alone would cap writes below a thousand a second.
//! Instead each writer works inside a savepoint of a shared `BEGIN IMMEDIATE` transaction,
//! one writer at a time, as before. A writer that finishes while others wait releases its
//! savepoint and queues again behind them; whoever reaches the front with the group still
//! open commits it and tells every member the outcome. No writer returns before the commit
//! that holds its work has reached the disk, and a commit that fails fails every member.
//!
//! Writers in one group see each other's work before it commits, which is what running one
//! after the other means; nobody outside sees any of it until the commit, and no writer
//! answers its caller before then.

use crate::store::port::{Rows, Tx};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::{SqliteConnection, SqlitePool};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

/// At most this many writers share a commit, so the first of them waits a bounded time.
const MAX_GROUP: usize = 64;

/// The outcome of a group's commit, as each member hears it (the error, as text: one
/// error cannot be handed to several callers).
type Outcome = Result<(), String>;

/// The queue of writers and the transaction a group shares.
pub(super) struct GroupCommit {
    pool: SqlitePool,
    group: Arc<Mutex<Group>>,
    /// Writers waiting for their first turn: while there are any, a finished writer leaves
    /// the group open for them.
    arriving: AtomicUsize,
}

#[derive(Default)]
struct Group {
    /// The shared transaction, while a group is under way.
    open: Option<sqlx::Transaction<'static, sqlx::Sqlite>>,
    /// Writers whose work is in `open`, each waiting to hear how its commit went.
    members: Vec<oneshot::Sender<Outcome>>,
}

impl Group {
    /// Commits the group (if one is open) and tells every member.
    async fn commit(&mut self) -> StoreResult<()> {
        // Taken before the await: if this future is dropped mid-commit, the members'
        // senders go with it and they hear that their commit was not seen through.
        let members = std::mem::take(&mut self.members);
        let result = match self.open.take() {
            Some(tx) => tx.commit().await.map_err(StoreError::from),
            // Members without a transaction: it was rolled back under them.
            None if !members.is_empty() => Err(StoreError::NotCommitted(
                "the shared transaction was rolled back".into(),
            )),
            None => Ok(()),
        };
        tell(
            members,
            result.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        );
        result
    }

    /// Rolls the whole group back, when the transaction is in a state nobody can vouch
    /// for: every member hears that its work was not kept.
    async fn abandon(&mut self, cause: &sqlx::Error) {
        tell(std::mem::take(&mut self.members), Err(cause.to_string()));
        if let Some(tx) = self.open.take() {
            let _ = tx.rollback().await;
        }
    }

    fn conn(&mut self) -> &mut SqliteConnection {
        self.open
            .as_deref_mut()
            .expect("a writer's turn always has the group open")
    }
}

fn tell(members: Vec<oneshot::Sender<Outcome>>, outcome: Outcome) {
    for member in members {
        // A member whose caller has gone away no longer listens: nothing to tell.
        let _ = member.send(outcome.clone());
    }
}

/// Counts a writer among those arriving until it has its turn (or gives up waiting).
struct Arriving<'a>(&'a AtomicUsize);

impl<'a> Arriving<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Arriving(count)
    }
}

impl Drop for Arriving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl GroupCommit {
    pub(super) fn new(pool: SqlitePool) -> Arc<GroupCommit> {
        Arc::new(GroupCommit {
            pool,
            group: Arc::new(Mutex::new(Group::default())),
            arriving: AtomicUsize::new(0),
        })
    }

    /// Waits for this writer's turn (first come, first served), then opens the group's
    /// transaction or, if one is open, a savepoint in it.
    pub(super) async fn begin(self: &Arc<Self>) -> StoreResult<GroupTx> {
        let mut turn = {
            let _arriving = Arriving::new(&self.arriving);
            self.group.clone().lock_owned().await
        };
        // The writer that opens the group needs no savepoint: until it is done, the
        // transaction holds nobody else's work, and undoing it is a rollback.
        let opens = turn.open.is_none();
        if opens {
            turn.open = Some(self.pool.begin_with("BEGIN IMMEDIATE").await?);
        } else if let Err(e) = sqlx::raw_sql("SAVEPOINT member").execute(turn.conn()).await {
            turn.abandon(&e).await;
            return Err(e.into());
        }
        Ok(GroupTx {
            turn: Some(turn),
            opened_group: opens,
            queue: self.clone(),
        })
    }
}

/// One writer's turn in the group's transaction.
pub(super) struct GroupTx {
    turn: Option<OwnedMutexGuard<Group>>,
    /// Whether this writer began the shared transaction (and so has no savepoint).
    opened_group: bool,
    queue: Arc<GroupCommit>,
}

impl GroupTx {
    /// The connection, for the few SQLite-only statements outside the shared SQL.
    pub(super) fn conn(&mut self) -> &mut SqliteConnection {
        self.turn.as_mut().expect("an open turn").conn()
    }

    /// Ends this writer's work and returns once it is durable (or has failed). Callers
    /// go through `Tx::commit`, which runs it on its own task so it cannot be cut short.
    async fn finish(mut self) -> StoreResult<()> {
        let mut turn = self.turn.take().expect("an open turn");
        if !self.opened_group
            && let Err(e) = sqlx::raw_sql("RELEASE member").execute(turn.conn()).await
        {
            turn.abandon(&e).await;
            return Err(e.into());
        }
        let others_waiting = self.queue.arriving.load(Ordering::SeqCst) > 0;
        if !others_waiting || turn.members.len() + 1 >= MAX_GROUP {
            return turn.commit().await;
        }
        let (told, outcome) = oneshot::channel();
        turn.members.push(told);
        drop(turn);
        // Queue again: every writer waiting now goes first, in this same transaction.
        let mut turn = self.queue.group.clone().lock_owned().await;
        let mut outcome = outcome;
        match outcome.try_recv() {
            Ok(heard) => heard.map_err(StoreError::NotCommitted),
            // Nobody has committed the group yet: this writer is its last in line.
            Err(oneshot::error::TryRecvError::Empty) => turn.commit().await,
            Err(oneshot::error::TryRecvError::Closed) => Err(StoreError::NotCommitted(
                "the broker stopped before the commit".into(),
            )),
        }
    }
}

impl Drop for GroupTx {
    /// A writer that ends without committing (a refused rule, an error, a caller gone)
    /// undoes its savepoint before the next writer's turn.
    fn drop(&mut self) {
        let Some(mut turn) = self.turn.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to undo it on (shutting down): abandon the whole group, whose
            // members then hear that their commit was abandoned.
            turn.open = None;
            turn.members.clear();
            return;
        };
        let opened_group = self.opened_group;
        runtime.spawn(async move {
            if opened_group {
                // Only this writer's work is in the transaction: roll all of it back.
                if let Some(tx) = turn.open.take() {
                    let _ = tx.rollback().await;
                }
                return;
            }
            let undone = sqlx::raw_sql("ROLLBACK TO member; RELEASE member")
                .execute(turn.conn())
                .await;
            match undone {
                Err(e) => turn.abandon(&e).await,
                // Nothing of anyone's in it: end it now rather than hold SQLite's write
                // lock until the next writer comes.
                Ok(_) if turn.members.is_empty() => {
                    if let Some(tx) = turn.open.take() {
                        let _ = tx.rollback().await;
                    }
                }
                Ok(_) => {}
            }
        });
    }
}

impl std::ops::Deref for GroupTx {
    type Target = dyn Rows;
    fn deref(&self) -> &(dyn Rows + 'static) {
        let group: &Group = self.turn.as_ref().expect("an open turn");
        &**group.open.as_ref().expect("an open group")
    }
}

impl std::ops::DerefMut for GroupTx {
    fn deref_mut(&mut self) -> &mut (dyn Rows + 'static) {
        self.conn()
    }
}

#[async_trait]
impl Tx for GroupTx {
    /// Runs to the end even if the caller stops waiting: other writers' outcomes may hang
    /// on this one's commit.
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        tokio::spawn((*self).finish())
            .await
            .map_err(|e| StoreError::NotCommitted(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;

    async fn queue(dir: &tempfile::TempDir) -> (Arc<GroupCommit>, SqlitePool) {
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (x INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        (GroupCommit::new(pool.clone()), pool)
    }

    async fn insert(tx: &mut GroupTx, x: i64) {
        sqlx::query("INSERT INTO t (x) VALUES ($1)")
            .bind(x)
            .execute(tx.conn())
            .await
            .unwrap();
    }

    async fn kept(pool: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT x FROM t ORDER BY x")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    /// Waits until `n` writers queue for their first turn.
    async fn until_arriving(queue: &GroupCommit, n: usize) {
        while queue.arriving.load(Ordering::SeqCst) < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_queued_together_share_one_commit_and_a_quitter_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (queue, pool) = queue(&dir).await;

        let mut first = queue.begin().await.unwrap();
        insert(&mut first, 1).await;
        // A second writer queues, writes, and gives up without committing; a third
        // queues behind it and commits.
        let (quitter_wrote, wrote) = oneshot::channel();
        let (quit, quit_now) = oneshot::channel::<()>();
        let quitter = tokio::spawn({
            let queue = queue.clone();
            async move {
                let mut tx = queue.begin().await.unwrap();
                insert(&mut tx, 2).await;
                quitter_wrote.send(()).unwrap();
                quit_now.await.unwrap();
            }
        });
        until_arriving(&queue, 1).await;
        let last = tokio::spawn({
            let queue = queue.clone();
            async move {
                let mut tx = queue.begin().await.unwrap();
                insert(&mut tx, 3).await;
                tx.finish().await
            }
        });
        until_arriving(&queue, 2).await;

        let first_done = tokio::spawn(first.finish());
        wrote.await.unwrap();
        // The first writer has finished its work, yet waits for the group's commit:
        // nothing is visible, and it has not answered.
        assert_eq!(kept(&pool).await, Vec::<i64>::new());
        assert!(!first_done.is_finished());

        quit.send(()).unwrap();
        quitter.await.unwrap();
        last.await.unwrap().unwrap();
        first_done.await.unwrap().unwrap();
        assert_eq!(kept(&pool).await, vec![1, 3]);
    }

    #[tokio::test]
    async fn a_lone_writer_commits_at_once_and_one_that_quits_releases_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let (queue, pool) = queue(&dir).await;

        let mut quitter = queue.begin().await.unwrap();
        insert(&mut quitter, 7).await;
        drop(quitter);
        // Its rollback runs before the next turn, and nothing of it is kept.
        let mut lone = queue.begin().await.unwrap();
        insert(&mut lone, 8).await;
        lone.finish().await.unwrap();
        assert_eq!(kept(&pool).await, vec![8]);

        let mut quitter = queue.begin().await.unwrap();
        insert(&mut quitter, 9).await;
        drop(quitter);
        // With nobody queued, the emptied transaction ends: another connection can write.
        let _turn = queue.group.clone().lock_owned().await;
        sqlx::query("INSERT INTO t (x) VALUES (10)")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(kept(&pool).await, vec![8, 10]);
    }
}
