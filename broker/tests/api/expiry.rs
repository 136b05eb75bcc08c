use crate::helpers::TestApp;
use axum::http::StatusCode;
use chrono::Duration;
use serde_json::json;

#[tokio::test]
async fn the_sweeper_expires_a_grant_at_its_expiry() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 60).await;
    let (_, credential) = app.credential(&alice, grant).await;
    let token = credential["token"].as_str().unwrap();

    app.advance(Duration::seconds(59));
    assert_eq!(app.sweep().await.grants_expired, 0);
    assert_eq!(app.introspect(token).await["active"], true);

    app.advance(Duration::seconds(1));
    // Dead at its expiry even before the sweeper records it.
    assert_eq!(app.introspect(token).await["active"], false);
    let report = app.sweep().await;
    assert_eq!(report.grants_expired, 1);
    assert_eq!(app.sweep().await.grants_expired, 0, "expired once");

    let bob = app.login("bob").await;
    let (_, list) = app.get(&bob, "/api/v1/grants").await;
    assert_eq!(list[0]["state"], "expired");
    assert_eq!(list[0]["ended_at"], "2026-11-02T09:01:00Z");
    let (_, detail) = app
        .get(
            &alice,
            &format!("/api/v1/requests/{}", list[0]["request_id"]),
        )
        .await;
    assert_eq!(
        list[0]["task"], detail["justification"]["task"],
        "a grant names the task it was asked for"
    );
    let last = detail["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "grant.expired");
    assert_eq!(last["actor"], "stint");
}

#[tokio::test]
async fn a_grant_that_expired_while_the_broker_was_stopped_is_expired_before_serving() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 300).await;
    app.advance(Duration::hours(1));
    let app = app.restart().await;
    // Read behind the broker's back, before any request reached it.
    let pool = app.sql_pool().await;
    let (state, ended_at): (String, i64) =
        sqlx::query_as("SELECT state, ended_at FROM grants WHERE id = $1")
            .bind(grant)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(state, "expired");
    assert_eq!(
        ended_at,
        (crate::helpers::start_time() + Duration::seconds(300)).timestamp_millis()
    );
}

#[tokio::test]
async fn a_pending_request_expires_undecided_after_24_hours() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let id = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    app.advance(Duration::hours(24) - Duration::seconds(1));
    assert_eq!(app.sweep().await.requests_expired, 0);
    app.advance(Duration::seconds(1));
    assert_eq!(app.sweep().await.requests_expired, 1);
    // Sessions idled out while the clock moved a day.
    let bob = app.login("bob").await;
    let (status, _) = app
        .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let alice = app.login("alice").await;
    assert_eq!(
        app.get(&alice, &format!("/api/v1/requests/{id}")).await.1["state"],
        "expired"
    );
}

#[tokio::test]
async fn the_running_broker_sweeps_on_its_own() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 60).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let clock = app.clock.clone();
    let mut config = app.config();
    config.sweep_interval = std::time::Duration::from_millis(20);
    let broker = stint_broker::Broker::open(config, clock).await.unwrap();
    let server = tokio::spawn(broker.serve(listener, async {
        let _ = stopped.await;
    }));
    app.advance(Duration::seconds(61));
    let pool = app.sql_pool().await;
    // Poll the database, not a timer: the promise is that nobody has to ask.
    let mut state = String::new();
    for _ in 0..500 {
        state = sqlx::query_scalar("SELECT state FROM grants WHERE id = $1")
            .bind(grant)
            .fetch_one(&pool)
            .await
            .unwrap();
        if state == "expired" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(state, "expired");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn time_is_up_even_before_the_sweeper_says_so() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 60).await;
    let late = app
        .file(&alice, "ci-deployer", "payments-db", "read", 60)
        .await;
    app.advance(Duration::hours(24));
    // No sweep ran: the rows still say pending and active.
    let bob = app.login("bob").await;
    let alice = app.login("alice").await;
    let (status, _) = app
        .post(&bob, &format!("/api/v1/requests/{late}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "approved after its deadline");
    let (status, _) = app
        .post(
            &alice,
            &format!("/api/v1/grants/{grant}/revoke"),
            json!({ "reason": "late" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "revoked after its expiry");
    let (_, queue) = app.get(&bob, "/api/v1/requests?awaiting_me=true").await;
    assert_eq!(queue["items"][0]["can_decide"], false);
    assert_eq!(app.count("grants").await, 1);
}

#[tokio::test]
async fn the_sweeper_is_told_when_the_first_live_grant_expires() {
    let app = TestApp::new().await;
    let store = app.broker.state().store.clone();
    assert_eq!(store.next_grant_change().await.unwrap(), None);
    let alice = app.login("alice").await;
    let expiry = |grant: serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(grant["expires_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let long = app.active_grant(&alice, 3600).await;
    let short = app.active_grant(&alice, 600).await;
    let (_, short_grant) = app.get(&alice, &format!("/api/v1/grants/{short}")).await;
    assert_eq!(
        store.next_grant_change().await.unwrap(),
        Some(expiry(short_grant))
    );
    let (status, _) = app
        .post(
            &alice,
            &format!("/api/v1/grants/{short}/revoke"),
            json!({ "reason": "done early" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, long_grant) = app.get(&alice, &format!("/api/v1/grants/{long}")).await;
    assert_eq!(
        store.next_grant_change().await.unwrap(),
        Some(expiry(long_grant)),
        "a revoked grant no longer wakes the sweeper"
    );
}
