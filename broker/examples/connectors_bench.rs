//! The PostgreSQL connector under a burst: 200 grants approved together, each given its
//! own role; a session opened as each role; all 200 expiring in the same second. Measures
//! how long after activation each role was usable, and how long after expiry each role
//! was dropped with its session ended. Run by `cargo xtask bench`, which starts the
//! PostgreSQL server (`STINT_BENCH_POSTGRES_URL`, an administrator's URL). The broker runs
//! in this process (release build), on SQLite, with its outbox worker serving as usual.
//!
//! `connectors_bench [GRANTS]`, by default 200.

// Each benchmark uses part of what they share.
#[allow(dead_code)]
mod bench_support;

use anyhow::{Context, ensure};
use bench_support::percentile;
use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stint_broker::Broker;
use stint_broker::clock::SystemClock;
use stint_broker::config::Config;
use stint_broker::connectors::config as connectors_file;
use stint_core::api::{ApproveBody, NewRequestBody, UserView};
use stint_core::rules::Justification;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let grants: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(200);
    let cluster = std::env::var("STINT_BENCH_POSTGRES_URL")
        .context("STINT_BENCH_POSTGRES_URL names the PostgreSQL server")?;
    let target = target_database(&cluster).await?;
    let dir = tempfile::tempdir()?;
    let mut config = Config::new(format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ));
    config.demo = true;
    config.key_file = Some(dir.path().join("stint.key"));
    let file = r#"
[connectors.payments-pg]
kind = "postgres"
admin_url_env = "TARGET"
[connectors.payments-pg.privileges]
read = ["GRANT CONNECT ON DATABASE bench_payments TO {{role}}", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {{role}}"]
write = ["GRANT CONNECT ON DATABASE bench_payments TO {{role}}", "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {{role}}"]
"#;
    let url = target.clone();
    config.connectors = connectors_file::parse(file, &move |_| Some(url.clone()))?;
    let broker = Broker::open(config, Arc::new(SystemClock)).await?;
    let state = broker.state().clone();
    let store = state.store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(broker.serve(listener, async {
        let _ = stopped.await;
    }));

    let user = |name: &'static str| {
        let store = store.clone();
        async move {
            anyhow::Ok(
                store
                    .login_candidate(name)
                    .await?
                    .context("a demo user")?
                    .user,
            )
        }
    };
    let (dave, alice, bob) = (
        user("dave").await?,
        user("alice").await?,
        user("bob").await?,
    );
    link(&*store, &dave, &state.outbox.connectors).await?;
    let identity = store
        .identities(&alice, Utc::now())
        .await?
        .into_iter()
        .find(|i| i.name == "ci-deployer")
        .context("the demo's ci-deployer")?
        .id;
    let resource = resource(&*store).await?.id;

    // Every grant expires in the same second: filed and approved at once, each for the
    // whole seconds left until then.
    let expiry = DateTime::from_timestamp(Utc::now().timestamp() + 90, 0).context("a time")?;
    let mut requests = Vec::with_capacity(grants);
    for n in 0..grants {
        let now = Utc::now();
        let body = NewRequestBody {
            identity_id: identity,
            resource_id: resource,
            privilege: "read".into(),
            duration_secs: (expiry - now).num_seconds(),
            justification: Justification {
                task: format!("Reconcile ledger batch {n}"),
                ticket: None,
            },
            starts_at: None,
        };
        let id = store
            .file_request(&alice, &body, now, chrono::Duration::hours(1))
            .await?;
        store
            .approve(&bob, id, &ApproveBody::default(), Utc::now())
            .await?;
        // As the HTTP layer does after every change, so the worker starts at once.
        state.outbox.wake();
        requests.push(id);
    }

    // A session as each role, held open until expiry.
    let grant_ids = wait_for(&dir, grants, "provisioned_at", Duration::from_secs(120)).await?;
    let mut sessions = Vec::with_capacity(grants);
    for grant in &grant_ids {
        let credential = store
            .issue_credential(
                &alice,
                *grant,
                Utc::now(),
                &state.keyring,
                &state.outbox.connectors,
            )
            .await?;
        let login = credential.postgres.context("a PostgreSQL login")?;
        sessions.push(PgConnection::connect(&login.url).await?);
    }
    let rows = wait_for_rows(&dir, grants, Duration::from_secs(180)).await?;

    let ms = |from: i64, to: i64| (to - from) as f64;
    let mut provisioning: Vec<f64> = rows
        .iter()
        .map(|r| ms(r.starts_at, r.provisioned_at))
        .collect();
    let mut revocation: Vec<f64> = rows
        .iter()
        .map(|r| ms(r.expires_at, r.revoked_at))
        .collect();
    provisioning.sort_by(f64::total_cmp);
    revocation.sort_by(f64::total_cmp);
    let ended: i64 = rows.iter().map(|r| r.sessions_ended).sum();
    let spread = rows.iter().map(|r| r.expires_at).max().unwrap_or(0)
        - rows.iter().map(|r| r.expires_at).min().unwrap_or(0);
    ensure!(
        ended == grants as i64,
        "{ended} of {grants} sessions were ended"
    );
    for session in &mut sessions {
        ensure!(
            sqlx::query("SELECT 1")
                .execute(&mut *session)
                .await
                .is_err(),
            "a role's session outlived its grant"
        );
    }

    println!("| what | grants | p50 | p99 | max |");
    println!("|------|-------:|----:|----:|----:|");
    let row = |what: &str, sorted: &[f64]| {
        println!(
            "| {what} | {} | {:.0} ms | {:.0} ms | {:.0} ms |",
            sorted.len(),
            percentile(sorted, 0.50),
            percentile(sorted, 0.99),
            sorted.last().copied().unwrap_or_default(),
        );
    };
    row(
        "provisioning: grant activated → its role usable (all approved in one burst)",
        &provisioning,
    );
    row(
        &format!(
            "revocation: grant expired → role dropped, its open session ended \
             (expiries within {spread} ms)"
        ),
        &revocation,
    );
    let _ = stop.send(());
    served.await??;
    Ok(())
}

/// A fresh `bench_payments` database in the (fresh) cluster with one table; its URL.
async fn target_database(cluster: &str) -> anyhow::Result<String> {
    let mut admin = PgConnection::connect(cluster).await?;
    sqlx::raw_sql("DROP DATABASE IF EXISTS bench_payments WITH (FORCE)")
        .execute(&mut admin)
        .await?;
    sqlx::raw_sql("CREATE DATABASE bench_payments")
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let url = format!(
        "{}/bench_payments",
        cluster.rsplit_once('/').context("a database in the URL")?.0
    );
    let mut db = PgConnection::connect(&url).await?;
    sqlx::raw_sql(
        "CREATE TABLE ledger (id int PRIMARY KEY, cents int); INSERT INTO ledger VALUES (1, 100)",
    )
    .execute(&mut db)
    .await?;
    db.close().await?;
    Ok(url)
}

async fn resource(
    store: &dyn stint_broker::store::Store,
) -> anyhow::Result<stint_core::api::ResourceView> {
    store
        .resources()
        .await?
        .into_iter()
        .find(|r| r.name == "payments-db")
        .context("the demo's payments-db")
}

/// Links the demo's payments-db to the connector, as an admin.
async fn link(
    store: &dyn stint_broker::store::Store,
    dave: &UserView,
    connectors: &stint_broker::connectors::Connectors,
) -> anyhow::Result<()> {
    let current = resource(store).await?;
    let body = stint_core::api::ResourceBody {
        name: current.name,
        description: current.description,
        privileges: current.privileges,
        policy: current.policy,
        connector: Some("payments-pg".into()),
    };
    store
        .update_resource(
            dave,
            current.id,
            &body,
            &connectors.views(),
            // The bench sets its scene at once, as a single-admin installation would.
            stint_broker::store::FourEyes::Waived,
            Utc::now(),
        )
        .await?;
    Ok(())
}

/// The grants whose `column` of `grant_access` is set, once `count` are.
async fn wait_for(
    dir: &tempfile::TempDir,
    count: usize,
    column: &str,
    timeout: Duration,
) -> anyhow::Result<Vec<i64>> {
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?;
    let started = Instant::now();
    loop {
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT grant_id FROM grant_access WHERE {column} IS NOT NULL ORDER BY grant_id"
        )))
        .fetch_all(&pool)
        .await?;
        if ids.len() >= count {
            return Ok(ids);
        }
        ensure!(
            started.elapsed() < timeout,
            "only {} of {count} grants after {timeout:?}",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(sqlx::FromRow)]
struct Timed {
    starts_at: i64,
    expires_at: i64,
    provisioned_at: i64,
    revoked_at: i64,
    sessions_ended: i64,
}

/// Every grant's times in milliseconds, once all `count` were revoked downstream.
async fn wait_for_rows(
    dir: &tempfile::TempDir,
    count: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<Timed>> {
    wait_for(dir, count, "revoked_at", timeout).await?;
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?;
    Ok(sqlx::query_as(
        "SELECT g.starts_at, g.expires_at, a.provisioned_at, a.revoked_at, a.sessions_ended
         FROM grants g JOIN grant_access a ON a.grant_id = g.id",
    )
    .fetch_all(&pool)
    .await?)
}
