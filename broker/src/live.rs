//! The live feed's hub: one task per broker follows the audit trail and hands each change
//! it streams (`stint_core::live`) to every connected reader at once, serialised once;
//! each reader (`http::events`) keeps what its viewer may hear of.
//!
//! The trail is the source, not the write that made the change: so a change another
//! replica committed is streamed here too (within `FOLLOW_EVERY`), a change rolled back is
//! never streamed, and a reader that reconnects with the last sequence number it saw is
//! given what it missed from the trail itself.

use crate::clock::Clock;
use crate::pace::Pace;
use crate::store::{Store, StoreResult};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stint_core::live::{LiveEvent, LiveScope};
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

/// How often the hub looks for changes it was not woken for (another replica's, the
/// command line's).
pub const FOLLOW_EVERY: Duration = Duration::from_millis(250);

/// The least time between two reads of the trail (`pace`): a change reaches readers at
/// most this much later under a stream of writes, and at once otherwise.
const LOOK_APART: Duration = Duration::from_millis(20);

/// How many changes one read of the trail takes.
pub const READ_BATCH: u32 = 500;

/// How many changes a reader lagging behind may hold before it must catch up from the
/// trail.
const CHANNEL_CAPACITY: usize = 1024;

/// One change, ready for every reader.
#[derive(Debug)]
pub struct LiveItem {
    pub event: LiveEvent,
    pub scope: LiveScope,
    /// `event` as JSON, encoded once for all readers.
    pub data: String,
}

impl LiveItem {
    pub fn new(event: LiveEvent, scope: LiveScope) -> Arc<LiveItem> {
        let data = serde_json::to_string(&event).expect("a live event serialises");
        Arc::new(LiveItem { event, scope, data })
    }
}

struct Published {
    /// The last sequence number handed out (streamed or not).
    cursor: i64,
    sender: broadcast::Sender<Arc<LiveItem>>,
}

pub struct Hub {
    published: Mutex<Published>,
    wake: Notify,
    /// Turns true when the broker shuts down: every reader's stream ends, so the server's
    /// graceful shutdown does not wait on streams that never would.
    closed: watch::Sender<bool>,
}

impl Hub {
    /// A hub that hands out what is committed after `head` (the trail's head now).
    pub fn new(head: i64) -> Hub {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        Hub {
            published: Mutex::new(Published {
                cursor: head,
                sender,
            }),
            wake: Notify::new(),
            closed: watch::channel(false).0,
        }
    }

    /// A reader's subscription and the sequence number it starts after: every change
    /// after it reaches the receiver, and none before it (those are in the trail).
    pub fn subscribe(&self) -> (broadcast::Receiver<Arc<LiveItem>>, i64) {
        let published = self
            .published
            .lock()
            .expect("the hub's lock is never poisoned");
        (published.sender.subscribe(), published.cursor)
    }

    /// The sequence number handed out last.
    pub fn cursor(&self) -> i64 {
        self.published
            .lock()
            .expect("the hub's lock is never poisoned")
            .cursor
    }

    /// How many readers are connected.
    pub fn readers(&self) -> usize {
        self.published
            .lock()
            .expect("the hub's lock is never poisoned")
            .sender
            .receiver_count()
    }

    /// Something was committed here: look now rather than at the next tick.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Ends every reader's stream (the broker is shutting down).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Turns true when the hub closes.
    pub fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }

    /// Reads what was committed since the last look and hands it out; whether the read
    /// stopped short of the head (more to read at once).
    async fn follow_once(&self, store: &dyn Store, clock: &dyn Clock) -> StoreResult<bool> {
        let after = self.cursor();
        let batch = store.live_events(after, READ_BATCH, clock.now()).await?;
        let items: Vec<_> = batch
            .events
            .into_iter()
            .map(|(event, scope)| LiveItem::new(event, scope))
            .collect();
        let mut published = self
            .published
            .lock()
            .expect("the hub's lock is never poisoned");
        // Under one lock with `subscribe`: a reader subscribes either before this batch (and
        // receives it) or after it (and finds it in the trail), never between.
        published.cursor = batch.read_to;
        for item in items {
            // No reader connected is not an error.
            let _ = published.sender.send(item);
        }
        Ok(batch.more)
    }
}

/// Follows the trail until the hub closes or `shutdown` turns true.
pub fn spawn(
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut closed = hub.closed();
        let mut pace = Pace::new(LOOK_APART);
        loop {
            match hub.follow_once(&*store, &*clock).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "reading the trail for the live feed failed; retrying")
                }
            }
            tokio::select! {
                _ = hub.wake.notified() => {}
                _ = tokio::time::sleep(FOLLOW_EVERY) => {}
                _ = shutdown.changed() => break,
                _ = closed.changed() => break,
            }
            // Woken again and again by a stream of writes: read once per `LOOK_APART`. A
            // batch that stopped short of the head (above) is read on at once.
            pace.look().await;
        }
    })
}
