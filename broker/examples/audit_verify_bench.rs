//! Measures audit chain verification: appends N events to a fresh SQLite database, then
//! times `verify_audit`. Run by `cargo xtask bench`; prints one line of figures.

use chrono::Utc;
use serde_json::json;
use std::time::Instant;
use stint_broker::credential::TrustedKeys;
use stint_broker::store::audit::{self, Actor, Event};
use stint_broker::store::{SqliteStore, Store};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events: i64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?;
    let mut tx = store.pool().begin().await?;
    let now = Utc::now();
    for i in 0..events {
        let event = Event::new(Actor::Broker, "grant.expired", "grant", Some(i))
            .request(i)
            .grant(i)
            .details(json!({ "identity": "ci-deployer", "resource": "payments-db", "privilege": "read" }));
        audit::record(&mut *tx, now, event).await?;
    }
    tx.commit().await?;
    // No checkpoints are stored, so no key is needed to hold them against.
    let started = Instant::now();
    let verification = store.verify_audit(&TrustedKeys::default(), &[]).await?;
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        verification.ok && verification.count == events,
        "{verification:?}"
    );
    println!(
        "| audit verification | {events} events | {secs:.2} s | {:.0} events/s |",
        events as f64 / secs
    );
    Ok(())
}
