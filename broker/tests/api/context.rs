//! The approver's context: a pending request's page says who answers for the identity,
//! how its last grants on the resource were used, what else gives it access, and whether
//! the time asked for is more than its recent work there needed.

use super::break_glass::take;
use super::helpers::TestApp;
use axum::http::StatusCode;
use chrono::Duration;
use serde_json::json;

#[tokio::test]
async fn a_pending_request_carries_what_bears_on_deciding_it() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;

    // Two grants here: one used ten minutes into its twenty, one never used.
    let used = app.active_grant(&alice, 3600).await;
    let unused = app.active_grant(&alice, 3600).await;
    app.advance(Duration::minutes(10));
    assert_eq!(app.credential(&alice, used).await.0, StatusCode::OK);
    app.broker.flush_usage().await.unwrap();
    app.advance(Duration::minutes(10));
    for id in [used, unused] {
        let path = format!("/api/v1/grants/{id}/revoke");
        let (status, body) = app.post(&bob, &path, json!({ "reason": "done" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // Break-glass that a reviewer found unjustified (its access left running).
    let (status, taken) = take(&app, &alice, "ci-deployer", "payments-db").await;
    assert_eq!(status, StatusCode::CREATED, "{taken}");
    let review = taken["grant"]["review_id"].as_i64().unwrap();
    let carol = app.login("carol").await;
    let verdict = json!({ "outcome": "unjustified", "notes": "No incident that night" });
    let (status, body) = app
        .post(&carol, &format!("/api/v1/reviews/{review}"), verdict)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A static secret that reaches payments-db as ci-deployer, and another request waiting.
    let target = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 60)
        .await;
    let secret = json!({
        "identity_id": target["identity_id"],
        "resource_id": target["resource_id"],
        "privilege": "read",
        "location": "CI variable PAYMENTS_DB_PASSWORD in acme/payments",
        "secret_type": "database password",
        "description": "",
    });
    let (status, body) = app.post(&alice, "/api/v1/standing", secret).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.file(&alice, "ci-deployer", "prod-cluster", "deploy", 1800)
        .await;

    // The request to decide: four hours.
    let id = app
        .file(&alice, "ci-deployer", "payments-db", "read", 4 * 3600)
        .await;
    let (status, detail) = app.get(&bob, &format!("/api/v1/requests/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let context = &detail["context"];
    assert_eq!(context["owners"][0]["user"]["name"], "alice", "{context}");
    let history = context["recent_grants"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{context}");
    let of = |grant: i64| history.iter().find(|g| g["grant_id"] == grant).unwrap();
    assert_eq!(of(used)["used_secs"], 600);
    assert_eq!(of(used)["uses"], 1);
    assert_eq!(of(used)["granted_secs"], 1200);
    assert_eq!(of(used)["asked_secs"], 3600);
    assert_eq!(of(unused)["used_secs"], serde_json::Value::Null);
    assert_eq!(
        context["standing_paths"][0]["location"],
        "CI variable PAYMENTS_DB_PASSWORD in acme/payments"
    );
    assert_eq!(context["unjustified_break_glass"], 1);
    assert_eq!(
        context["open_requests"],
        json!([{ "resource": "prod-cluster", "privilege": "deploy" }])
    );
    assert_eq!(context["live_grants"][0]["resource"], "payments-db");
    assert_eq!(
        context["duration_advice"],
        json!({ "asked_secs": 14400, "longest_use_secs": 600, "grants_considered": 2 })
    );

    // Decided, it has nothing more to weigh.
    let (status, body) = app
        .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["context"], serde_json::Value::Null);
}
