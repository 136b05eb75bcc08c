use crate::helpers::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn owner_files_and_approver_approves_into_an_active_grant() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let id = app
        .file(&alice, "ci-deployer", "payments-db", "write", 3600)
        .await;

    let (_, queue) = app.get(&bob, "/api/v1/requests?awaiting_me=true").await;
    let waiting = &queue["items"][0];
    assert_eq!(waiting["id"], id);
    assert_eq!(waiting["requester"]["name"], "alice");
    assert_eq!(
        waiting["justification"]["task"],
        "Rotate the ledger encryption keys"
    );
    assert_eq!(waiting["justification"]["ticket"], "OPS-1234");
    assert_eq!(waiting["can_decide"], true);

    let (status, detail) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{id}/approve"),
            json!({ "comment": "ok" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["state"], "approved");
    let grant = &detail["grant"];
    assert_eq!(grant["state"], "active");
    assert_eq!(grant["identity"]["name"], "ci-deployer");
    assert_eq!(grant["privilege"], "write");
    assert_eq!(grant["expires_at"], "2026-11-02T10:00:00Z");

    let (_, seen_by_alice) = app.get(&alice, &format!("/api/v1/requests/{id}")).await;
    assert_eq!(seen_by_alice["state"], "approved");
    assert_eq!(seen_by_alice["grant"]["can_fetch_credential"], true);
    let actions: Vec<&str> = seen_by_alice["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["request.filed", "request.approved", "grant.activated"]
    );
    assert_eq!(
        seen_by_alice["timeline"][0]["details"]["task"],
        "Rotate the ledger encryption keys"
    );
    assert_eq!(seen_by_alice["timeline"][1]["actor"], "bob");
}

#[tokio::test]
async fn only_an_owner_may_request_for_an_identity() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    // bob owns nothing.
    let body = app
        .request_body(&bob, "ci-deployer", "payments-db", "read", 60)
        .await;
    let (status, error) = app.post(&bob, "/api/v1/requests", body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"]["code"], "forbidden");
    // report-cron has no owner at all: the answer names the fix.
    let body = app
        .request_body(&alice, "report-cron", "payments-db", "read", 60)
        .await;
    let (status, error) = app.post(&alice, "/api/v1/requests", body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("orphaned"),
        "{error}"
    );
    assert_eq!(app.count("requests").await, 0);
}

#[tokio::test]
async fn approver_cannot_approve_a_request_they_filed() {
    let app = TestApp::new().await;
    let erin = app.login("erin").await;
    let bob = app.login("bob").await;
    let id = app
        .file(&erin, "billing-agent", "payments-db", "read", 600)
        .await;
    let (status, error) = app
        .post(&erin, &format!("/api/v1/requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another approver")
    );
    let (_, queue) = app.get(&erin, "/api/v1/requests?awaiting_me=true").await;
    assert_eq!(
        queue["items"].as_array().unwrap().len(),
        0,
        "not in her own queue"
    );
    let (status, _) = app
        .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn users_without_the_approver_role_cannot_decide() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let id = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    for who in ["carol", "dave"] {
        let s = app.login(who).await;
        let approve = app
            .post(&s, &format!("/api/v1/requests/{id}/approve"), json!({}))
            .await;
        let deny = app
            .post(
                &s,
                &format!("/api/v1/requests/{id}/deny"),
                json!({ "comment": "no" }),
            )
            .await;
        assert_eq!(approve.0, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(deny.0, StatusCode::FORBIDDEN, "{who}");
    }
    assert_eq!(app.count("approvals").await, 0);
    assert_eq!(
        app.get(&alice, &format!("/api/v1/requests/{id}")).await.1["state"],
        "pending"
    );
}

#[tokio::test]
async fn approver_may_only_shorten_the_duration() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let id = app
        .file(&alice, "ci-deployer", "payments-db", "read", 3600)
        .await;
    let path = format!("/api/v1/requests/{id}/approve");
    for longer in [3601, 0, -60] {
        let (status, error) = app
            .post(&bob, &path, json!({ "duration_secs": longer }))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{longer}");
        assert_eq!(error["error"]["field"], "duration_secs");
    }
    let (status, detail) = app.post(&bob, &path, json!({ "duration_secs": 900 })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["grant"]["expires_at"], "2026-11-02T09:15:00Z");
}

#[tokio::test]
async fn a_request_needs_the_policys_number_of_distinct_approvers() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let erin = app.login("erin").await;
    let id = app
        .file(&alice, "ci-deployer", "prod-cluster", "deploy", 3600)
        .await;
    let path = format!("/api/v1/requests/{id}/approve");

    let (status, detail) = app
        .post(&bob, &path, json!({ "duration_secs": 1800 }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["state"], "pending");
    assert_eq!(detail["approvals"].as_array().unwrap().len(), 1);
    assert!(detail["grant"].is_null());

    let (status, _) = app.post(&bob, &path, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "the same approver twice");

    let (status, detail) = app.post(&erin, &path, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["state"], "approved");
    // The shortest duration any approver agreed to.
    assert_eq!(detail["grant"]["expires_at"], "2026-11-02T09:30:00Z");
    assert_eq!(app.count("grants").await, 1);
}

#[tokio::test]
async fn a_list_shows_each_request_with_its_own_approvals() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let erin = app.login("erin").await;
    let first = app
        .file(&alice, "ci-deployer", "prod-cluster", "deploy", 3600)
        .await;
    let second = app
        .file(&alice, "ci-deployer", "prod-cluster", "deploy", 1800)
        .await;
    let third = app
        .file(&alice, "ci-deployer", "prod-cluster", "deploy", 900)
        .await;
    for (who, id) in [(&bob, first), (&erin, first), (&erin, third)] {
        let path = format!("/api/v1/requests/{id}/approve");
        assert_eq!(app.post(who, &path, json!({})).await.0, StatusCode::OK);
    }
    let (_, page) = app.get(&alice, "/api/v1/requests").await;
    let approvers_of = |id: i64| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["approver"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(approvers_of(first), ["bob", "erin"]);
    assert!(approvers_of(second).is_empty());
    assert_eq!(approvers_of(third), ["erin"]);
}

#[tokio::test]
async fn two_approvers_at_once_create_exactly_one_grant() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let erin = app.login("erin").await;
    for round in 0..8 {
        let id = app
            .file(&alice, "ci-deployer", "payments-db", "read", 600)
            .await;
        let path = format!("/api/v1/requests/{id}/approve");
        let (a, b) = tokio::join!(
            app.post(&bob, &path, json!({})),
            app.post(&erin, &path, json!({}))
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}"
        );
        let pool = app.sql_pool().await;
        let grants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE request_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        let approvals: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM approvals WHERE request_id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((grants, approvals), (1, 1), "round {round}");
    }
}

#[tokio::test]
async fn decided_requests_accept_no_further_decision() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let denied = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let (status, detail) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{denied}/deny"),
            json!({ "comment": "Use the read replica" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["state"], "denied");
    assert_eq!(detail["decision_comment"], "Use the read replica");

    let cancelled = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let (status, _) = app
        .call(
            Some(&alice),
            Method::POST,
            &format!("/api/v1/requests/{cancelled}/cancel"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    for id in [denied, cancelled] {
        let approve = app
            .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
            .await;
        let deny = app
            .post(
                &bob,
                &format!("/api/v1/requests/{id}/deny"),
                json!({ "comment": "x" }),
            )
            .await;
        let cancel = app
            .call(
                Some(&alice),
                Method::POST,
                &format!("/api/v1/requests/{id}/cancel"),
                None,
            )
            .await;
        for (status, body) in [approve, deny, cancel] {
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
        }
    }
    assert_eq!(app.count("grants").await, 0);
}

#[tokio::test]
async fn denial_needs_a_comment_and_only_the_requester_cancels() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let id = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let (status, error) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{id}/deny"),
            json!({ "comment": "  " }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "comment");
    let (status, _) = app
        .call(
            Some(&bob),
            Method::POST,
            &format!("/api/v1/requests/{id}/cancel"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&alice, &format!("/api/v1/requests/{id}")).await.1["state"],
        "pending"
    );
}

#[tokio::test]
async fn requesters_see_only_their_own_identities_requests() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let erin = app.login("erin").await;
    let bob = app.login("bob").await;
    let alices = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let erins = app
        .file(&erin, "billing-agent", "payments-db", "read", 600)
        .await;
    app.post(
        &bob,
        &format!("/api/v1/requests/{erins}/approve"),
        json!({}),
    )
    .await;

    // alice co-owns billing-agent, so she sees erin's request too; bob sees everything.
    let (_, all) = app.get(&alice, "/api/v1/requests").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, mine) = app.get(&alice, "/api/v1/requests?mine=true").await;
    assert_eq!(mine["items"][0]["id"], alices);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (_, approved) = app.get(&bob, "/api/v1/requests?state=approved").await;
    assert_eq!(approved["items"][0]["id"], erins);
    assert_eq!(approved["items"].as_array().unwrap().len(), 1);

    // carol, a reviewer, oversees every request.
    let carol = app.login("carol").await;
    assert_eq!(
        app.get(&carol, "/api/v1/requests").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn pages_of_requests_follow_the_cursor() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            app.file(&alice, "ci-deployer", "payments-db", "read", 60)
                .await,
        );
    }
    let (_, first) = app.get(&alice, "/api/v1/requests?limit=3").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_i64().unwrap();
    let (_, second) = app
        .get(&alice, &format!("/api/v1/requests?limit=3&cursor={cursor}"))
        .await;
    let second: Vec<i64> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(second, [ids[1], ids[0]]);
}
