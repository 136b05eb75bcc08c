//! The signing keys never sit in the database in the clear, and `stint audit verify`
//! checks the trail against something kept outside it.

use crate::helpers::{TestApp, on_postgres, stint_cli};
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use stint_broker::clock::{Clock, ManualClock};
use stint_broker::config::Config;
use stint_broker::keys::KeyFile;
use stint_broker::store::SqliteStore;

fn key_path(app: &TestApp) -> PathBuf {
    app.dir.path().join("stint.key")
}

/// The private keys, unsealed as only the holder of the key file can.
async fn private_keys(app: &TestApp) -> Vec<Vec<u8>> {
    let file = KeyFile::open(&key_path(app)).unwrap();
    let store = &app.broker.state().store;
    let mut keys = Vec::new();
    for key in store.signing_keys(app.clock.now()).await.unwrap() {
        keys.push(
            file.unseal(&key.kid, &key.sealed_private_key)
                .unwrap()
                .to_vec(),
        );
    }
    keys
}

fn seed_of(der: &[u8]) -> [u8; 32] {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    ed25519_dalek::SigningKey::from_pkcs8_der(der)
        .unwrap()
        .to_bytes()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn jwks(app: &TestApp) -> Value {
    let (status, body) = app
        .call(None, Method::GET, "/.well-known/jwks.json", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    body
}

fn kids(jwks: &Value) -> Vec<String> {
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    kids.sort();
    kids
}

async fn open_on(db_url: String, key_file: Option<PathBuf>) -> anyhow::Result<()> {
    let mut config = Config::new(db_url);
    config.key_file = key_file;
    let clock = Arc::new(ManualClock::new(crate::helpers::start_time()));
    stint_broker::Broker::open(config, clock).await.map(|_| ())
}

#[tokio::test]
async fn database_copy_cannot_mint_credentials() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 600).await;
    assert_eq!(app.credential(&alice, grant).await.0, StatusCode::OK);

    let private = private_keys(&app).await;
    assert_eq!(private.len(), 1);
    let der = &private[0];
    let seed = seed_of(der);
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT sealed_private_key FROM signing_keys")
        .fetch_all(&app.sql_pool().await)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|k| !contains(k, der) && !contains(k, &seed))
    );

    // A copy of the database, without the key file, starts no broker: it cannot sign.
    // (On PostgreSQL the database itself stands for its dump.)
    let copy = tempfile::tempdir().unwrap();
    let copy_url = if on_postgres() {
        app.db_url.clone()
    } else {
        // Neither the key's encoding nor its 32-byte secret seed is anywhere on disk.
        let on_disk = app.database_bytes();
        assert!(!contains(&on_disk, der) && !contains(&on_disk, &seed));
        for name in ["stint.db", "stint.db-wal", "stint.db-shm"] {
            let from = app.dir.path().join(name);
            if from.exists() {
                std::fs::copy(&from, copy.path().join(name)).unwrap();
            }
        }
        format!("sqlite://{}", copy.path().join("stint.db").display())
    };
    let err = open_on(copy_url.clone(), None)
        .await
        .unwrap_err()
        .to_string();
    let refusal = if on_postgres() {
        "give the key file with --key-file"
    } else {
        "sealed under a key file"
    };
    assert!(err.contains(refusal), "{err}");
    assert!(
        !copy.path().join("stint.key").exists(),
        "no new key file made"
    );
    // Nor does one with a key file of its own.
    let other = copy.path().join("other.key");
    KeyFile::create(&other).unwrap();
    let err = open_on(copy_url, Some(other))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not unseal"), "{err}");
}

#[tokio::test]
async fn a_key_stored_in_the_clear_by_an_older_broker_is_sealed_at_start() {
    if on_postgres() {
        eprintln!("only SQLite databases ever held a key in the clear: nothing to test");
        return;
    }
    let app = TestApp::new().await;
    // What a broker before key custody left behind: its key in the clear.
    let (kid, _, der) = stint_broker::credential::generate_key();
    let pool = app.sql_pool().await;
    sqlx::query("DELETE FROM signing_keys")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO legacy_signing_keys (kid, private_key, created_at) VALUES ($1, $2, 0)",
    )
    .bind(&kid)
    .bind(der.as_slice())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let app = app.restart().await;
    assert_eq!(kids(&jwks(&app).await), [kid], "the same key signs");
    assert_eq!(app.count("legacy_signing_keys").await, 0);
    assert!(!contains(&app.database_bytes(), &seed_of(&der)));
    let sealed = app.events_about("signing_key").await;
    assert!(
        sealed.contains(&("stint".into(), "signing_key.sealed".into())),
        "{sealed:?}"
    );
}

#[tokio::test]
async fn a_rotated_key_signs_and_the_old_one_stays_published_until_its_credentials_expire() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 600).await;
    let (_, old_credential) = app.credential(&alice, grant).await;
    let old_kid = jsonwebtoken::decode_header(old_credential["token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    let before = app.broker.checkpoint_now().await.unwrap().unwrap();

    let rotate = stint_cli(&app, &["keys", "rotate"]);
    assert!(
        rotate.status.success(),
        "{}",
        String::from_utf8_lossy(&rotate.stderr)
    );
    app.broker.refresh_keys().await.unwrap();
    let published = kids(&jwks(&app).await);
    assert_eq!(published.len(), 2, "old and new: {published:?}");

    let (_, new_credential) = app.credential(&alice, grant).await;
    let new_kid = jsonwebtoken::decode_header(new_credential["token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    assert_ne!(new_kid, old_kid);
    assert!(published.contains(&new_kid) && published.contains(&old_kid));

    // The old key's last credential expires: it leaves the JWKS.
    app.advance(Duration::seconds(601));
    app.broker.refresh_keys().await.unwrap();
    assert_eq!(kids(&jwks(&app).await), [new_kid]);
    // Checkpoints it signed still verify, beside new ones.
    let after = app.broker.checkpoint_now().await.unwrap().unwrap();
    assert_ne!(before.kid, after.kid);
    let dave = app.login("dave").await;
    let (_, v) = app.get(&dave, "/api/v1/audit/verify").await;
    assert_eq!(v["ok"], true, "{v}");
}

/// Rewrites the trail as someone holding only the database could: cuts its last events,
/// replaces the signing key with one of their own and signs a checkpoint of the new head.
async fn forge_a_shorter_trail(app: &TestApp) {
    use base64::Engine;
    use ed25519_dalek::Signer;
    let pool = app.sql_pool().await;
    let (kid, public_key, der) = stint_broker::credential::generate_key();
    let head: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let new_head = head - 3;
    let hash: String = sqlx::query_scalar("SELECT hash FROM audit_events WHERE seq = $1")
        .bind(new_head)
        .fetch_one(&pool)
        .await
        .unwrap();
    let at = crate::helpers::start_time();
    let message = stint_broker::credential::checkpoint_message(new_head, &hash, at);
    let key =
        <ed25519_dalek::SigningKey as ed25519_dalek::pkcs8::DecodePrivateKey>::from_pkcs8_der(&der)
            .unwrap();
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(key.sign(message.as_bytes()).to_bytes());
    crate::helpers::drop_append_only_guards(&pool).await;
    for statement in ["DELETE FROM audit_checkpoints", "DELETE FROM signing_keys"] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    sqlx::query("DELETE FROM audit_events WHERE seq > $1")
        .bind(new_head)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO signing_keys (kid, public_key, sealed_private_key, created_at)
         VALUES ($1, $2, $3, 0)",
    )
    .bind(&kid)
    .bind(public_key.as_bytes().as_slice())
    .bind([0u8].as_slice())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO audit_checkpoints (at, head_seq, head_hash, kid, signature)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(at.timestamp_millis())
    .bind(new_head)
    .bind(&hash)
    .bind(&kid)
    .bind(&signature)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn audit_verify_holds_the_trail_against_keys_and_checkpoints_kept_elsewhere() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    app.active_grant(&alice, 600).await;
    app.broker.checkpoint_now().await.unwrap().unwrap();
    // What an auditor keeps off the host: the JWKS and the checkpoints.
    let dave = app.login("dave").await;
    let (_, checkpoints) = app.get(&dave, "/api/v1/audit/checkpoints").await;
    let jwks_file = app.dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks(&app).await.to_string()).unwrap();
    let checkpoints_file = app.dir.path().join("checkpoints.json");
    std::fs::write(&checkpoints_file, checkpoints.to_string()).unwrap();

    let plain = stint_cli(&app, &["audit", "verify"]);
    assert!(plain.status.success());
    assert!(stdout(&plain).contains("Only the chain's internal consistency was checked"));
    let anchored = stint_cli(
        &app,
        &[
            "audit",
            "verify",
            "--key-file",
            key_path(&app).to_str().unwrap(),
        ],
    );
    assert!(anchored.status.success(), "{}", stdout(&anchored));
    assert!(
        stdout(&anchored).contains("keys that unseal with"),
        "{}",
        stdout(&anchored)
    );

    forge_a_shorter_trail(&app).await;
    // Against what the database itself holds, the forgery is consistent.
    let fooled = stint_cli(&app, &["audit", "verify"]);
    assert!(fooled.status.success(), "{}", stdout(&fooled));
    assert!(stdout(&fooled).contains("Only the chain's internal consistency"));
    // Against anything kept elsewhere, it is not.
    for (flag, file) in [
        ("--trust-jwks", jwks_file.clone()),
        ("--checkpoints", checkpoints_file.clone()),
        ("--key-file", key_path(&app)),
    ] {
        let caught = stint_cli(&app, &["audit", "verify", flag, file.to_str().unwrap()]);
        assert_eq!(caught.status.code(), Some(1), "{flag}: {}", stdout(&caught));
        let text = format!(
            "{}{}",
            stdout(&caught),
            String::from_utf8_lossy(&caught.stderr)
        );
        assert!(
            text.contains("not signed by a trusted key")
                || text.contains("removed from its end")
                || text.contains("does not unseal"),
            "{flag}: {text}"
        );
    }
}

#[tokio::test]
async fn the_audit_stream_carries_the_checkpoints_that_verify_checks_against() {
    let app = TestApp::new().await;
    let stream = app.dir.path().join("stream.ndjson");
    let out = std::fs::File::create(&stream).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(stint_broker::export::follow(
        app.broker.state().store.clone(),
        Box::new(out),
        0,
        std::time::Duration::from_millis(10),
        stopped,
    ));
    let alice = app.login("alice").await;
    app.active_grant(&alice, 600).await;
    let taken = app.broker.checkpoint_now().await.unwrap().unwrap();
    let mut found = Vec::new();
    for _ in 0..500 {
        found = stint_broker::export::read_checkpoints(&std::fs::read_to_string(&stream).unwrap())
            .unwrap();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    follower.await.unwrap();
    assert_eq!(found, [taken]);
    let ok = stint_cli(
        &app,
        &["audit", "verify", "--checkpoints", stream.to_str().unwrap()],
    );
    assert!(ok.status.success(), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("1 checkpoints of"), "{}", stdout(&ok));
}

#[tokio::test]
async fn audit_verify_never_creates_or_migrates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo.db");
    let run = |url: String| {
        std::process::Command::new(env!("CARGO_BIN_EXE_stint"))
            .args(["audit", "verify", "--database", &url])
            .output()
            .unwrap()
    };
    let out = run(format!("sqlite://{}", missing.display()));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database"));
    assert!(!missing.exists(), "nothing created");

    // A database with no events is no trail.
    let empty = dir.path().join("empty.db");
    let url = format!("sqlite://{}", empty.display());
    SqliteStore::open(&url).await.unwrap();
    let out = run(url);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("empty"),
        "{out:?}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("OK"));

    // A PostgreSQL database Stint never migrated is not a trail either, and stays empty.
    if on_postgres() {
        let url = crate::helpers::fresh_database(dir.path()).await;
        let out = run(url.clone());
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not a Stint database"),
            "{out:?}"
        );
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_one(&sqlx::PgPool::connect(&url).await.unwrap())
        .await
        .unwrap();
        assert_eq!(tables, 0, "nothing created");
    }
}

#[tokio::test]
async fn audit_verify_fetches_the_jwks_to_trust_from_a_url() {
    let app = TestApp::new().await;
    app.broker.checkpoint_now().await.unwrap().unwrap();
    let mut config = app.config();
    config.key_file = Some(key_path(&app));
    let broker = stint_broker::Broker::open(config, app.clock.clone())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(broker.serve(listener, async {
        let _ = stopped.await;
    }));
    let db_url = app.db_url.clone();
    let args = [
        "audit",
        "verify",
        "--trust-jwks",
        &url,
        "--database",
        &db_url,
    ];
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_stint"))
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains(&format!("1 keys of {url}")),
        "{}",
        stdout(&out)
    );
}
