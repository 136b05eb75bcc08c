use crate::helpers::{TestApp, session_from};
use axum::http::{Method, StatusCode};
use chrono::Duration;

#[tokio::test]
async fn login_sets_a_hardened_session_cookie() {
    let app = TestApp::new().await;
    let (status, headers, body) = app.login_raw("alice", "stint-demo", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["user"]["roles"][0], "requester");
    let cookie = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("stint_session="));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    // 128 random bits, base64url without padding.
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("stint_session=");
    assert_eq!(value.len(), 22);
}

#[tokio::test]
async fn only_a_hash_of_the_session_id_is_stored() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let value = alice
        .cookie
        .trim_start_matches("stint_session=")
        .to_string();
    let pool = app.sql_pool().await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], value);
    assert_eq!(stored[0].len(), 64, "a hex SHA-256");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_refused_alike() {
    let app = TestApp::new().await;
    let (s1, h1, b1) = app.login_raw("alice", "wrong", None).await;
    let (s2, _, b2) = app.login_raw("mallory", "stint-demo", None).await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!(s2, StatusCode::UNAUTHORIZED);
    assert_eq!(b1["error"]["message"], b2["error"]["message"]);
    assert!(h1.get("set-cookie").is_none());
}

#[tokio::test]
async fn login_rotates_the_session_id() {
    let app = TestApp::new().await;
    let first = app.login("alice").await;
    let (status, headers, _) = app
        .login_raw("alice", "stint-demo", Some(&first.cookie))
        .await;
    assert_eq!(status, StatusCode::OK);
    let second = session_from(&headers);
    assert_ne!(first.cookie, second.cookie);
    assert_eq!(
        app.get(&first, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get(&second, "/api/v1/me").await.0, StatusCode::OK);
}

#[tokio::test]
async fn idle_sessions_end() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    app.advance(Duration::minutes(29));
    assert_eq!(app.get(&alice, "/api/v1/me").await.0, StatusCode::OK);
    app.advance(Duration::minutes(31));
    assert_eq!(
        app.get(&alice, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn busy_sessions_still_end_at_the_absolute_limit() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    for _ in 0..35 {
        app.advance(Duration::minutes(20));
        assert_eq!(app.get(&alice, "/api/v1/me").await.0, StatusCode::OK);
    }
    app.advance(Duration::minutes(20)); // 12 h since login
    assert_eq!(
        app.get(&alice, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let (status, _) = app
        .call(Some(&alice), Method::DELETE, "/api/v1/session", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&alice, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn me_counts_approvals_waiting() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    assert_eq!(app.get(&bob, "/api/v1/me").await.1["approvals_waiting"], 0);
    app.file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    assert_eq!(app.get(&bob, "/api/v1/me").await.1["approvals_waiting"], 1);
    assert_eq!(
        app.get(&alice, "/api/v1/me").await.1["approvals_waiting"],
        0
    );
}
