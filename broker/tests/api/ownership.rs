//! Declarations of accountability: taking over, renewing, stepping down, lapsing.

use crate::helpers::{Session, TestApp};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use stint_broker::clock::Clock;

async fn identity(app: &TestApp, session: &Session, name: &str) -> Value {
    let id = app.id_of(session, "identities", name).await;
    let (status, detail) = app.get(session, &format!("/api/v1/identities/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    detail
}

async fn declare(
    app: &TestApp,
    session: &Session,
    name: &str,
    attest_until: DateTime<Utc>,
) -> (StatusCode, Value) {
    let id = app.id_of(session, "identities", name).await;
    let body = json!({
        "statement": "I run the nightly revenue report and answer for what it touches.",
        "attest_until": attest_until,
    });
    app.post(session, &format!("/api/v1/identities/{id}/ownership"), body)
        .await
}

async fn step_down(
    app: &TestApp,
    session: &Session,
    name: &str,
    reason: &str,
) -> (StatusCode, Value) {
    let id = app.id_of(session, "identities", name).await;
    app.post(
        session,
        &format!("/api/v1/identities/{id}/ownership/step-down"),
        json!({ "reason": reason }),
    )
    .await
}

#[tokio::test]
async fn alice_takes_over_an_orphaned_identity_and_may_then_request_for_it() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let now = app.clock.now();
    assert_eq!(
        identity(&app, &alice, "report-cron").await["status"],
        "orphaned"
    );

    let (status, detail) = declare(&app, &alice, "report-cron", now + Duration::days(30)).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["status"], "owned");
    assert_eq!(detail["owned_by_me"], true);
    assert_eq!(detail["owners"][0]["user"]["name"], "alice");
    assert_eq!(detail["declarations"].as_array().unwrap().len(), 1);
    app.file(&alice, "report-cron", "payments-db", "read", 600)
        .await;

    // Now it has an owner, nobody else joins by declaring.
    let bob = app.login("bob").await;
    let (status, error) = declare(&app, &bob, "report-cron", now + Duration::days(30)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("alice")
    );

    let id = detail["id"].as_i64().unwrap();
    assert_eq!(
        app.events_about(&format!("identity {id}")).await,
        [
            ("stint".to_string(), "identity.created".to_string()),
            ("alice".into(), "ownership.declared".into()),
        ]
    );
}

#[tokio::test]
async fn declarations_are_checked_and_bad_ones_change_nothing() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let now = app.clock.now();
    let before = app.count("ownerships").await;
    for (until, field) in [
        (now + Duration::days(91), "attest_until"),
        (now - Duration::days(1), "attest_until"),
    ] {
        let (status, error) = declare(&app, &alice, "report-cron", until).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["error"]["field"], field);
    }
    let id = app.id_of(&alice, "identities", "report-cron").await;
    let (status, error) = app
        .post(
            &alice,
            &format!("/api/v1/identities/{id}/ownership"),
            json!({ "statement": "mine", "attest_until": now + Duration::days(10) }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "statement");
    assert_eq!(app.count("ownerships").await, before);
}

#[tokio::test]
async fn renewing_keeps_the_history_of_every_declaration() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let until = app.clock.now() + Duration::days(60);
    let (status, detail) = declare(&app, &alice, "ci-deployer", until).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let history = detail["declarations"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["end"], Value::Null, "the new one is current");
    assert_eq!(history[1]["end"], "renewed");
    assert_eq!(detail["owners"].as_array().unwrap().len(), 1);
    let attest: DateTime<Utc> =
        serde_json::from_value(detail["owners"][0]["attest_until"].clone()).unwrap();
    assert_eq!(attest, until);
    let id = detail["id"].as_i64().unwrap();
    let events = app.events_about(&format!("identity {id}")).await;
    assert_eq!(
        events.last().unwrap(),
        &("alice".into(), "ownership.renewed".into())
    );
}

#[tokio::test]
async fn the_last_owner_of_live_access_cannot_step_down_but_a_co_owner_can() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    app.active_grant(&alice, 600).await;
    let before = app.count("audit_events").await;
    let (status, error) = step_down(&app, &alice, "ci-deployer", "moving teams").await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 active grant")
    );
    assert_eq!(
        app.count("audit_events").await,
        before,
        "a refusal changes nothing"
    );
    assert_eq!(
        identity(&app, &alice, "ci-deployer").await["status"],
        "owned"
    );

    let (status, error) = step_down(&app, &alice, "billing-agent", "  ").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "reason");

    // billing-agent keeps erin.
    let owned_before = app.get(&alice, "/api/v1/me").await.1["identities_owned"].clone();
    let (status, detail) = step_down(&app, &alice, "billing-agent", "moving teams").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["owned_by_me"], false);
    assert_eq!(detail["owners"][0]["user"]["name"], "erin");
    let ended = &detail["declarations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["user"]["name"] == "alice")
        .unwrap()
        .clone();
    assert_eq!(ended["end"], "stepped_down");
    assert_eq!(ended["end_reason"], "moving teams");
    assert_eq!(
        app.get(&alice, "/api/v1/me").await.1["identities_owned"],
        owned_before.as_u64().unwrap() - 1,
        "the portal's \"what you own\" count follows"
    );
    let events = app
        .events_about(&format!("identity {}", detail["id"]))
        .await;
    assert_eq!(
        events.last().unwrap(),
        &("alice".into(), "ownership.stepped_down".into())
    );
    assert_eq!(
        events
            .iter()
            .filter(|(_, a)| a == "ownership.stepped_down")
            .count(),
        1,
        "the refused step-down left no event"
    );
    // An owner no more: no new requests.
    let body = app
        .request_body(&alice, "billing-agent", "payments-db", "read", 60)
        .await;
    let (status, _) = app.post(&alice, "/api/v1/requests", body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_lapsed_attestation_orphans_the_identity_by_the_clock() {
    let app = TestApp::new().await;
    // 77 days on, ci-deployer's only declaration lapses within 14 days.
    app.advance(Duration::days(77));
    let alice = app.login("alice").await;
    assert_eq!(
        identity(&app, &alice, "ci-deployer").await["status"],
        "attestation_due_soon"
    );
    // Just before it lapses, alice gets two hours of access.
    app.advance(Duration::days(13) - Duration::hours(1));
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 2 * 3600).await;
    app.advance(Duration::hours(1) + Duration::seconds(1));
    let alice = app.login("alice").await;

    // Orphaned by the clock, before any sweep.
    let detail = identity(&app, &alice, "ci-deployer").await;
    assert_eq!(detail["status"], "orphaned", "{detail}");
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 60)
        .await;
    let (status, error) = app.post(&alice, "/api/v1/requests", body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Declare")
    );

    // The live grant is not silently revoked; admins see it flagged.
    let dave = app.login("dave").await;
    let (_, g) = app.get(&dave, &format!("/api/v1/grants/{grant}")).await;
    assert_eq!(g["state"], "active");
    assert_eq!(g["identity_orphaned"], true);

    // All three demo declarations were made at once, so all lapse at once.
    let report = app.sweep().await;
    assert_eq!(report.ownerships_lapsed, 3);
    assert_eq!(app.sweep().await.ownerships_lapsed, 0, "lapsed once");
    let detail = identity(&app, &alice, "ci-deployer").await;
    assert_eq!(detail["declarations"][0]["end"], "lapsed");
    let id = detail["id"].as_i64().unwrap();
    let events = app.events_about(&format!("identity {id}")).await;
    assert_eq!(
        events.last().unwrap(),
        &("stint".into(), "ownership.lapsed".into())
    );
}
