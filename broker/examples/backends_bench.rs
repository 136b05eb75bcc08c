//! SQLite and PostgreSQL side by side, in one run: filing, approving and introspecting over
//! HTTP at concurrency 1 and 10 against one SQLite broker, one PostgreSQL replica and two
//! PostgreSQL replicas on one database (calls alternate between them, as a load balancer
//! would send them), then revocation lag with two replicas sweeping. Run by
//! `cargo xtask bench`, which builds the broker (`STINT_BIN`) and starts the PostgreSQL
//! server (`STINT_BENCH_POSTGRES_URL`, an administrator's URL). Prints Markdown tables.
//!
//! `backends_bench [CALLS_PER_RUN]`, by default 500.

// Each benchmark uses part of what they share.
#[allow(dead_code)]
mod bench_support;

use anyhow::{Context, anyhow, ensure};
use bench_support::wrk::{self, Call};
use bench_support::{
    Broker, Scenario, Session, call, file_body, http, login, percentile, resource_server,
};
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};
use std::time::Duration;

const CONCURRENCY: [usize; 2] = [1, 10];
/// Each wrk run's length.
const WRK_SECONDS: u32 = 4;
/// Pending requests the approval runs need: more than any backend approves in `WRK_SECONDS`.
const WRK_PENDING: usize = 20_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let calls: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(500);
    let bin = std::env::var("STINT_BIN").context("STINT_BIN names the stint binary")?;
    let admin_url = std::env::var("STINT_BENCH_POSTGRES_URL")
        .context("STINT_BENCH_POSTGRES_URL names the PostgreSQL server")?;
    let dir = tempfile::tempdir()?;
    let key_file = dir.path().join("stint.key");
    stint_broker::keys::KeyFile::create(&key_file)?;
    let key_file = key_file.to_string_lossy().into_owned();

    println!("| backend | call | concurrency | calls | p50 | p99 | requests/s |");
    println!("|---------|------|------------:|------:|----:|----:|-----------:|");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    let setups = [
        ("SQLite", sqlite, 1),
        (
            "PostgreSQL, 1 replica",
            fresh_database(&admin_url, "stint_bench_one").await?,
            1,
        ),
        (
            "PostgreSQL, 2 replicas",
            fresh_database(&admin_url, "stint_bench_two").await?,
            2,
        ),
    ];
    let wrk = std::env::var("STINT_WRK").ok();
    let mut wrk_rows = Vec::new();
    let mut lag_url = None;
    for (backend, url, replicas) in setups {
        let brokers = start(&bin, &url, &key_file, replicas).await?;
        let callers = measure(backend, &brokers, calls).await?;
        if let Some(wrk) = &wrk {
            wrk_rows.extend(measure_with_wrk(wrk, backend, &brokers, &url, &callers).await?);
        }
        if replicas == 2 {
            lag_url = Some(url);
        }
        drop(brokers);
    }
    if !wrk_rows.is_empty() {
        println!();
        println!(
            "| backend | call (wrk, external) | concurrency | seconds | p50 | p99 | requests/s | wrk's CPU |"
        );
        println!("|---------|------|------------:|------:|----:|----:|-----------:|----:|");
        for row in wrk_rows {
            println!("{row}");
        }
    }

    // Revocation lag on PostgreSQL: two replicas sweep, one database.
    let url = lag_url.ok_or_else(|| anyhow!("no two-replica database"))?;
    let brokers = start(&bin, &url, &key_file, 2).await?;
    let lag = revocation_lag(&url, 1_000).await?;
    drop(brokers);
    println!();
    println!("| measure | figure |");
    println!("|---------|-------:|");
    println!(
        "| revocation lag on PostgreSQL, two replicas, 1 000 grants expiring in one second (p50 / p99 / max) | {} / {} / {} ms |",
        lag.0, lag.1, lag.2
    );
    Ok(())
}

/// A new, empty database on the server, named `name` (dropped first if a run left it).
async fn fresh_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let mut admin = PgConnection::connect(admin_url).await?;
    for statement in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut admin)
            .await?;
    }
    admin.close().await?;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

/// `count` brokers on `url` with demo data, the first alone (it migrates and seeds).
async fn start(bin: &str, url: &str, key_file: &str, count: usize) -> anyhow::Result<Vec<Broker>> {
    let mut brokers = Vec::new();
    for _ in 0..count {
        let mut broker = Broker::start(bin, url, &["--demo", "--key-file", key_file])?;
        broker.wait_until_serving(Duration::from_secs(60)).await?;
        brokers.push(broker);
    }
    Ok(brokers)
}

/// Who calls: alice files, bob approves, a resource server introspects alice's token.
struct Callers {
    alice: Session,
    bob: Session,
    resource_server: Session,
    token: String,
}

/// Files, approves and introspects through `brokers` in turn, at each concurrency.
async fn measure(backend: &str, brokers: &[Broker], calls: usize) -> anyhow::Result<Callers> {
    let http = http();
    let bases: Vec<String> = brokers.iter().map(|b| b.base.clone()).collect();
    let alice = login(&http, &bases[0], "alice").await?;
    let bob = login(&http, &bases[0], "bob").await?;
    let token = live_token(&bases[0], &alice, &bob).await?;
    let resource_server = resource_server(&bases[0]).await?;
    // Requests to approve, filed beforehand.
    let mut pending = Vec::new();
    for i in 0..calls * CONCURRENCY.len() {
        let base = &bases[i % bases.len()];
        let (status, filed) = call(
            &http,
            base,
            "POST",
            "/api/v1/requests",
            Some(&alice),
            Some(file_body()),
        )
        .await?;
        ensure!(status == 201, "filing failed: {filed}");
        pending.push(filed["id"].as_i64().ok_or_else(|| anyhow!("no id"))?);
    }
    for concurrency in CONCURRENCY {
        let file = Scenario::new("file a request", "POST", Some(alice.clone()), |_| {
            ("/api/v1/requests".into(), Some(file_body()))
        });
        let ids: Vec<i64> = pending.drain(..calls).collect();
        let approve = Scenario::new("approve a request", "POST", Some(bob.clone()), move |i| {
            (
                format!("/api/v1/requests/{}/approve", ids[i]),
                Some(json!({})),
            )
        });
        let token = token.clone();
        let introspect = Scenario::new(
            "introspect a token",
            "POST",
            Some(resource_server.clone()),
            move |_| ("/api/v1/introspect".into(), Some(json!({ "token": token }))),
        );
        for scenario in [file, approve, introspect] {
            let figures = scenario
                .run_across(&http, &bases, concurrency, calls)
                .await?;
            println!(
                "| {backend} | {} | {concurrency} | {calls} | {:.2} ms | {:.2} ms | {:.0} |",
                scenario.name, figures.p50_ms, figures.p99_ms, figures.per_sec
            );
        }
    }
    Ok(Callers {
        alice,
        bob,
        resource_server,
        token,
    })
}

/// The same calls from `wrk`, its connections spread over the replicas; returns the rows.
/// The requests to approve are filed by wrk beforehand (a run as long as the measured one,
/// on top of the measured filing), since approving is the slower of the two.
async fn measure_with_wrk(
    wrk: &str,
    backend: &str,
    brokers: &[Broker],
    url: &str,
    callers: &Callers,
) -> anyhow::Result<Vec<String>> {
    let bases: Vec<String> = brokers.iter().map(|b| b.base.clone()).collect();
    let file = vec![Call {
        method: "POST",
        path: "/api/v1/requests".into(),
        body: Some(file_body().to_string()),
    }];
    let introspect = vec![Call {
        method: "POST",
        path: "/api/v1/introspect".into(),
        body: Some(json!({ "token": callers.token }).to_string()),
    }];
    let mut rows = Vec::new();
    let mut row = |name: &str, concurrency: usize, f: wrk::WrkFigures| {
        rows.push(format!(
            "| {backend} | {name} | {concurrency} | {WRK_SECONDS} | {:.2} ms | {:.2} ms | {:.0} | {:.0} % |",
            f.p50_ms, f.p99_ms, f.per_sec, f.wrk_cpu_percent
        ));
    };
    let alice = callers.alice.headers();
    for concurrency in CONCURRENCY {
        let filed = wrk::run_across(wrk, &bases, &alice, &file, concurrency, WRK_SECONDS)?;
        row("file a request", concurrency, filed);
        // Enough pending requests that the approvals never come round to one twice (each
        // wrk cycles through its calls): approving can outrun filing.
        let mut pending = pending_ids(url).await?;
        for _ in 0..6 {
            if pending.len() >= WRK_PENDING {
                break;
            }
            wrk::run_across(wrk, &bases, &alice, &file, concurrency, WRK_SECONDS)?;
            pending = pending_ids(url).await?;
        }
        let approve: Vec<Call> = pending
            .into_iter()
            .map(|id| Call {
                method: "POST",
                path: format!("/api/v1/requests/{id}/approve"),
                body: Some("{}".into()),
            })
            .collect();
        let bob = callers.bob.headers();
        let approved = wrk::run_across(wrk, &bases, &bob, &approve, concurrency, WRK_SECONDS)?;
        row("approve a request", concurrency, approved);
        let server = callers.resource_server.headers();
        let looked_up =
            wrk::run_across(wrk, &bases, &server, &introspect, concurrency, WRK_SECONDS)?;
        row("introspect a token", concurrency, looked_up);
    }
    Ok(rows)
}

/// The ids of the requests still pending, oldest first.
async fn pending_ids(url: &str) -> anyhow::Result<Vec<i64>> {
    const PENDING: &str = "SELECT id FROM requests WHERE state = 'pending' ORDER BY id";
    Ok(if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await?;
        let ids = sqlx::query_scalar(PENDING).fetch_all(&pool).await?;
        pool.close().await;
        ids
    } else {
        let pool = PgPool::connect(url).await?;
        let ids = sqlx::query_scalar(PENDING).fetch_all(&pool).await?;
        pool.close().await;
        ids
    })
}

/// A credential of a live grant of alice's, approved by bob.
async fn live_token(base: &str, alice: &Session, bob: &Session) -> anyhow::Result<String> {
    let http = http();
    let (status, filed) = call(
        &http,
        base,
        "POST",
        "/api/v1/requests",
        Some(alice),
        Some(file_body()),
    )
    .await?;
    ensure!(status == 201, "filing failed: {filed}");
    let (status, approved) = call(
        &http,
        base,
        "POST",
        &format!("/api/v1/requests/{}/approve", filed["id"]),
        Some(bob),
        Some(json!({})),
    )
    .await?;
    ensure!(status == 200, "approving failed: {approved}");
    let (_, credential) = call(
        &http,
        base,
        "POST",
        &format!("/api/v1/grants/{}/credential", approved["grant"]["id"]),
        Some(alice),
        None,
    )
    .await?;
    credential["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no token: {credential}"))
}

/// Lag from each grant's expiry to the `grant.expired` event a replica wrote, in ms, for
/// `count` grants expiring evenly over one second.
async fn revocation_lag(url: &str, count: i64) -> anyhow::Result<(i64, i64, i64)> {
    let pool = PgPool::connect(url).await?;
    let now = chrono::Utc::now();
    let expires = (now + chrono::Duration::seconds(2)).timestamp_millis();
    let ids: Vec<i64> = sqlx::query_scalar(
        "WITH filed AS (
           INSERT INTO requests (identity_id, resource_id, privilege, duration_secs, task,
                                 requester_id, state, approvals_required, max_duration_secs,
                                 created_at, pending_expires_at, decided_at)
           SELECT 1, 1, 'read', 600, 'lag ' || n, 1, 'approved', 1, 14400, $1, $1, $1
           FROM generate_series(0, $2 - 1) n RETURNING id, created_at)
         INSERT INTO grants (request_id, identity_id, resource_id, privilege, holder_id, state,
                             starts_at, expires_at)
         SELECT id, 1, 1, 'read', 1, 'active', created_at,
                $3 + (row_number() OVER (ORDER BY id) - 1) * 1000 / $2
         FROM filed RETURNING id",
    )
    .bind(now.timestamp_millis())
    .bind(count)
    .bind(expires)
    .fetch_all(&pool)
    .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut lags: Vec<i64> = sqlx::query_scalar(
        "SELECT e.at - g.expires_at FROM audit_events e JOIN grants g ON g.id = e.grant_id
         WHERE e.action = 'grant.expired' AND g.id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&pool)
    .await?;
    ensure!(
        lags.len() == ids.len(),
        "only {} of {count} grants expired",
        lags.len()
    );
    lags.sort_unstable();
    Ok((
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        *lags.last().unwrap(),
    ))
}
