//! Connectors against a real PostgreSQL (the cluster of `STINT_TEST_POSTGRES_URL`, which
//! `cargo xtask test` starts for both passes) and a webhook receiver on loopback: a grant's
//! role exists exactly while the grant lives, and its revocation outlives outages and
//! crashes.

use crate::admin::save_payments_db;
use crate::client::{finished, stint, text, token};
use crate::helpers::{Http, Server, TestApp, rand_bytes, serve_with};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use stint_broker::clock::{ManualClock, SystemClock};
use stint_broker::connectors::config;
use stint_broker::connectors::worker::{PassReport, run_due};
use stint_core::connectors::RetryPolicy;

/// The test cluster's administrator URL.
fn cluster_url() -> String {
    std::env::var("STINT_TEST_POSTGRES_URL").expect(
        "STINT_TEST_POSTGRES_URL names a PostgreSQL cluster for the connector tests \
         (cargo xtask test starts one)",
    )
}

/// A database of its own in the test cluster, standing for a team's `payments`, with one
/// table and one row.
struct Downstream {
    /// The administrator's URL of this database.
    admin_url: String,
    name: String,
}

impl Downstream {
    async fn new() -> Downstream {
        let cluster = cluster_url();
        let name = format!("payments_{}", hex::encode(rand_bytes()));
        let mut admin = PgConnection::connect(&cluster).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let base = cluster.rsplit_once('/').unwrap().0;
        let admin_url = format!("{base}/{name}");
        let mut db = PgConnection::connect(&admin_url).await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE ledger (id INT PRIMARY KEY, amount INT);
             INSERT INTO ledger VALUES (1, 100);",
        )
        .execute(&mut db)
        .await
        .unwrap();
        db.close().await.unwrap();
        Downstream { admin_url, name }
    }

    /// The connectors file linking `payments-pg` to this database at `admin_url` (this
    /// one, or a proxy's in front of it), with holders pointed at the real server.
    fn file(&self, admin_url: &str) -> config::ConnectorsFile {
        let (host, port) = host_port(&self.admin_url);
        let text = format!(
            r#"
[connectors.payments-pg]
kind = "postgres"
admin_url_env = "PAYMENTS_PG_ADMIN_URL"
host = "{host}"
port = {port}
[connectors.payments-pg.privileges]
read = ["GRANT CONNECT ON DATABASE {db} TO {{{{role}}}}", "GRANT USAGE ON SCHEMA public TO {{{{role}}}}", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {{{{role}}}}"]
write = ["GRANT CONNECT ON DATABASE {db} TO {{{{role}}}}", "GRANT USAGE ON SCHEMA public TO {{{{role}}}}", "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {{{{role}}}}"]
"#,
            db = self.name
        );
        let url = admin_url.to_string();
        config::parse(&text, &move |var| {
            (var == "PAYMENTS_PG_ADMIN_URL").then(|| url.clone())
        })
        .unwrap()
    }

    async fn role_exists(&self, role: &str) -> bool {
        let mut db = PgConnection::connect(&self.admin_url).await.unwrap();
        let exists =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                .bind(role)
                .fetch_one(&mut db)
                .await
                .unwrap();
        db.close().await.unwrap();
        exists
    }
}

fn host_port(url: &str) -> (String, u16) {
    let parsed = url::Url::parse(url).unwrap();
    (
        parsed.host_str().unwrap().to_string(),
        parsed.port().unwrap_or(5432),
    )
}

/// Retries fast, so tests see several attempts in moments.
fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_ms: 100,
        cap_ms: 400,
        alert_after: 3,
    }
}

/// A demo broker whose clock starts at the real time (PostgreSQL checks `VALID UNTIL`
/// against its own clock) and that loads `connectors`, with `payments-db` linked to
/// `payments-pg` by an admin.
async fn broker_with(connectors: config::ConnectorsFile) -> TestApp {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::with_clock_and_config(clock, |c| {
        c.connectors = connectors;
        c.connector_retry = fast_retries();
    })
    .await;
    link(&app, "payments-db", Some("payments-pg")).await;
    app
}

/// Links `resource` to `connector` as an admin would in the policy editor; the answer.
async fn try_link(app: &TestApp, resource: &str, connector: Option<&str>) -> (StatusCode, Value) {
    let dave = app.login("dave").await;
    let id = app.id_of(&dave, "resources", resource).await;
    let (_, mut body) = app.get(&dave, &format!("/api/v1/resources/{id}")).await;
    body["connector"] = json!(connector);
    // A new connector widens access: grace, the second admin, approves it.
    let path = format!("/api/v1/resources/{id}");
    app.admin_change(&dave, axum::http::Method::PUT, &path, body)
        .await
}

async fn link(app: &TestApp, resource: &str, connector: Option<&str>) {
    let (status, body) = try_link(app, resource, connector).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn outbox(app: &TestApp) -> PassReport {
    run_due(app.broker.state()).await.unwrap()
}

async fn access_of(app: &TestApp, grant: i64) -> Value {
    let dave = app.login("dave").await;
    let (status, view) = app.get(&dave, &format!("/api/v1/grants/{grant}")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view["access"].clone()
}

/// A connection as the grant's holder would open it, with the URL a credential gave.
async fn connect(url: &str) -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect(url).await
}

#[tokio::test]
async fn a_role_lives_exactly_as_long_as_its_grant_and_its_password_only_until_the_next_fetch() {
    let downstream = Downstream::new().await;
    let app = broker_with(downstream.file(&downstream.admin_url)).await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 600).await;
    assert_eq!(access_of(&app, grant).await["phase"], "provisioning");
    let (_, view) = app.get(&alice, &format!("/api/v1/grants/{grant}")).await;
    assert_eq!(
        view["can_fetch_credential"], false,
        "not usable before it exists"
    );

    assert_eq!(
        outbox(&app).await,
        PassReport {
            succeeded: 1,
            failed: 0
        }
    );
    let access = access_of(&app, grant).await;
    assert_eq!(access["phase"], "ready", "{access}");
    let role = access["account"].as_str().unwrap().to_string();
    assert!(role.starts_with(&format!("stint_{grant}_")), "{role}");

    let (status, first) = app.credential(&alice, grant).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let pg = &first["postgres"];
    assert_eq!(pg["username"], role.as_str());
    assert_eq!(pg["database"], downstream.name.as_str());
    let mut session = connect(pg["url"].as_str().unwrap()).await.unwrap();
    let amount: i32 = sqlx::query_scalar("SELECT amount FROM ledger WHERE id = 1")
        .fetch_one(&mut session)
        .await
        .unwrap();
    assert_eq!(amount, 100, "read works");
    let write = sqlx::query("UPDATE ledger SET amount = 0")
        .execute(&mut session)
        .await
        .unwrap_err();
    assert!(write.to_string().contains("permission denied"), "{write}");

    // Each fetch sets a new password: the previous one stops working.
    let (_, second) = app.credential(&alice, grant).await;
    assert_ne!(second["postgres"]["password"], pg["password"]);
    let stale = connect(pg["url"].as_str().unwrap()).await.unwrap_err();
    assert!(
        stale.to_string().contains("password authentication failed"),
        "{stale}"
    );
    let mut held = connect(second["postgres"]["url"].as_str().unwrap())
        .await
        .unwrap();

    // The password is in no event, no table.
    let pool = app.sql_pool().await;
    let password = second["postgres"]["password"].as_str().unwrap();
    let leaks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE details LIKE $1")
        .bind(format!("%{password}%"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(leaks, 0);

    // Expiry: the role's session is ended and the role dropped.
    app.advance(Duration::seconds(601));
    assert_eq!(app.sweep().await.grants_expired, 1);
    assert_eq!(access_of(&app, grant).await["phase"], "revoking");
    assert_eq!(
        outbox(&app).await,
        PassReport {
            succeeded: 1,
            failed: 0
        }
    );
    let access = access_of(&app, grant).await;
    assert_eq!(access["phase"], "revoked", "{access}");
    // A new password leaves sessions already open alone; the end of the grant ends both.
    assert_eq!(access["sessions_ended"], 2, "{access}");
    assert!(
        sqlx::query("SELECT 1").execute(&mut held).await.is_err(),
        "the held session is gone"
    );
    assert!(sqlx::query("SELECT 1").execute(&mut session).await.is_err());
    assert!(
        connect(second["postgres"]["url"].as_str().unwrap())
            .await
            .is_err()
    );
    assert!(!downstream.role_exists(&role).await);
    let events = app.events_about(&format!("grant {grant}")).await;
    for action in ["connector.provisioned", "connector.revoked"] {
        assert!(
            events.iter().any(|(_, a)| a == action),
            "{action}: {events:?}"
        );
    }
}

/// When the role of `access` stops letting logins in.
async fn valid_until(downstream: &Downstream, access: &Value) -> DateTime<Utc> {
    let mut db = PgConnection::connect(&downstream.admin_url).await.unwrap();
    let until: i64 = sqlx::query_scalar(
        "SELECT (extract(epoch FROM rolvaliduntil) * 1000)::bigint FROM pg_roles
         WHERE rolname = $1",
    )
    .bind(access["account"].as_str().unwrap())
    .fetch_one(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();
    DateTime::from_timestamp_millis(until).unwrap()
}

#[tokio::test]
async fn a_scheduled_grants_role_is_made_at_its_start_and_an_extension_moves_its_end() {
    let downstream = Downstream::new().await;
    let app = broker_with(downstream.file(&downstream.admin_url)).await;
    let alice = app.login("alice").await;
    let mut body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 1800)
        .await;
    body["starts_at"] = json!(app.now() + Duration::minutes(10));
    let (status, filed) = app.post(&alice, "/api/v1/requests", body).await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let bob = app.login("bob").await;
    let request = filed["id"].as_i64().unwrap();
    let (_, approved) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{request}/approve"),
            json!({}),
        )
        .await;
    let grant = approved["grant"]["id"].as_i64().unwrap();
    // Nothing exists downstream before the window opens, even after a restart, which
    // retries every open step at once.
    let state = app.broker.state();
    state
        .store
        .retry_connector_steps_now(state.clock.now())
        .await
        .unwrap();
    assert_eq!(outbox(&app).await, PassReport::default());
    assert_eq!(access_of(&app, grant).await["account"], Value::Null);

    app.advance(Duration::minutes(10));
    assert_eq!(app.sweep().await.grants_started, 1);
    assert_eq!(outbox(&app).await.succeeded, 1);
    let access = access_of(&app, grant).await;
    assert_eq!(access["phase"], "ready", "{access}");
    let (_, view) = app.get(&alice, &format!("/api/v1/grants/{grant}")).await;
    let expires: DateTime<Utc> = serde_json::from_value(view["expires_at"].clone()).unwrap();
    assert_eq!(valid_until(&downstream, &access).await, expires);

    // Extended: the same role lets logins in for longer; nothing is made anew.
    let (status, asked) = app
        .post(
            &alice,
            &format!("/api/v1/grants/{grant}/extend"),
            json!({
                "duration_secs": 900,
                "justification": { "task": "The migration runs longer than planned" },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    let extension = asked["id"].as_i64().unwrap();
    app.post(
        &bob,
        &format!("/api/v1/requests/{extension}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(outbox(&app).await.succeeded, 1);
    let extended = access_of(&app, grant).await;
    assert_eq!(extended["account"], access["account"]);
    assert_eq!(
        valid_until(&downstream, &access).await,
        expires + Duration::minutes(15)
    );
    let events = app.events_about(&format!("grant {grant}")).await;
    assert!(
        events.iter().any(|(_, a)| a == "connector.extended"),
        "{events:?}"
    );
}

#[tokio::test]
async fn revoking_one_of_two_overlapping_grants_leaves_the_other_working() {
    let downstream = Downstream::new().await;
    let app = broker_with(downstream.file(&downstream.admin_url)).await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let mut grants = Vec::new();
    for _ in 0..2 {
        let id = app
            .file(&alice, "ci-deployer", "payments-db", "write", 600)
            .await;
        let (status, detail) = app
            .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        grants.push(detail["grant"]["id"].as_i64().unwrap());
    }
    assert_eq!(outbox(&app).await.succeeded, 2);
    let (_, first) = app.credential(&alice, grants[0]).await;
    let (_, second) = app.credential(&alice, grants[1]).await;
    assert_ne!(
        first["postgres"]["username"],
        second["postgres"]["username"]
    );
    let mut held = connect(second["postgres"]["url"].as_str().unwrap())
        .await
        .unwrap();

    let (status, _) = app
        .post(
            &alice,
            &format!("/api/v1/grants/{}/revoke", grants[0]),
            json!({ "reason": "the migration finished early" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outbox(&app).await.succeeded, 1);
    assert!(
        connect(first["postgres"]["url"].as_str().unwrap())
            .await
            .is_err()
    );
    sqlx::query("UPDATE ledger SET amount = amount + 1")
        .execute(&mut held)
        .await
        .expect("the other grant's role still writes");
    assert_eq!(access_of(&app, grants[1]).await["phase"], "ready");
}

/// A TCP proxy in front of the test cluster that can be cut: while down it refuses new
/// connections and drops the ones it carries, as a downstream that went away would.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
}

impl Proxy {
    async fn start(target: (String, u16)) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(tokio::sync::Notify::new());
        let (flag, signal) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the caller sees the connection closed
                }
                let target = target.clone();
                let signal = signal.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) =
                        tokio::net::TcpStream::connect((target.0.as_str(), target.1)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = signal.notified() => {}
                    }
                });
            }
        });
        Proxy { port, up, cut }
    }

    fn url_for(&self, admin_url: &str) -> String {
        let mut url = url::Url::parse(admin_url).unwrap();
        url.set_port(Some(self.port)).unwrap();
        url.to_string()
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_revocation_outlives_a_downstream_outage_and_is_flagged_meanwhile() {
    let downstream = Downstream::new().await;
    let proxy = Proxy::start(host_port(&downstream.admin_url)).await;
    let app = broker_with(downstream.file(&proxy.url_for(&downstream.admin_url))).await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 60).await;
    assert_eq!(outbox(&app).await.succeeded, 1);
    let role = access_of(&app, grant).await["account"]
        .as_str()
        .unwrap()
        .to_string();

    proxy.down();
    app.advance(Duration::seconds(61));
    app.sweep().await;
    for attempt in 1..=4 {
        assert_eq!(
            outbox(&app).await,
            PassReport {
                succeeded: 0,
                failed: 1
            },
            "attempt {attempt}"
        );
        let access = access_of(&app, grant).await;
        assert_eq!(access["phase"], "revoking", "{access}");
        assert_eq!(access["attempts"], attempt, "{access}");
        assert!(
            access["last_error"]
                .as_str()
                .unwrap()
                .contains("PostgreSQL"),
            "{access}"
        );
        assert_eq!(
            access["failing"],
            attempt >= 3,
            "flagged from the third failure"
        );
        // Not due again before its backoff.
        assert_eq!(outbox(&app).await, PassReport::default());
        app.advance(Duration::milliseconds(401));
    }
    assert!(
        downstream.role_exists(&role).await,
        "nothing dropped while it was down"
    );
    // What the admin dashboard lists.
    let dave = app.login("dave").await;
    let (_, failing) = app.get(&dave, "/api/v1/grants?access=failing").await;
    assert_eq!(failing.as_array().unwrap().len(), 1, "{failing}");
    assert_eq!(failing[0]["id"], grant);
    let (_, revoking) = app.get(&dave, "/api/v1/grants?access=revoking").await;
    assert_eq!(revoking.as_array().unwrap().len(), 1, "{revoking}");
    let (status, error) = app.get(&dave, "/api/v1/grants?access=stuck").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["field"], "access");

    proxy.up();
    assert_eq!(
        outbox(&app).await,
        PassReport {
            succeeded: 1,
            failed: 0
        }
    );
    assert!(!downstream.role_exists(&role).await);
    let access = access_of(&app, grant).await;
    assert_eq!(access["phase"], "revoked", "{access}");
    let (_, failing) = app.get(&dave, "/api/v1/grants?access=failing").await;
    assert_eq!(failing, json!([]));
    let (_, revoked) = app.get(&dave, "/api/v1/grants?access=revoked").await;
    assert_eq!(revoked.as_array().unwrap().len(), 1, "{revoked}");
    let events = app.events_about(&format!("grant {grant}")).await;
    let count = |action: &str| events.iter().filter(|(_, a)| a == action).count();
    assert_eq!(count("connector.revoke_failed"), 4);
    assert_eq!(count("grant.revocation_failing"), 1, "flagged once");
    assert_eq!(count("connector.revoked"), 1);
}

// Multi-threaded: the HTTP calls to the broker process block a thread, and the proxy
// must keep running meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_killed_before_the_role_was_dropped_drops_it_before_it_answers_again() {
    let downstream = Downstream::new().await;
    let proxy = Proxy::start(host_port(&downstream.admin_url)).await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = crate::helpers::fresh_database(dir.path()).await;
    let key_file = dir.path().join("stint.key");
    let file = dir.path().join("connectors.toml");
    std::fs::write(&file, CONNECTORS_FILE.replace("{db}", &downstream.name)).unwrap();
    let env = [(
        "PAYMENTS_PG_ADMIN_URL",
        proxy.url_for(&downstream.admin_url),
    )];
    let extra = ["--connectors".to_string(), file.display().to_string()];

    let mut first = Server::start_with(&db_url, &key_file, true, &extra, &env);
    first.wait_healthy();
    let http = Http(first.base.clone());
    let dave = http.login("dave");
    let resource = http.id_of(&dave, "resources", "payments-db");
    let mut body = http.call(&dave, "GET", &format!("/api/v1/resources/{resource}"), None);
    body["connector"] = json!("payments-pg");
    http.call(
        &dave,
        "PUT",
        &format!("/api/v1/resources/{resource}"),
        Some(body),
    );
    let alice = http.login("alice");
    let request = http.file(&alice, "ci-deployer", "payments-db", 3);
    let bob = http.login("bob");
    let approved = http.call(
        &bob,
        "POST",
        &format!("/api/v1/requests/{}/approve", request["id"]),
        Some(json!({})),
    );
    let grant = approved["grant"]["id"].as_i64().unwrap();
    let access = http.wait_for_access(&dave, grant, |a| a["phase"] == "ready");
    let role = access["account"].as_str().unwrap().to_string();
    assert!(downstream.role_exists(&role).await);

    // The grant expires while the downstream is unreachable: its revocation fails, and the
    // broker dies before it can retry.
    proxy.down();
    http.wait_for_access(&dave, grant, |a| {
        a["phase"] == "revoking" && a["attempts"].as_i64() >= Some(1)
    });
    first.kill();
    assert!(downstream.role_exists(&role).await);

    // The restart: opening the broker — before it serves, and before any worker of its
    // runs — takes the role away.
    proxy.up();
    let mut config = stint_broker::config::Config::new(db_url.clone());
    config.key_file = Some(key_file.clone());
    let admin_url = env[0].1.clone();
    config.connectors = config::parse(
        &CONNECTORS_FILE.replace("{db}", &downstream.name),
        &move |var| (var == "PAYMENTS_PG_ADMIN_URL").then(|| admin_url.clone()),
    )
    .unwrap();
    let restarted = stint_broker::Broker::open(config, Arc::new(SystemClock))
        .await
        .unwrap();
    assert!(
        !downstream.role_exists(&role).await,
        "the role was dropped before the restarted broker could answer"
    );
    drop(restarted);
}

const CONNECTORS_FILE: &str = r#"
[connectors.payments-pg]
kind = "postgres"
admin_url_env = "PAYMENTS_PG_ADMIN_URL"
[connectors.payments-pg.privileges]
read = ["GRANT CONNECT ON DATABASE {db} TO {{role}}", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {{role}}"]
write = ["GRANT CONNECT ON DATABASE {db} TO {{role}}", "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {{role}}"]
"#;

#[tokio::test]
async fn a_webhook_is_signed_and_retried_until_it_answers_2xx() {
    let received: Arc<std::sync::Mutex<Vec<(String, String, String)>>> = Default::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let secret = "whsec-test-key";
    let receiver = {
        let (received, calls) = (received.clone(), calls.clone());
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let (received, calls) = (received.clone(), calls.clone());
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    received.lock().unwrap().push((
                        header("stint-signature"),
                        header("idempotency-key"),
                        body,
                    ));
                    // Down twice, then fine.
                    if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let text = format!(
        "[connectors.deploy-hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{port}/hook\"\n\
         secret_env = \"DEPLOY_HOOK_SECRET\"\n"
    );
    let file = config::parse(&text, &|var| {
        (var == "DEPLOY_HOOK_SECRET").then(|| secret.to_string())
    })
    .unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::with_clock_and_config(clock, |c| {
        c.connectors = file;
        c.connector_retry = fast_retries();
    })
    .await;
    link(&app, "payments-db", Some("deploy-hook")).await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 600).await;
    for _ in 0..2 {
        assert_eq!(outbox(&app).await.failed, 1);
        app.advance(Duration::milliseconds(401));
    }
    assert_eq!(outbox(&app).await.succeeded, 1);
    assert_eq!(access_of(&app, grant).await["phase"], "ready");

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 3, "three attempts");
    for (signature, key, body) in &received {
        let t: i64 = signature
            .strip_prefix("t=")
            .and_then(|s| s.split(',').next())
            .and_then(|t| t.parse().ok())
            .unwrap();
        assert_eq!(
            signature,
            &stint_broker::connectors::webhook::signature(secret.as_bytes(), t, body),
            "the receiver can verify it"
        );
        assert_eq!(
            key,
            &format!("stint-grant-{grant}-grant.activated"),
            "one key per step"
        );
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["event"], "grant.activated");
        assert_eq!(body["identity"], "ci-deployer");
        assert_eq!(body["privilege"], "read");
    }
    let events = app.events_about(&format!("grant {grant}")).await;
    let count = |action: &str| events.iter().filter(|(_, a)| a == action).count();
    assert_eq!(count("connector.provision_failed"), 2);
    assert_eq!(count("connector.provisioned"), 1);
}

#[tokio::test]
async fn a_resource_links_only_to_a_loaded_connector_that_covers_its_privileges() {
    let downstream = Downstream::new().await;
    let app = broker_with(downstream.file(&downstream.admin_url)).await;
    let (status, error) = try_link(&app, "payments-db", Some("ledger-pg")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "connector");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("loaded: payments-pg")
    );
    // prod-cluster offers deploy and admin, which payments-pg has no statements for.
    let (status, error) = try_link(&app, "prod-cluster", Some("payments-pg")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("privilege deploy"),
        "{error}"
    );

    let dave = app.login("dave").await;
    let (status, list) = app.get(&dave, "/api/v1/connectors").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list,
        json!([{ "name": "payments-pg", "kind": "postgres", "privileges": ["read", "write"] }])
    );
    let alice = app.login("alice").await;
    assert_eq!(
        app.get(&alice, "/api/v1/connectors").await.0,
        StatusCode::FORBIDDEN
    );
}

/// `stint exec` hands its command a working login in libpq's own variables, so `psql` and
/// most drivers connect with no flags, and the role is gone once the command has exited.
#[tokio::test]
async fn exec_gives_the_command_a_login_in_libpq_variables_that_ends_with_it() {
    let downstream = Downstream::new().await;
    let connectors = downstream.file(&downstream.admin_url);
    let app = broker_with(connectors.clone()).await;
    let (status, saved) = save_payments_db(&app, |p| {
        p["auto_approve"] = json!({
            "identity_kinds": ["ci_pipeline"], "privileges": ["read"], "max_duration_secs": 900,
        })
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    // A resource is saved whole: the policy's save above unlinked it.
    link(&app, "payments-db", Some("payments-pg")).await;
    let served = serve_with(&app, |c| {
        c.connectors = connectors;
        c.connector_retry = fast_retries();
    })
    .await;
    let token = token(&app).await;
    let seen = app.dir.path().join("psql");
    let script = format!(
        "psql -XtAc \"SELECT current_user || ' ' || amount FROM ledger\" > {out} \
         && test \"$DATABASE_URL\" = \"postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE\"",
        out = seen.display()
    );
    let out = finished(stint(&served, &token, "exec", &["--", "sh", "-c", &script])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answer = std::fs::read_to_string(&seen).unwrap();
    let (role, amount) = answer.trim().split_once(' ').unwrap();
    assert!(role.starts_with("stint_"), "{answer}");
    assert_eq!(
        amount, "100",
        "the command read the table as the grant's role"
    );

    // The command exited, the grant was released, and its role is dropped without anyone
    // else acting.
    for _ in 0..200 {
        if !downstream.role_exists(role).await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{role} outlived the command that used it");
}
