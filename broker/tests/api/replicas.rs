//! Several brokers on one PostgreSQL database behave as one broker: what one replica does,
//! every other sees; two replicas racing never double-issue; a replica killed mid-sweep
//! loses nothing; replicas starting together on an empty database migrate and seed once.
//!
//! PostgreSQL only (`STINT_TEST_DATABASE=postgres`; `cargo xtask test` runs them there):
//! one SQLite file is served by one process.

use crate::helpers::{Server, Session, TestApp, fresh_database, on_postgres};
use axum::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use std::time::{Duration, Instant};
use stint_broker::keys::KeyFile;
use stint_broker::store::postgres::CHAIN_LOCK;

fn skip() -> bool {
    if !on_postgres() {
        eprintln!("replicas share a PostgreSQL database: run with STINT_TEST_DATABASE=postgres");
    }
    !on_postgres()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_approvers_on_two_replicas_make_exactly_one_grant() {
    if skip() {
        return;
    }
    let a = TestApp::new().await;
    let b = a.replica().await;
    let alice = a.login("alice").await;
    // Sessions made on one replica work on the others.
    let bob = a.login("bob").await;
    let erin = b.login("erin").await;
    for round in 0..8 {
        // prod-cluster needs both approvals: each must see the other's, or no grant comes;
        // payments-db needs one: the second approver finds it decided.
        for (resource, privilege, both_succeed) in [
            ("prod-cluster", "deploy", true),
            ("payments-db", "read", false),
        ] {
            let id = a
                .file(&alice, "ci-deployer", resource, privilege, 600)
                .await;
            let path = format!("/api/v1/requests/{id}/approve");
            let ((on_a, _), (on_b, _)) = tokio::join!(
                a.post(&bob, &path, json!({})),
                b.post(&erin, &path, json!({}))
            );
            let mut codes = [on_a, on_b];
            codes.sort();
            let expected = if both_succeed {
                [StatusCode::OK, StatusCode::OK]
            } else {
                [StatusCode::OK, StatusCode::CONFLICT]
            };
            assert_eq!(codes, expected, "round {round}, {resource}");
            let pool = a.sql_pool().await;
            let grants: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE request_id = $1")
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert_eq!(grants, 1, "round {round}, {resource}: exactly one grant");
            let (_, detail) = b.get(&alice, &format!("/api/v1/requests/{id}")).await;
            assert_eq!(detail["state"], "approved", "{detail}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_from_one_replica_is_checked_and_revoked_on_the_others() {
    if skip() {
        return;
    }
    let a = TestApp::new().await;
    let b = a.replica().await;
    let c = a.replica().await;
    let alice = a.login("alice").await;
    let grant = a.active_grant(&alice, 600).await;
    let (status, credential) = a.credential(&alice, grant).await;
    assert_eq!(status, StatusCode::OK, "{credential}");
    let token = credential["token"].as_str().unwrap();

    // B verifies what A signed: one key, kept sealed in the database, on every replica.
    assert_eq!(b.introspect(token).await["active"], true);
    assert_eq!(jwks(&a).await, jwks(&c).await);

    revoke(&b, &alice, grant).await;
    assert_eq!(
        c.introspect(token).await["active"],
        false,
        "C knows at once"
    );
    assert_eq!(a.introspect(token).await["active"], false);
    // Signing out on one replica ends the session everywhere.
    let (status, _) = c
        .call(
            Some(&alice),
            axum::http::Method::DELETE,
            "/api/v1/session",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        a.get(&alice, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockouts_and_disablement_hold_on_every_replica() {
    if skip() {
        return;
    }
    let a = TestApp::new().await;
    let b = a.replica().await;
    // Guesses spread over two replicas count toward one lock.
    for attempt in 0..6 {
        let replica = if attempt % 2 == 0 { &a } else { &b };
        let (status, _, _) = replica.login_raw("alice", "wrong", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    for replica in [&a, &b] {
        let (status, _, _) = replica
            .login_raw("alice", stint_broker::demo::PASSWORD, None)
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    }
    // An admin disabling bob on one replica ends his session on the other.
    let bob = b.login("bob").await;
    assert_eq!(b.get(&bob, "/api/v1/me").await.0, StatusCode::OK);
    let dave = a.login("dave").await;
    let (_, users) = a.get(&dave, "/api/v1/users").await;
    let bob_id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "bob")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, body) = a
        .put(
            &dave,
            &format!("/api/v1/users/{bob_id}"),
            json!({ "display_name": "Bob", "roles": ["approver"], "disabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(b.get(&bob, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_checkpointing_together_store_one_checkpoint_of_the_head() {
    if skip() {
        return;
    }
    let a = TestApp::new().await;
    let b = a.replica().await;
    let alice = a.login("alice").await;
    for round in 0..5 {
        a.file(&alice, "ci-deployer", "payments-db", "read", 600)
            .await;
        let (on_a, on_b) = tokio::join!(a.broker.checkpoint_now(), b.broker.checkpoint_now());
        let taken: Vec<_> = [on_a.unwrap(), on_b.unwrap()]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(
            taken.len(),
            1,
            "round {round}: one of them signs the new head"
        );
        let stored = a.broker.state().store.checkpoints(1).await.unwrap();
        assert_eq!(
            stored[0].head_seq, taken[0].head_seq,
            "the newest is of the head"
        );
    }
}

async fn jwks(app: &TestApp) -> serde_json::Value {
    let path = "/.well-known/jwks.json";
    let (status, body) = app.call(None, axum::http::Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK);
    body
}

async fn revoke(app: &TestApp, session: &Session, grant: i64) {
    let (status, body) = app
        .post(
            session,
            &format!("/api/v1/grants/{grant}/revoke"),
            json!({ "reason": "Task finished early" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// How many grants expire together in the kill test: five sweep batches.
const MASS: i64 = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_sweep_leaves_every_grant_expired_exactly_once() {
    if skip() {
        return;
    }
    let app = TestApp::new().await;
    let key_file = app.dir.path().join("stint.key");
    // Each replica names its connections, so the test can tell which one holds the lock.
    let mut replicas: Vec<Server> = (0..3)
        .map(|i| {
            let url = format!("{}?application_name=replica-{i}", app.db_url);
            Server::start(&url, &key_file, false)
        })
        .collect();
    for replica in &mut replicas {
        replica.wait_healthy();
    }
    let pool = PgPool::connect(&app.db_url).await.unwrap();
    // A thousand live grants expiring at the same moment, in the real time the replicas
    // keep. Rows made directly: how they came to be is not what this test is about.
    let now = chrono::Utc::now();
    let expiry = (now + chrono::Duration::seconds(2)).timestamp_millis();
    sqlx::query(
        "INSERT INTO requests (identity_id, resource_id, privilege, duration_secs, task,
                               requester_id, state, approvals_required, max_duration_secs,
                               created_at, pending_expires_at, decided_at)
         SELECT i.id, r.id, 'read', 60, 'mass expiry ' || n, u.id, 'approved', 1, 14400,
                $1, $1, $1
         FROM generate_series(1, $2) n, identities i, resources r, users u
         WHERE i.name = 'ci-deployer' AND r.name = 'payments-db' AND u.username = 'alice'",
    )
    .bind(now.timestamp_millis())
    .bind(MASS)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO grants (request_id, identity_id, resource_id, privilege, holder_id, state,
                             starts_at, expires_at)
         SELECT id, identity_id, resource_id, privilege, requester_id, 'active', created_at, $1
         FROM requests WHERE task LIKE 'mass expiry %'",
    )
    .bind(expiry)
    .execute(&pool)
    .await
    .unwrap();

    // Once the sweep is under way (a batch committed, more to come), kill the replica that
    // holds the chain's lock — the one sweeping — with SIGKILL: whatever it held
    // uncommitted is rolled back, and the others end it.
    let expired = || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM grants g JOIN requests r ON r.id = g.request_id
             WHERE r.task LIKE 'mass expiry %' AND g.state = 'expired'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        n
    };
    let lock_holder = || async {
        let holder: Option<String> = sqlx::query_scalar(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted
               AND l.classid::bigint = $1 AND l.objid::bigint = $2",
        )
        .bind(CHAIN_LOCK >> 32)
        .bind(CHAIN_LOCK & 0xffff_ffff)
        .fetch_optional(&pool)
        .await
        .unwrap();
        holder.and_then(|name| name.strip_prefix("replica-")?.parse::<usize>().ok())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let killed_at = loop {
        let n = expired().await;
        if n > 0
            && let Some(sweeping) = lock_holder().await
        {
            replicas[sweeping].kill();
            break n;
        }
        assert!(Instant::now() < deadline, "nothing expired");
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    assert!(
        killed_at < MASS,
        "the kill came after the sweep had finished"
    );
    while expired().await < MASS {
        assert!(
            Instant::now() < deadline,
            "the others did not finish the sweep"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (events, grants): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT grant_id) FROM audit_events
         WHERE action = 'grant.expired'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (events, grants),
        (MASS, MASS),
        "one event per grant, none twice"
    );
    let on_time: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE state = 'expired' AND ended_at = $1")
            .bind(expiry)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(on_time, MASS, "each ended at its expiry");
    drop(replicas);
    let verify = crate::helpers::stint_cli(&app, &["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_on_an_empty_database_migrate_and_seed_once() {
    if skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db_url = fresh_database(dir.path()).await;
    let key_file = dir.path().join("stint.key");
    KeyFile::create(&key_file).unwrap();
    let mut replicas: Vec<Server> = (0..2)
        .map(|_| Server::start(&db_url, &key_file, true))
        .collect();
    for replica in &mut replicas {
        replica.wait_healthy();
    }
    let pool = PgPool::connect(&db_url).await.unwrap();
    let (migrations, versions): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT version) FROM _sqlx_migrations")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(migrations, versions, "each migration applied once");
    assert!(migrations >= 5);
    let count = |table: &'static str| {
        let pool = pool.clone();
        async move {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            n
        }
    };
    assert_eq!(count("users").await, 6, "the demo seeded once");
    assert_eq!(count("signing_keys").await, 1, "one first signing key");
    // Both serve the same organisation.
    for replica in &replicas {
        let body = replica.get("/.well-known/jwks.json");
        assert_eq!(body["keys"].as_array().unwrap().len(), 1, "{body}");
    }
}
