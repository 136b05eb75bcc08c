//! Measures the broker as users meet it: a `stint serve` process on loopback, a database
//! seeded with many requests (with their grants and audit events), and a bounded load
//! generator in this process. Run by `cargo xtask bench`, which builds the broker binary
//! and passes its path in `STINT_BIN`. Prints Markdown tables.
//!
//! `load_bench [SEEDED_REQUESTS] [CALLS_PER_RUN]`, by default 100 000 and 1 000.

// Each benchmark uses part of what they share.
#[allow(dead_code)]
mod bench_support;

use anyhow::{Context, anyhow, ensure};
use bench_support::wrk::{self, Call};
use bench_support::{
    Broker, Http, Scenario, Session, call, file_body, http, login, percentile, resource_server,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sqlx::SqlitePool;
use std::process::{Command, Stdio};
use std::time::Instant;
use stint_broker::store::SqliteStore;
use stint_broker::store::audit::{self, Actor, Event};

/// The concurrencies every scenario runs at.
const CONCURRENCY: [usize; 2] = [1, 10];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let seeded: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let calls: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(1_000);
    let bin = std::env::var("STINT_BIN").context("STINT_BIN names the stint binary")?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());

    let started = Instant::now();
    let approvable = calls * CONCURRENCY.len();
    seed(&url, seeded, approvable + WRK_APPROVALS * CONCURRENCY.len()).await?;
    eprintln!(
        "seeded {seeded} requests in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut broker = Broker::start(&bin, &url, &[])?;
    broker
        .wait_until_serving(std::time::Duration::from_secs(60))
        .await?;
    let http = http();
    let base = broker.base.clone();
    let alice = login(&http, &base, "alice").await?;
    let bob = login(&http, &base, "bob").await?;
    let idle_rss = broker.rss_kib()?;

    // One live grant for credentials, one token for introspection.
    let (status, filed) = call(
        &http,
        &base,
        "POST",
        "/api/v1/requests",
        Some(&alice),
        Some(file_body()),
    )
    .await?;
    ensure!(status == 201, "filing failed: {filed}");
    let (status, approved) = call(
        &http,
        &base,
        "POST",
        &format!("/api/v1/requests/{}/approve", filed["id"]),
        Some(&bob),
        Some(json!({})),
    )
    .await?;
    ensure!(status == 200, "approving failed: {approved}");
    let grant = approved["grant"]["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no grant"))?;
    let (_, credential) = call(
        &http,
        &base,
        "POST",
        &format!("/api/v1/grants/{grant}/credential"),
        Some(&alice),
        None,
    )
    .await?;
    let token = credential["token"]
        .as_str()
        .ok_or_else(|| anyhow!("no token"))?
        .to_string();
    // Downstream services introspect with their resource's client credentials.
    let resource_server = resource_server(&base).await?;
    let workload = identity_grant(&http, &base, &alice, &bob).await?;
    let dave = login(&http, &base, "dave").await?;
    let workload_token = federated_workload(&http, &base, &dave).await?;

    let pool = SqlitePool::connect(&url).await?;
    let mut pending: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM requests WHERE state = 'pending' ORDER BY id")
            .fetch_all(&pool)
            .await?;
    ensure!(
        pending.len() == approvable + WRK_APPROVALS * CONCURRENCY.len(),
        "{} approvable requests",
        pending.len()
    );

    // Warm the caches, as on a broker that has been serving for a while.
    let warm_list = Scenario::new("warm-up", "GET", Some(bob.clone()), |_| {
        ("/api/v1/requests?state=pending&limit=50".into(), None)
    });
    let warm_file = Scenario::new("warm-up", "POST", Some(alice.clone()), |_| {
        ("/api/v1/requests".into(), Some(file_body()))
    });
    for warm in [warm_list, warm_file] {
        warm.run(&http, &base, 1, 200).await?;
    }

    println!("| call | concurrency | calls | p50 | p99 | requests/s |");
    println!("|------|------------:|------:|----:|----:|-----------:|");
    for concurrency in CONCURRENCY {
        let list = Scenario::new(
            "list pending (page of 50)",
            "GET",
            Some(bob.clone()),
            |_| ("/api/v1/requests?state=pending&limit=50".into(), None),
        );
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
        let fetch = Scenario::new(
            "fetch a credential",
            "POST",
            Some(alice.clone()),
            move |_| (format!("/api/v1/grants/{grant}/credential"), None),
        );
        let token = token.clone();
        let introspect = Scenario::new(
            "introspect a token",
            "POST",
            Some(resource_server.clone()),
            move |_| ("/api/v1/introspect".into(), Some(json!({ "token": token }))),
        );
        for scenario in [list, file, approve, fetch, introspect] {
            let figures = scenario.run(&http, &base, concurrency, calls).await?;
            println!(
                "| {} | {concurrency} | {calls} | {:.2} ms | {:.2} ms | {:.0} |",
                scenario.name, figures.p50_ms, figures.p99_ms, figures.per_sec
            );
        }
    }
    if let Ok(wrk) = std::env::var("STINT_WRK") {
        // The grants the approvals above made: credentials are fetched for each in turn, as
        // many holders do, so what the broker does per grant in use (the usage tallies'
        // flush) is in the figure.
        let held: Vec<i64> = sqlx::query_scalar(
            "SELECT g.id FROM grants g JOIN users u ON u.id = g.holder_id
             WHERE u.username = 'alice' AND g.state = 'active' AND g.expires_at > ?
             ORDER BY g.id",
        )
        .bind((Utc::now() + Duration::minutes(5)).timestamp_millis())
        .fetch_all(&pool)
        .await?;
        ensure!(
            held.len() >= approvable,
            "{} grants to fetch for",
            held.len()
        );
        let callers = (&alice, &bob, &resource_server);
        let machines = (&workload, workload_token.as_str());
        external_load(&wrk, &base, callers, &held, &token, machines, &mut pending)?;
        if let Ok(bao) = std::env::var("STINT_BAO") {
            beside_openbao(&wrk, &bao, &base, callers, grant, &token)?;
        }
    }
    let loaded_rss = broker.peak_rss_kib()?;

    let lag = revocation_lag(&pool, 1_000).await?;
    broker.stop()?;
    pool.close().await;

    let recovery = recovery(&bin, &url, 10_000).await?;
    println!();
    println!("| measure | figure |");
    println!("|---------|-------:|");
    println!(
        "| resident memory, idle after start | {} MiB |",
        idle_rss / 1024
    );
    println!(
        "| resident memory, peak under load | {} MiB |",
        loaded_rss / 1024
    );
    println!(
        "| revocation lag, 1 000 grants expiring in one second (p50 / p99 / max) | {} / {} / {} ms |",
        lag.0, lag.1, lag.2
    );
    println!(
        "| recovery: start with 10 000 overdue grants until all expired and serving | {:.2} s |",
        recovery
    );
    Ok(())
}

/// How long each external (wrk) run lasts, and how many pending requests each of its
/// approval runs may use up: enough for 6 000 approvals a second.
const WRK_SECONDS: u32 = 4;
/// Rounds of each side-by-side pair, and each round's length.
const BAO_ROUNDS: usize = 3;
const BAO_ROUND_SECONDS: u32 = 2;
const WRK_APPROVALS: usize = 24_000;

/// An identity asking for itself: alice mints its API token, it files with it (Bearer), bob
/// approves. The token's caller and its grant.
async fn identity_grant(
    http: &Http,
    base: &str,
    alice: &Session,
    bob: &Session,
) -> anyhow::Result<(Session, i64)> {
    let body = json!({ "name": "bench", "expires_in_secs": 86_400 });
    let (status, minted) = call(
        http,
        base,
        "POST",
        "/api/v1/identities/1/tokens",
        Some(alice),
        Some(body),
    )
    .await?;
    ensure!(status == 201, "minting a token failed: {minted}");
    let workload = Session::bearer(minted["token"].as_str().unwrap_or_default());
    let (status, filed) = call(
        http,
        base,
        "POST",
        "/api/v1/requests",
        Some(&workload),
        Some(file_body()),
    )
    .await?;
    ensure!(status == 201, "filing with the token failed: {filed}");
    let path = format!("/api/v1/requests/{}/approve", filed["id"]);
    let (status, approved) = call(http, base, "POST", &path, Some(bob), Some(json!({}))).await?;
    ensure!(status == 200, "approving failed: {approved}");
    let grant = approved["grant"]["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no grant"))?;
    Ok((workload, grant))
}

/// A CI platform's issuer, registered by dave with its key inline (ES256), mapping its
/// `repository` claim to identity 1; a token it signed, good for an hour.
async fn federated_workload(http: &Http, base: &str, dave: &Session) -> anyhow::Result<String> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
    use p256::pkcs8::EncodePrivateKey;
    let private = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let signing = EncodingKey::from_ec_der(private.to_pkcs8_der()?.as_bytes());
    let mut public = Jwk::from_encoding_key(&signing, Algorithm::ES256)?;
    public.common.key_id = Some("bench-1".into());
    let issuer = "https://ci.bench.example";
    let body = json!({
        "name": "bench-ci", "issuer": issuer, "audience": base, "jwks": { "keys": [public] },
        "rules": [{ "claims": { "repository": "acme/payments" }, "identity_id": 1 }],
    });
    let (status, saved) = call(
        http,
        base,
        "POST",
        "/api/v1/federation/issuers",
        Some(dave),
        Some(body),
    )
    .await?;
    ensure!(status == 201, "registering the issuer failed: {saved}");
    let now = Utc::now().timestamp();
    let claims = json!({
        "iss": issuer, "aud": base, "sub": "repo:acme/payments:ref:refs/heads/main",
        "repository": "acme/payments", "iat": now, "exp": now + 3600,
    });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("bench-1".into());
    let token = jsonwebtoken::encode(&header, &claims, &signing)?;
    let (status, issued) = call(
        http,
        base,
        "POST",
        "/api/v1/token",
        None,
        Some(exchange_body(&token)),
    )
    .await?;
    ensure!(status == 200, "the exchange failed: {issued}");
    Ok(token)
}

fn exchange_body(token: &str) -> Value {
    json!({
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
    })
}

/// The same calls driven by `wrk` from its own process: what an HTTP client sees, with
/// nothing of the load generator inside the measured process.
fn external_load(
    wrk: &str,
    base: &str,
    (alice, bob, resource_server): (&Session, &Session, &Session),
    held: &[i64],
    token: &str,
    ((workload, workload_grant), workload_token): (&(Session, i64), &str),
    pending: &mut Vec<i64>,
) -> anyhow::Result<()> {
    println!();
    println!(
        "| call (wrk, external) | concurrency | seconds | p50 | p99 | requests/s | wrk's CPU |"
    );
    println!("|------|------------:|------:|----:|----:|-----------:|----:|");
    for concurrency in CONCURRENCY {
        let file = vec![Call {
            method: "POST",
            path: "/api/v1/requests".into(),
            body: Some(file_body().to_string()),
        }];
        let approve: Vec<Call> = pending
            .drain(..WRK_APPROVALS)
            .map(|id| Call {
                method: "POST",
                path: format!("/api/v1/requests/{id}/approve"),
                body: Some("{}".into()),
            })
            .collect();
        let list = vec![Call {
            method: "GET",
            path: "/api/v1/requests?state=pending&limit=50".into(),
            body: None,
        }];
        let fetch: Vec<Call> = held
            .iter()
            .map(|grant| Call {
                method: "POST",
                path: format!("/api/v1/grants/{grant}/credential"),
                body: None,
            })
            .collect();
        let fetch_own = vec![Call {
            method: "POST",
            path: format!("/api/v1/grants/{workload_grant}/credential"),
            body: None,
        }];
        let exchange = vec![Call {
            method: "POST",
            path: "/api/v1/token".into(),
            body: Some(exchange_body(workload_token).to_string()),
        }];
        let introspect = vec![Call {
            method: "POST",
            path: "/api/v1/introspect".into(),
            body: Some(json!({ "token": token }).to_string()),
        }];
        for (name, session, calls) in [
            ("list pending (page of 50)", bob, list),
            ("file a request", alice, file),
            ("approve a request", bob, approve),
            ("fetch a credential (many grants in turn)", alice, fetch),
            ("fetch a credential (identity's token)", workload, fetch_own),
            (
                "exchange a workload token (RFC 8693)",
                &Session::none(),
                exchange,
            ),
            ("introspect a token", resource_server, introspect),
        ] {
            let headers = session.headers();
            let f = wrk::run(wrk, base, &headers, &calls, concurrency, WRK_SECONDS)?;
            println!(
                "| {name} | {concurrency} | {WRK_SECONDS} | {:.2} ms | {:.2} ms | {:.0} | {:.0} % |",
                f.p50_ms, f.p99_ms, f.per_sec, f.wrk_cpu_percent
            );
        }
    }
    Ok(())
}

/// OpenBao in dev mode (in-memory storage) on loopback, beside Stint for the calls both
/// make: issuing a short-lived credential (OpenBao: a token) and checking one. Each pair
/// runs in `BAO_ROUNDS` alternating rounds under the same wrk settings (Stint, OpenBao,
/// Stint, …); each side's figure is its median round.
fn beside_openbao(
    wrk: &str,
    bao: &str,
    base: &str,
    (alice, _, resource_server): (&Session, &Session, &Session),
    grant: i64,
    token: &str,
) -> anyhow::Result<()> {
    const ROOT: &str = "stint-bench-root";
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let bao_base = format!("http://127.0.0.1:{port}");
    let server = Command::new(bao)
        .args(["server", "-dev", &format!("-dev-root-token-id={ROOT}")])
        .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {bao}"))?;
    let _server = KillOnDrop(server);
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while ureq::get(format!("{bao_base}/v1/sys/health"))
        .call()
        .is_err()
    {
        ensure!(Instant::now() < deadline, "OpenBao did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let created: Value = serde_json::from_str(
        &ureq::post(format!("{bao_base}/v1/auth/token/create"))
            .header("X-Vault-Token", ROOT)
            .header("Content-Type", "application/json")
            .send(json!({ "ttl": "1h" }).to_string())?
            .into_body()
            .read_to_string()?,
    )?;
    let bao_token = created["auth"]["client_token"]
        .as_str()
        .ok_or_else(|| anyhow!("OpenBao made no token: {created}"))?
        .to_string();
    let bao_headers = vec![("X-Vault-Token".to_string(), ROOT.to_string())];
    let one = |method, path: String, body: Option<Value>| {
        vec![Call {
            method,
            path,
            body: body.map(|b| b.to_string()),
        }]
    };
    println!();
    println!(
        "| call (wrk) | concurrency | Stint requests/s (p50) | OpenBao requests/s (p50) | Stint ÷ OpenBao |"
    );
    println!("|------|------------:|------:|------:|----:|");
    for concurrency in CONCURRENCY {
        let pairs = [
            (
                "issue a credential (OpenBao: create a token)",
                alice,
                one("POST", format!("/api/v1/grants/{grant}/credential"), None),
                one(
                    "POST",
                    "/v1/auth/token/create".into(),
                    Some(json!({ "ttl": "600s" })),
                ),
            ),
            (
                "introspect a token (OpenBao: look a token up)",
                resource_server,
                one(
                    "POST",
                    "/api/v1/introspect".into(),
                    Some(json!({ "token": token })),
                ),
                one(
                    "POST",
                    "/v1/auth/token/lookup".into(),
                    Some(json!({ "token": bao_token })),
                ),
            ),
        ];
        for (name, caller, stint_calls, bao_calls) in pairs {
            let stint_headers = caller.headers();
            // Alternating short rounds, so a slow spell of the machine falls on both.
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..BAO_ROUNDS {
                ours.push(wrk::run(
                    wrk,
                    base,
                    &stint_headers,
                    &stint_calls,
                    concurrency,
                    BAO_ROUND_SECONDS,
                )?);
                theirs.push(wrk::run(
                    wrk,
                    &bao_base,
                    &bao_headers,
                    &bao_calls,
                    concurrency,
                    BAO_ROUND_SECONDS,
                )?);
            }
            let (ours, theirs) = (wrk::median(ours), wrk::median(theirs));
            println!(
                "| {name} | {concurrency} | {:.0} ({:.2} ms) | {:.0} ({:.2} ms) | {:.2} |",
                ours.per_sec,
                ours.p50_ms,
                theirs.per_sec,
                theirs.p50_ms,
                ours.per_sec / theirs.per_sec
            );
        }
    }
    Ok(())
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The demo organisation, then `count` requests by alice for ci-deployer on payments-db:
/// the first `pending` still pending, the rest approved by bob with a grant that expired,
/// each with the events the broker would have written.
async fn seed(url: &str, count: usize, pending: usize) -> anyhow::Result<()> {
    let store = SqliteStore::open(url).await?;
    let now = Utc::now();
    stint_broker::demo::seed(&store, now, &[]).await?;
    let ids: Vec<(String, i64)> = sqlx::query_as(
        "SELECT name, id FROM identities UNION ALL SELECT name, id FROM resources
         UNION ALL SELECT username, id FROM users",
    )
    .fetch_all(store.pool())
    .await?;
    let id = |name: &str| {
        ids.iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .unwrap()
    };
    ensure!(
        id("ci-deployer") == 1 && id("payments-db") == 1,
        "demo ids moved"
    );
    let (alice, bob) = (id("alice"), id("bob"));
    let alice_view = user(alice, "alice");
    let bob_view = user(bob, "bob");
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await?;
    for i in 0..count {
        let filed = now - Duration::days(30) + Duration::seconds(i as i64);
        let is_pending = i < pending;
        let request_id: i64 = sqlx::query_scalar(
            "INSERT INTO requests (identity_id, resource_id, privilege, duration_secs, task, ticket,
                                   requester_id, state, approvals_required, max_duration_secs,
                                   created_at, pending_expires_at, decided_at)
             VALUES (1, 1, 'read', 600, 'Rotate the ledger encryption keys', 'OPS-1', ?, ?, 1,
                     14400, ?, ?, ?) RETURNING id",
        )
        .bind(alice)
        .bind(if is_pending { "pending" } else { "approved" })
        .bind(filed.timestamp_millis())
        .bind((now + Duration::days(365)).timestamp_millis())
        .bind((!is_pending).then(|| filed.timestamp_millis()))
        .fetch_one(&mut *tx)
        .await?;
        let details =
            json!({ "identity": "ci-deployer", "resource": "payments-db", "privilege": "read" });
        audit::record(
            &mut *tx,
            filed,
            Event::new(
                Actor::User(&alice_view),
                "request.filed",
                "request",
                Some(request_id),
            )
            .request(request_id)
            .details(details.clone()),
        )
        .await?;
        if is_pending {
            continue;
        }
        sqlx::query("INSERT INTO approvals (request_id, approver_id, duration_secs, at) VALUES (?, ?, 600, ?)")
            .bind(request_id)
            .bind(bob)
            .bind(filed.timestamp_millis())
            .execute(&mut *tx)
            .await?;
        let grant_id = insert_grant(
            &mut tx,
            request_id,
            alice,
            "expired",
            filed,
            filed + Duration::seconds(600),
        )
        .await?;
        for (actor, action) in [
            (Actor::User(&bob_view), "request.approved"),
            (Actor::User(&bob_view), "grant.activated"),
            (Actor::Broker, "grant.expired"),
        ] {
            let event = Event::new(actor, action, "grant", Some(grant_id))
                .request(request_id)
                .grant(grant_id)
                .details(details.clone());
            audit::record(&mut *tx, filed, event).await?;
        }
    }
    tx.commit().await?;
    store.pool().close().await;
    Ok(())
}

fn user(id: i64, name: &str) -> stint_core::api::UserView {
    stint_core::api::UserView {
        id,
        username: name.into(),
        display_name: name.into(),
        roles: Vec::new(),
        identity_id: None,
        via: None,
        vouched_by: None,
    }
}

async fn insert_grant(
    conn: &mut sqlx::SqliteConnection,
    request_id: i64,
    holder: i64,
    state: &str,
    starts: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO grants (request_id, identity_id, resource_id, privilege, holder_id, state,
                             starts_at, expires_at, ended_at)
         VALUES (?, 1, 1, 'read', ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(request_id)
    .bind(holder)
    .bind(state)
    .bind(starts.timestamp_millis())
    .bind(expires.timestamp_millis())
    .bind((state != "active").then(|| expires.timestamp_millis()))
    .fetch_one(&mut *conn)
    .await?)
}

/// `count` active grants (each with its approved request), their expiries spread evenly
/// over the second from `expires`.
async fn insert_live_grants(
    pool: &SqlitePool,
    count: usize,
    expires: DateTime<Utc>,
) -> anyhow::Result<(i64, i64)> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut first = 0;
    let mut last = 0;
    let now = Utc::now();
    for i in 0..count {
        let request_id: i64 = sqlx::query_scalar(
            "INSERT INTO requests (identity_id, resource_id, privilege, duration_secs, task,
                                   requester_id, state, approvals_required, max_duration_secs,
                                   created_at, pending_expires_at, decided_at)
             VALUES (1, 1, 'read', 600, 'Rotate the ledger encryption keys', 1, 'approved', 1,
                     14400, ?, ?, ?) RETURNING id",
        )
        .bind(now.timestamp_millis())
        .bind(now.timestamp_millis())
        .bind(now.timestamp_millis())
        .fetch_one(&mut *tx)
        .await?;
        let grant = insert_grant(
            &mut tx,
            request_id,
            1,
            "active",
            now - Duration::minutes(5),
            expires + Duration::milliseconds((i * 1000 / count) as i64),
        )
        .await?;
        if i == 0 {
            first = grant;
        }
        last = grant;
    }
    tx.commit().await?;
    Ok((first, last))
}

/// Lag from each grant's expiry to the sweeper's `grant.expired` event, in ms.
async fn revocation_lag(pool: &SqlitePool, count: usize) -> anyhow::Result<(i64, i64, i64)> {
    let expires = Utc::now() + Duration::seconds(2);
    let (first, last) = insert_live_grants(pool, count, expires).await?;
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let mut lags: Vec<i64> = sqlx::query_scalar(
        "SELECT e.at - g.expires_at FROM audit_events e JOIN grants g ON g.id = e.grant_id
         WHERE e.action = 'grant.expired' AND g.id BETWEEN ? AND ?",
    )
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await?;
    ensure!(
        lags.len() == count,
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

/// Seconds from starting the broker on a database with `count` overdue grants until it
/// answers, when all of them are expired.
async fn recovery(bin: &str, url: &str, count: usize) -> anyhow::Result<f64> {
    let pool = SqlitePool::connect(url).await?;
    insert_live_grants(&pool, count, Utc::now() - Duration::minutes(1)).await?;
    let started = Instant::now();
    let mut broker = Broker::start(bin, url, &[])?;
    broker
        .wait_until_serving(std::time::Duration::from_secs(120))
        .await?;
    let secs = started.elapsed().as_secs_f64();
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM grants WHERE state = 'active' AND expires_at <= ?",
    )
    .bind(Utc::now().timestamp_millis())
    .fetch_one(&pool)
    .await?;
    ensure!(left == 0, "{left} overdue grants still active once serving");
    broker.stop()?;
    pool.close().await;
    Ok(secs)
}
