//! The whole life of a grant: a start scheduled for a change window, which comes on its own
//! (across restarts) and gives no credential before; and extensions that move the same
//! grant's expiry with no moment without access, up to the policy's total.

use super::helpers::{Session, TestApp};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

/// Files for ci-deployer on payments-db (1 approval, at most 4 h) starting at `starts_at`;
/// the answer.
async fn file_scheduled(
    app: &TestApp,
    alice: &Session,
    starts_at: DateTime<Utc>,
    duration_secs: i64,
) -> (StatusCode, Value) {
    let mut body = app
        .request_body(alice, "ci-deployer", "payments-db", "read", duration_secs)
        .await;
    body["starts_at"] = json!(starts_at);
    app.post(alice, "/api/v1/requests", body).await
}

/// bob approves request `id`; the request's detail.
async fn approve(app: &TestApp, id: i64) -> Value {
    let bob = app.login("bob").await;
    let (status, detail) = app
        .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    detail
}

async fn grant(app: &TestApp, id: i64) -> Value {
    let alice = app.login("alice").await;
    let (status, grant) = app.get(&alice, &format!("/api/v1/grants/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{grant}");
    grant
}

fn time(v: &Value) -> DateTime<Utc> {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// A scheduled grant: approved now, from `ahead` on, for `duration_secs`; its id.
async fn scheduled_grant(app: &TestApp, ahead: Duration, duration_secs: i64) -> i64 {
    let alice = app.login("alice").await;
    let (status, filed) = file_scheduled(app, &alice, app.now() + ahead, duration_secs).await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let detail = approve(app, filed["id"].as_i64().unwrap()).await;
    assert_eq!(detail["grant"]["state"], "scheduled", "{detail}");
    detail["grant"]["id"].as_i64().unwrap()
}

fn extension(duration_secs: i64) -> Value {
    json!({
        "duration_secs": duration_secs,
        "justification": { "task": "The migration runs longer than planned", "ticket": "OPS-1234" },
    })
}

/// `who` asks to extend grant `id`; the answer.
async fn extend(app: &TestApp, who: &str, id: i64, duration_secs: i64) -> (StatusCode, Value) {
    let session = app.login(who).await;
    app.post(
        &session,
        &format!("/api/v1/grants/{id}/extend"),
        extension(duration_secs),
    )
    .await
}

#[tokio::test]
async fn a_scheduled_grant_starts_on_time_and_gives_no_credential_before() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let start = app.now() + Duration::days(1);
    let (status, filed) = file_scheduled(&app, &alice, start, 7200).await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    assert_eq!(time(&filed["starts_at"]), start);
    let request = filed["id"].as_i64().unwrap();
    // The approvers have until its start, not only the usual day.
    assert_eq!(time(&filed["pending_expires_at"]), start);

    let detail = approve(&app, request).await;
    let id = detail["grant"]["id"].as_i64().unwrap();
    let g = &detail["grant"];
    assert_eq!(g["state"], "scheduled");
    assert_eq!(time(&g["starts_at"]), start);
    assert_eq!(time(&g["expires_at"]), start + Duration::hours(2));
    assert_eq!(g["can_fetch_credential"], false);
    // Called off before it starts, it could be: its revoker sees the button.
    let bob = app.login("bob").await;
    let (_, seen) = app.get(&bob, &format!("/api/v1/grants/{id}")).await;
    assert_eq!(seen["can_revoke"], true);

    let (status, refused) = app.credential(&alice, id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("scheduled"),
        "{refused}"
    );

    app.advance(Duration::days(1) - Duration::seconds(1));
    assert_eq!(app.sweep().await.grants_started, 0);
    assert_eq!(grant(&app, id).await["state"], "scheduled");
    app.advance(Duration::seconds(1));
    assert_eq!(app.sweep().await.grants_started, 1);
    let live = grant(&app, id).await;
    assert_eq!(live["state"], "active");
    assert_eq!(live["can_fetch_credential"], true);
    // A day on, alice signs in again.
    let alice = app.login("alice").await;
    let (status, credential) = app.credential(&alice, id).await;
    assert_eq!(status, StatusCode::OK, "{credential}");
    assert_eq!(time(&credential["expires_at"]), start + Duration::hours(2));

    assert_eq!(
        app.events_about(&format!("grant {id}")).await,
        [
            ("bob".into(), "grant.scheduled".into()),
            ("stint".into(), "grant.activated".into()),
            ("alice".into(), "credential.issued".into()),
        ]
    );
}

#[tokio::test]
async fn a_start_that_came_while_the_broker_was_down_is_taken_at_restart() {
    let app = TestApp::new().await;
    let starts_later = scheduled_grant(&app, Duration::minutes(10), 7200).await;
    let window_passed = scheduled_grant(&app, Duration::minutes(10), 900).await;
    app.advance(Duration::minutes(40));
    let app = app.restart().await;
    // The broker swept before answering: the first is live, the second's window is over
    // and it never started.
    assert_eq!(grant(&app, starts_later).await["state"], "active");
    let passed = grant(&app, window_passed).await;
    assert_eq!(passed["state"], "expired");
    let actions: Vec<String> = app
        .events_about(&format!("grant {window_passed}"))
        .await
        .into_iter()
        .map(|(_, action)| action)
        .collect();
    assert_eq!(actions, ["grant.scheduled", "grant.expired"]);
}

#[tokio::test]
async fn a_start_must_lie_ahead_within_the_policys_reach() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let requests = app.count("requests").await;
    for (starts_at, says) in [
        (app.now() - Duration::minutes(1), "has passed"),
        (app.now() + Duration::days(31), "30 d ahead"),
    ] {
        let (status, refused) = file_scheduled(&app, &alice, starts_at, 3600).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["field"], "starts_at");
        assert!(
            refused["error"]["message"].as_str().unwrap().contains(says),
            "{refused}"
        );
    }
    // An admin narrows it for payments-db, and bounds the total length of its grants.
    let dave = app.login("dave").await;
    let id = app.id_of(&dave, "resources", "payments-db").await;
    let (_, mut resource) = app.get(&dave, &format!("/api/v1/resources/{id}")).await;
    resource["policy"]["max_total_secs"] = json!(3600);
    let (status, refused) = app
        .put(&dave, &format!("/api/v1/resources/{id}"), resource.clone())
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "policy.max_total_secs");
    resource["policy"]["max_total_secs"] = json!(6 * 3600);
    resource["policy"]["max_start_ahead_secs"] = json!(86_400);
    let (status, saved) = app
        .put(&dave, &format!("/api/v1/resources/{id}"), resource)
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["policy"]["max_start_ahead_secs"], 86_400);
    let (status, refused) = file_scheduled(&app, &alice, app.now() + Duration::days(2), 3600).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 d ahead"),
        "{refused}"
    );
    assert_eq!(
        app.count("requests").await,
        requests,
        "nothing refused was filed"
    );
}

#[tokio::test]
async fn an_approved_extension_moves_the_same_grant_with_no_moment_without_access() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let id = app.active_grant(&alice, 3600).await;
    let grants = app.count("grants").await;
    let old_expiry = time(&grant(&app, id).await["expires_at"]);
    let (_, credential) = app.credential(&alice, id).await;
    let token = credential["token"].as_str().unwrap().to_string();
    let payments = app.introspection_secret("payments-db").await;

    // Ten minutes before its end its holder is warned; then asks for more.
    app.advance(Duration::minutes(50));
    assert_eq!(app.sweep().await.notices_given, 1);
    let (status, asked) = extend(&app, "alice", id, 1800).await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    assert_eq!(asked["extends_grant_id"], id);
    let request = asked["id"].as_i64().unwrap();
    // It waits no longer than there is a grant to extend.
    assert_eq!(time(&asked["pending_expires_at"]), old_expiry);
    let waiting = grant(&app, id).await;
    assert_eq!(waiting["pending_extension_id"], request);
    assert_eq!(
        waiting["extendable_secs"], 0,
        "one extension waits at a time"
    );
    let (status, refused) = extend(&app, "alice", id, 600).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already waiting")
    );

    let detail = approve(&app, request).await;
    assert_eq!(detail["state"], "approved");
    assert_eq!(
        detail["grant"],
        Value::Null,
        "an extension makes no grant of its own"
    );
    assert_eq!(app.count("grants").await, grants);
    let extended = grant(&app, id).await;
    let new_expiry = old_expiry + Duration::minutes(30);
    assert_eq!(time(&extended["expires_at"]), new_expiry);
    assert_eq!(extended["extensions"], 1);
    assert_eq!(extended["pending_extension_id"], Value::Null);

    // At the old expiry instant the access runs on: the token stays active, with the new
    // expiry, and the sweeper ends nothing.
    app.advance(old_expiry - app.now());
    let answer = app
        .introspect_as_resource(&payments, &token, "10.1.2.3")
        .await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["exp"], new_expiry.timestamp());
    assert_eq!(app.sweep().await.grants_expired, 0);
    // The next credential's expiry follows.
    let alice = app.login("alice").await;
    let (status, next) = app.credential(&alice, id).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_eq!(time(&next["expires_at"]), new_expiry);

    // Warned again before the new end, which the sweeper then keeps.
    app.advance(Duration::minutes(20));
    assert_eq!(app.sweep().await.notices_given, 1);
    app.advance(Duration::minutes(10));
    assert_eq!(app.sweep().await.grants_expired, 1);
    let actions: Vec<String> = app
        .events_about(&format!("grant {id}"))
        .await
        .into_iter()
        .map(|(_, action)| action)
        .collect();
    assert_eq!(
        actions,
        [
            "grant.activated",
            "credential.issued",
            "grant.expiring",
            "grant.extended",
            "credential.issued",
            "grant.expiring",
            "grant.expired"
        ]
    );
}

#[tokio::test]
async fn extensions_are_refused_after_expiry_beyond_the_total_and_to_anyone_but_the_holder() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;

    // Not the holder: bob may approve it, not ask for it.
    let id = app.active_grant(&alice, 600).await;
    let (status, refused) = extend(&app, "bob", id, 600).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    // Asked after expiry, refused as such, whether or not the sweeper has run.
    app.advance(Duration::minutes(10));
    let (status, refused) = extend(&app, "alice", id, 600).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{refused}"
    );

    // payments-db grants run at most 4 h, 8 h in all: one 4 h grant extends by 4 h, once.
    let id = app.active_grant(&alice, 4 * 3600).await;
    let (status, refused) = extend(&app, "alice", id, 4 * 3600 + 60).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "duration_secs");
    let (_, asked) = extend(&app, "alice", id, 4 * 3600).await;
    approve(&app, asked["id"].as_i64().unwrap()).await;
    assert_eq!(grant(&app, id).await["extendable_secs"], 0);
    let (status, refused) = extend(&app, "alice", id, 60).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("new request"),
        "{refused}"
    );

    // A denied extension leaves the grant as it was, and another may be asked for.
    let id = app.active_grant(&alice, 3600).await;
    let before = grant(&app, id).await;
    let (_, asked) = extend(&app, "alice", id, 1800).await;
    let request = asked["id"].as_i64().unwrap();
    let bob = app.login("bob").await;
    let (status, denied) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{request}/deny"),
            json!({ "comment": "finish it tomorrow" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{denied}");
    let after = grant(&app, id).await;
    assert_eq!(after["expires_at"], before["expires_at"]);
    assert_eq!(after["extensions"], 0);
    assert_eq!(after["extendable_secs"], 4 * 3600);

    // An extension still waiting when its grant is revoked is withdrawn at once; one still
    // waiting at its grant's expiry expires with it. Neither can be approved after.
    let (_, asked) = extend(&app, "alice", id, 1800).await;
    let withdrawn = asked["id"].as_i64().unwrap();
    let (status, revoked) = app
        .post(
            &bob,
            &format!("/api/v1/grants/{id}/revoke"),
            json!({ "reason": "the migration is called off" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let id = app.active_grant(&alice, 600).await;
    let (_, asked) = extend(&app, "alice", id, 600).await;
    let expired = asked["id"].as_i64().unwrap();
    app.advance(Duration::minutes(10));
    app.sweep().await;
    let bob = app.login("bob").await;
    for (request, state) in [(withdrawn, "cancelled"), (expired, "expired")] {
        let (_, detail) = app.get(&bob, &format!("/api/v1/requests/{request}")).await;
        assert_eq!(detail["state"], state, "{detail}");
        let (status, refused) = app
            .post(
                &bob,
                &format!("/api/v1/requests/{request}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    }
    assert_eq!(grant(&app, id).await["extensions"], 0);
}
