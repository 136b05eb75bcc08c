//! Stint's broker: the HTTP API, its storage, the credential issuer and the expiry sweeper.
//!
//! Architecture Invariant: every rule is decided by `stint_core` and enforced here, inside
//! the storage transaction that also writes its audit event.

pub mod backup;
pub mod client;
pub mod clock;
pub mod config;
pub mod config_file;
pub mod connectors;
pub mod credential;
pub mod demo;
pub mod export;
pub mod federation;
pub mod http;
pub mod keys;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod oidc;
pub mod outbound;
pub mod pace;
pub mod password;
pub mod report;
pub mod scan_report;
pub mod service;
pub mod store;
pub mod sweeper;
pub mod usage;

use crate::clock::Clock;
use crate::config::Config;
use crate::http::AppState;
use crate::store::{Store, SweepReport};
use std::future::Future;
use std::sync::Arc;
use stint_core::api::AuditCheckpoint;
use tokio::net::TcpListener;

/// How often a serving broker rereads its signing keys.
pub const KEY_REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// A broker ready to serve: storage open and migrated, key loaded, lapsed access expired.
pub struct Broker {
    state: AppState,
}

impl Broker {
    /// Opens the database named by `config.database_url` (SQLite or PostgreSQL).
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Broker> {
        let store = store::open(&config.database_url).await?;
        Broker::with_store(store, config, clock).await
    }

    pub async fn with_store(
        store: Arc<dyn Store>,
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Broker> {
        let connectors = connectors::Connectors::from_file(&config.connectors)?;
        if config.demo {
            // Checked and seeded under the bootstrap lock: replicas starting together on an
            // empty database seed it once.
            let _lock = store.bootstrap_lock().await?;
            if store.is_empty().await? {
                demo::seed(&*store, clock.now(), &connectors.views()).await?;
                tracing::info!("seeded the demo organisation");
            }
        }
        let key_file = keys::key_file_for(
            &*store,
            &config.database_url,
            config.key_file.as_deref(),
            clock.now(),
        )
        .await?;
        let keyring =
            keys::open_keyring(&*store, &key_file, config.issuer.clone(), clock.now()).await?;
        // A step no loaded connector can do would never be done: refuse to start instead.
        for name in store.connectors_in_use().await? {
            if connectors.get(&name).is_none() {
                anyhow::bail!(
                    "the connector {name} is linked to a resource or has access to take away, \
                     but the connectors file does not define it"
                );
            }
        }
        // Whatever ran out while the broker was stopped ends now, before the first request.
        let report = store.sweep(clock.now()).await?;
        if report != SweepReport::default() {
            tracing::info!(
                grants_expired = report.grants_expired,
                requests_expired = report.requests_expired,
                "expired access that lapsed while the broker was stopped"
            );
        }
        // Readers of the live feed hear of what commits from now on, or resume from the trail.
        let (head, _) = store.audit_head().await?;
        let broker = Broker {
            state: AppState::new(http::Services {
                live: Arc::new(live::Hub::new(head)),
                notifier: Arc::new(notify::Notifier::default()),
                metrics: Arc::new(metrics::Metrics::default()),
                store,
                clock,
                keyring: Arc::new(keyring),
                key_file: Arc::new(key_file),
                introspection_limiter: Arc::new(http::per_minute_limiter(
                    config.introspection_per_minute,
                )),
                exchange_limiter: Arc::new(http::per_minute_limiter(config.exchanges_per_minute)),
                sign_in_limiter: Arc::new(http::per_minute_limiter(
                    std::num::NonZeroU32::new(http::SIGN_INS_PER_MINUTE).expect("not zero"),
                )),
                federation: Arc::new(federation::Federation::default()),
                outbox: Arc::new(connectors::worker::Outbox::new(
                    connectors,
                    config.connector_retry,
                )),
                usage: Arc::new(usage::Recorder::default()),
                oidc: Arc::new(oidc::Providers::new(
                    config.oidc.clone(),
                    &config.public_url,
                    config.local_login,
                )),
                config: Arc::new(config),
            }),
        };
        // Access that ended while the broker was stopped, or whose revocation it was still
        // retrying, is taken away downstream before the first request: every open step is
        // tried once now, whatever its backoff. A downstream still down does not keep the
        // broker from serving; the worker goes on retrying.
        if store_has_open_steps(&broker.state).await? {
            broker
                .state
                .store
                .retry_connector_steps_now(broker.state.clock.now())
                .await?;
            let report = connectors::worker::run_due(&broker.state).await?;
            tracing::info!(
                succeeded = report.succeeded,
                failed = report.failed,
                "resumed the connectors' unfinished steps"
            );
        }
        Ok(broker)
    }

    /// Rereads the signing keys, so a rotation made elsewhere (`stint keys rotate`, another
    /// replica) takes effect here: the broker serves it every `KEY_REFRESH`.
    pub async fn refresh_keys(&self) -> anyhow::Result<()> {
        let state = &self.state;
        let keys = keys::load_key_set(&*state.store, &state.key_file, state.clock.now()).await?;
        state.keyring.replace(keys);
        Ok(())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Signs the audit chain's head and stores the checkpoint, unless the head has not
    /// moved since the last one (another replica may have just taken it). Returns the
    /// checkpoint taken, if any.
    pub async fn checkpoint_now(&self) -> anyhow::Result<Option<AuditCheckpoint>> {
        let store = &self.state.store;
        let (head_seq, head_hash) = store.audit_head().await?;
        let last = store.checkpoints(1).await?;
        if last.first().is_some_and(|c| c.head_seq == head_seq) {
            return Ok(None);
        }
        let checkpoint =
            self.state
                .keyring
                .checkpoint(head_seq, &head_hash, self.state.clock.now());
        let stored = store.append_checkpoint(&checkpoint).await?;
        Ok(stored.then_some(checkpoint))
    }

    /// Writes the grants' uses counted so far (the serving broker does so every second).
    pub async fn flush_usage(&self) -> anyhow::Result<usize> {
        self.state.usage.flush(&self.state).await
    }

    pub fn router(&self) -> anyhow::Result<axum::Router> {
        http::router(self.state.clone())
    }

    /// Serves until `shutdown` resolves, sweeping in the background; in-flight requests
    /// finish before it returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = self.router()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // The audit stream stops last, so it carries the final checkpoint.
        let (stop_stream, stream_stopped) = tokio::sync::watch::channel(false);
        let sweeper = sweeper::spawn(self.state.clone(), stopped.clone());
        let live_feed = live::spawn(
            self.state.live.clone(),
            self.state.store.clone(),
            self.state.clock.clone(),
            stopped.clone(),
        );
        let outbox = (!self.state.outbox.connectors.is_empty())
            .then(|| connectors::worker::spawn(self.state.clone(), stopped.clone()));
        let notifications = notify::worker::spawn(self.state.clone(), stopped.clone());
        let usage = usage::spawn(self.state.clone(), stopped.clone());
        let metrics = match self.state.config.metrics_listen {
            None => None,
            Some(addr) => {
                let listener = TcpListener::bind(addr).await?;
                tracing::info!(%addr, "serving /metrics");
                let router = http::metrics::router(self.state.clone());
                let mut stopped = stopped.clone();
                Some(tokio::spawn(async move {
                    let until = async move {
                        let _ = stopped.changed().await;
                    };
                    if let Err(e) = axum::serve(listener, router)
                        .with_graceful_shutdown(until)
                        .await
                    {
                        tracing::warn!(error = %e, "the metrics listener stopped");
                    }
                }))
            }
        };
        let broker = Arc::new(self);
        let checkpointer = {
            let broker = broker.clone();
            let mut stopped = stopped;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(broker.state.config.checkpoint_interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stopped.changed() => break,
                    }
                    if let Err(e) = broker.checkpoint_now().await {
                        tracing::warn!(error = %e, "audit checkpoint failed; retrying");
                    }
                }
            })
        };
        let key_refresher = {
            let broker = broker.clone();
            let mut stopped = stop.subscribe();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(KEY_REFRESH) => {}
                        _ = stopped.changed() => break,
                    }
                    if let Err(e) = broker.refresh_keys().await {
                        tracing::warn!(error = %e, "rereading the signing keys failed; retrying");
                    }
                }
            })
        };
        let stream = match &broker.state.config.audit_stream {
            None => None,
            Some(path) => {
                let out: Box<dyn std::io::Write + Send> = if path.as_os_str() == "-" {
                    Box::new(std::io::stdout())
                } else {
                    Box::new(
                        std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(path)?,
                    )
                };
                // Only what commits from now on: earlier events are for `stint audit export`.
                let (head, _) = broker.state.store.audit_head().await?;
                Some(tokio::spawn(export::follow(
                    broker.state.store.clone(),
                    out,
                    head,
                    broker.state.config.sweep_interval,
                    stream_stopped,
                )))
            }
        };
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        // The live feed's streams never end by themselves: they are ended as shutdown
        // begins, or the graceful shutdown would wait for them for ever.
        let hub = broker.state.live.clone();
        let shutdown = async move {
            shutdown.await;
            hub.close();
        };
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await?;
        let _ = stop.send(true);
        let _ = sweeper.await;
        let _ = live_feed.await;
        if let Some(outbox) = outbox {
            let _ = outbox.await;
        }
        let _ = notifications.await;
        let _ = usage.await;
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        let _ = checkpointer.await;
        let _ = key_refresher.await;
        // The last word: the head as the broker leaves it.
        let last = broker.checkpoint_now().await;
        let _ = stop_stream.send(true);
        if let Some(stream) = stream {
            let _ = stream.await;
        }
        last?;
        Ok(())
    }
}

/// Whether any connector step is unfinished.
async fn store_has_open_steps(state: &AppState) -> anyhow::Result<bool> {
    Ok(state.store.next_connector_step_at().await?.is_some())
}
