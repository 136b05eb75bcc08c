//! Oversight of live access: every live grant in one filtered view, and ending many of
//! them in one call, each as a single revocation would.

use crate::admin::save_payments_db;
use crate::helpers::{Session, TestApp};
use axum::http::StatusCode;
use serde_json::{Value, json};
use stint_core::Role;

/// Makes filing for ci-deployer's `read` on payments-db grant at once, so a test can have
/// many live grants without approving each.
async fn auto_approve_payments_db_reads(app: &TestApp) {
    let (status, saved) = save_payments_db(app, |p| {
        p["auto_approve"] = json!({
            "identity_kinds": ["ci_pipeline"], "privileges": ["read"], "max_duration_secs": 3600,
        })
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
}

/// Files an auto-approved request; its grant's id.
async fn live_grant(app: &TestApp, alice: &Session, body: &Value) -> i64 {
    let (status, created) = app.post(alice, "/api/v1/requests", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["state"], "approved", "{created}");
    created["grant_id"]
        .as_i64()
        .or_else(|| created["grant"]["id"].as_i64())
        .expect("an auto-approved request has its grant")
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap_or_else(|| v["id"].as_i64().unwrap()))
        .collect()
}

async fn revoked_events(app: &TestApp) -> i64 {
    let pool = app.sql_pool().await;
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'grant.revoked'")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn an_admin_ends_500_grants_by_filter_each_with_its_event_and_one_ended_meanwhile_is_reported()
 {
    let app = TestApp::new().await;
    auto_approve_payments_db_reads(&app).await;
    let alice = app.login("alice").await;
    let dave = app.login("dave").await;
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 1800)
        .await;
    let mut grants = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..500 {
        let grant = live_grant(&app, &alice, &body).await;
        let (status, credential) = app.credential(&alice, grant).await;
        assert_eq!(status, StatusCode::OK, "{credential}");
        grants.push(grant);
        tokens.push(credential["token"].as_str().unwrap().to_string());
    }
    // Access elsewhere that the filter must leave alone: a pending-then-approved grant
    // on prod-cluster.
    let other = app
        .file(&alice, "ci-deployer", "prod-cluster", "deploy", 600)
        .await;
    for approver in ["bob", "erin"] {
        let session = app.login(approver).await;
        let (status, detail) = app
            .post(
                &session,
                &format!("/api/v1/requests/{other}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{detail}");
    }

    let payments = app.id_of(&dave, "resources", "payments-db").await;
    let (status, live) = app
        .get(
            &dave,
            &format!("/api/v1/grants/live?resource_id={payments}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live["grants"].as_array().unwrap().len(), 500);
    assert_eq!(live["active"], 500);
    assert_eq!(live["identities"], 1);
    let (_, everything) = app.get(&dave, "/api/v1/grants/live").await;
    assert_eq!(everything["grants"].as_array().unwrap().len(), 501);
    assert_eq!(everything["matching"], 501);
    // The holders the filter may narrow to are those of everything that matches.
    let holders: Vec<&str> = everything["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(holders, ["alice"]);
    // A shorter list keeps the counts of everything that matches.
    let (_, first) = app
        .get(
            &dave,
            &format!("/api/v1/grants/live?resource_id={payments}&limit=100"),
        )
        .await;
    assert_eq!(first["grants"].as_array().unwrap().len(), 100);
    assert_eq!(
        (first["matching"].clone(), first["active"].clone()),
        (json!(500), json!(500))
    );

    // One of them ends on its own first: its holder's owner revokes it.
    let (status, _) = app
        .post(
            &alice,
            &format!("/api/v1/grants/{}/revoke", grants[7]),
            json!({ "reason": "done early" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let before = revoked_events(&app).await;

    // The filter ends what it matches now; the grant that ended meanwhile is no longer
    // among them, and naming it by id reports it rather than failing the rest.
    let (status, outcome) = app
        .post(
            &dave,
            "/api/v1/grants/revoke",
            json!({ "filter": { "resource_id": payments }, "reason": "INC-42: payments-db credentials exposed" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(ids(&outcome["revoked"]).len(), 499);
    assert_eq!(outcome["failed"], json!([]));
    assert_eq!(revoked_events(&app).await - before, 499);
    for token in &tokens {
        assert_eq!(app.introspect(token).await["active"], false);
    }
    let (_, left) = app.get(&dave, "/api/v1/grants/live").await;
    assert_eq!(ids(&left["grants"]).len(), 1, "{left}");
    assert_eq!(left["grants"][0]["resource"]["name"], "prod-cluster");

    let (status, again) = app
        .post(
            &dave,
            "/api/v1/grants/revoke",
            json!({ "ids": [grants[7], grants[8], 999_999], "reason": "INC-42" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["revoked"], json!([]));
    let failed = again["failed"].as_array().unwrap();
    assert_eq!(ids(&again["failed"]), vec![grants[7], grants[8], 999_999]);
    assert!(
        failed
            .iter()
            .all(|f| !f["error"].as_str().unwrap().is_empty())
    );
    assert_eq!(revoked_events(&app).await - before, 499);
}

#[tokio::test]
async fn only_admins_end_access_by_filter_and_others_end_only_what_is_theirs_to_end() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let mine = app.active_grant(&alice, 600).await;
    let carol = app.login("carol").await;

    // Auditors see live access but end none of it by filter; requesters see none of it.
    let dave = app.login("dave").await;
    let (_, auditor) = app.seed_user("ann", &[Role::Auditor], &[]).await;
    // Beside the live grants, their identities' standing paths: access that bypasses JIT
    // and that no revocation here ends.
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 60)
        .await;
    let (status, recorded) = app
        .post(
            &alice,
            "/api/v1/standing",
            json!({
                "identity_id": body["identity_id"], "resource_id": body["resource_id"],
                "location": "CI variable PAYMENTS_DB_PASSWORD", "secret_type": "database password",
            }),
        )
        .await;
    assert!(status.is_success(), "{recorded}");
    let (status, live) = app.get(&auditor, "/api/v1/grants/live").await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(ids(&live["grants"]), vec![mine]);
    assert_eq!(
        live["standing_paths"],
        json!([{ "identity_id": body["identity_id"], "count": 1 }])
    );
    assert_eq!(
        app.get(&alice, "/api/v1/grants/live").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&carol, "/api/v1/grants/live").await.0,
        StatusCode::FORBIDDEN
    );
    let payments = app.id_of(&dave, "resources", "payments-db").await;
    let by_filter = json!({ "filter": { "resource_id": payments }, "reason": "incident" });
    for session in [&auditor, &alice] {
        let (status, body) = app
            .post(session, "/api/v1/grants/revoke", by_filter.clone())
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    assert_eq!(
        app.get(&dave, &format!("/api/v1/grants/{mine}")).await.1["state"],
        "active"
    );

    // By id, each grant is decided as a single revocation: carol (a reviewer) may not end
    // a standard grant; alice, an owner of its identity, may.
    let by_id = json!({ "ids": [mine], "reason": "task over" });
    let (status, refused) = app
        .post(&carol, "/api/v1/grants/revoke", by_id.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{refused}");
    assert_eq!(refused["revoked"], json!([]));
    assert_eq!(ids(&refused["failed"]), vec![mine]);
    let (status, ended) = app.post(&alice, "/api/v1/grants/revoke", by_id).await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["revoked"], json!([mine]));
}

#[tokio::test]
async fn a_grant_refused_between_two_others_leaves_them_ending_in_the_same_call() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let first = app.active_grant(&alice, 600).await;
    // frank's grant, on an identity alice neither owns nor asked for.
    let (_, frank) = app
        .seed_user("frank", &[Role::Requester], &["report-cron"])
        .await;
    let filed = app
        .file(&frank, "report-cron", "payments-db", "read", 600)
        .await;
    let bob = app.login("bob").await;
    let (status, detail) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{filed}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let franks = detail["grant"]["id"].as_i64().unwrap();
    let second = app.active_grant(&alice, 600).await;
    let before = revoked_events(&app).await;

    let (status, outcome) = app
        .post(
            &alice,
            "/api/v1/grants/revoke",
            json!({ "ids": [first, franks, second], "reason": "task over" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["revoked"], json!([first, second]));
    assert_eq!(ids(&outcome["failed"]), vec![franks]);
    assert_eq!(revoked_events(&app).await - before, 2);
    let dave = app.login("dave").await;
    let state = |id: i64| {
        let (app, dave) = (&app, &dave);
        async move { app.get(dave, &format!("/api/v1/grants/{id}")).await.1["state"].clone() }
    };
    assert_eq!(state(franks).await, "active");
    assert_eq!(state(first).await, "revoked");
    assert_eq!(state(second).await, "revoked");
}

#[tokio::test]
async fn a_bulk_revocation_names_the_field_it_cannot_take_and_changes_nothing() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 600).await;
    let dave = app.login("dave").await;
    let cases = [
        (json!({ "reason": "x" }), "ids"),
        (
            json!({ "ids": [grant], "filter": {}, "reason": "x" }),
            "ids",
        ),
        (json!({ "ids": [], "reason": "x" }), "ids"),
        (json!({ "ids": [grant], "reason": " " }), "reason"),
        (
            json!({ "filter": { "ends_within_secs": -5 }, "reason": "x" }),
            "ends_within_secs",
        ),
        // Everything at once is not a filter: whoever means it names the grants.
        (json!({ "filter": {}, "reason": "x" }), "filter"),
        (
            json!({ "filter": { "privilege": " " }, "reason": "x" }),
            "filter",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = app.post(&dave, "/api/v1/grants/revoke", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}");
    }
    let (status, error) = app
        .post(
            &dave,
            "/api/v1/grants/revoke",
            json!({ "filter": { "colour": "red" }, "reason": "x" }),
        )
        .await;
    assert!(status.is_client_error(), "{error}");
    for (query, field) in [
        ("kind=sideways", "kind"),
        ("ends_within_secs=0", "ends_within_secs"),
        ("ends_within_secs=9999999999999", "ends_within_secs"),
        ("resource_id=abc", "resource_id"),
    ] {
        let (status, error) = app
            .get(&dave, &format!("/api/v1/grants/live?{query}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {error}");
        assert_eq!(error["error"]["field"], field, "{query}");
    }
    assert_eq!(
        app.get(&dave, &format!("/api/v1/grants/{grant}")).await.1["state"],
        "active"
    );
    assert_eq!(revoked_events(&app).await, 0);
}
