//! Password guessing is slowed per account and per address, the count held in the
//! database, and what a guesser typed is not kept verbatim.

use crate::helpers::{TestApp, retry_after};
use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use stint_broker::demo::PASSWORD;

async fn trail(app: &TestApp) -> Vec<Value> {
    let dave = app.login("dave").await;
    let (_, page) = app.get(&dave, "/api/v1/audit?limit=1000").await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn login_is_throttled_per_account_and_address() {
    let app = TestApp::new().await;
    // Five mistakes lock nothing; the sixth locks the account for a while.
    for _ in 0..6 {
        let (status, _, _) = app.login_raw("alice", "wrong", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, headers, body) = app.login_raw("alice", PASSWORD, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "throttled");
    let retry = retry_after(&headers);
    assert!((1..=2).contains(&retry), "{retry}");
    // Other accounts are not slowed by it.
    assert_eq!(app.login_raw("bob", PASSWORD, None).await.0, StatusCode::OK);
    // The count is in the database: a restart does not reset it.
    let app = app.restart().await;
    assert_eq!(
        app.login_raw("alice", PASSWORD, None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.advance(Duration::seconds(retry));
    assert_eq!(
        app.login_raw("alice", PASSWORD, None).await.0,
        StatusCode::OK
    );

    // One address guessing many names is slowed too, and only that address.
    let guesser = "192.0.2.7";
    for i in 0..21 {
        let (status, _, _) = app
            .login_from(&format!("user{i}"), "wrong", None, Some(guesser))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let (status, _, _) = app.login_from("bob", PASSWORD, None, Some(guesser)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = app
        .login_from("bob", PASSWORD, None, Some("198.51.100.3"))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Failures are aggregated: each event carries the count, the lock is recorded once.
    let failures: Vec<Value> = trail(&app)
        .await
        .into_iter()
        .filter(|e| e["action"] == "session.login_failed" && e["actor"] == "anonymous:alice")
        .collect();
    assert_eq!(failures.len(), 6, "refused (429) attempts are not recorded");
    assert_eq!(failures[0]["details"]["failures"], 6);
    assert!(failures[0]["details"]["locked_until"].is_string());
    let login = trail(&app)
        .await
        .into_iter()
        .find(|e| e["action"] == "session.login" && e["actor"] == "alice")
        .unwrap();
    assert_eq!(login["details"]["failures_before"], 6);
}

#[tokio::test]
async fn a_username_no_account_has_is_recorded_only_as_a_keyed_hash() {
    let app = TestApp::new().await;
    let typed = "Tr0ub4dor&3-in-the-wrong-field";
    for _ in 0..2 {
        assert_eq!(
            app.login_raw(typed, "x", None).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let events = trail(&app).await;
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(typed), "the trail holds no typed name");
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "session.login_failed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["actor"], "anonymous");
    let pseudonym = failed[0]["details"]["username_pseudonym"].as_str().unwrap();
    assert_eq!(pseudonym.len(), 32);
    assert_eq!(
        failed[1]["details"]["username_pseudonym"], pseudonym,
        "repeats tell"
    );
    // Not a plain hash that could be guessed back.
    use sha2::Digest;
    let plain = hex::encode(sha2::Sha256::digest(typed.as_bytes()));
    assert!(!plain.starts_with(pseudonym));
}

#[tokio::test]
async fn break_glass_password_failures_are_audited_and_count_toward_the_lockout() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let mut body = app
        .request_body(&alice, "ci-deployer", "payments-db", "write", 1800)
        .await;
    body["justification"]["task"] =
        json!("Checkout fails: a stuck migration holds the ledger lock since 03:10");
    body["password"] = json!("not my password");
    for _ in 0..6 {
        let (status, error) = app.post(&alice, "/api/v1/break-glass", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["error"]["field"], "password");
    }
    let failures = trail(&app)
        .await
        .into_iter()
        .filter(|e| e["action"] == "break_glass.password_failed" && e["actor"] == "alice")
        .count();
    assert_eq!(failures, 6);
    // The right password now waits, at break-glass and at sign-in alike.
    body["password"] = json!(PASSWORD);
    let (status, _) = app.post(&alice, "/api/v1/break-glass", body).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.login_raw("alice", PASSWORD, None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(app.count("grants").await, 0);
}
