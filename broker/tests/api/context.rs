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

    // Three grants here that ran twenty minutes: two checked by their servers until five
    // and ten minutes in, one never used.
    let long = app.active_grant(&alice, 3600).await;
    let short = app.active_grant(&alice, 3600).await;
    let unused = app.active_grant(&alice, 3600).await;
    let token = |grant: i64| {
        let (app, alice) = (&app, &alice);
        async move {
            let (status, credential) = app.credential(alice, grant).await;
            assert_eq!(status, StatusCode::OK, "{credential}");
            credential["token"].as_str().unwrap().to_string()
        }
    };
    let (long_token, short_token) = (token(long).await, token(short).await);
    let payments = app.introspection_secret("payments-db").await;
    app.advance(Duration::minutes(5));
    app.introspect_as_resource(&payments, &short_token, "10.0.0.1")
        .await;
    app.advance(Duration::minutes(5));
    app.introspect_as_resource(&payments, &long_token, "10.0.0.1")
        .await;
    app.broker.flush_usage().await.unwrap();
    app.advance(Duration::minutes(10));
    for id in [long, short, unused] {
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
    assert_eq!(history.len(), 3, "{context}");
    let of = |grant: i64| history.iter().find(|g| g["grant_id"] == grant).unwrap();
    assert_eq!(of(long)["used_secs"], 600);
    assert_eq!(of(long)["uses"], 2, "a fetch and a check");
    assert_eq!(of(long)["granted_secs"], 1200);
    assert_eq!(of(long)["asked_secs"], 3600);
    assert_eq!(of(short)["used_secs"], 300);
    assert_eq!(of(unused)["used_secs"], serde_json::Value::Null);
    // Only a count: where a static secret sits is for owners, admins and auditors.
    assert_eq!(context["standing_paths"], 1);
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
    // Its requester, and an identity's own token, get no context: the history may hold
    // requests they may not see.
    let (_, as_alice) = app.get(&alice, &format!("/api/v1/requests/{id}")).await;
    assert_eq!(as_alice["context"], serde_json::Value::Null);

    // Decided, it has nothing more to weigh.
    let (status, body) = app
        .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["context"], serde_json::Value::Null);
}
