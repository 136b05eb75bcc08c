//! Administration: users, identities, resources and their policies.

use crate::helpers::{Session, TestApp};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// payments-db as an admin would submit it, with `change` applied to its policy.
async fn payments_db(
    app: &TestApp,
    dave: &Session,
    change: impl FnOnce(&mut Value),
) -> (i64, Value) {
    let id = app.id_of(dave, "resources", "payments-db").await;
    let (_, resource) = app.get(dave, &format!("/api/v1/resources/{id}")).await;
    let mut body = json!({
        "name": resource["name"],
        "description": resource["description"],
        "privileges": resource["privileges"],
        "policy": resource["policy"],
    });
    change(&mut body["policy"]);
    (id, body)
}

pub(crate) async fn save_payments_db(
    app: &TestApp,
    change: impl FnOnce(&mut Value),
) -> (StatusCode, Value) {
    let dave = app.login("dave").await;
    let (id, body) = payments_db(app, &dave, change).await;
    app.admin_change(&dave, Method::PUT, &format!("/api/v1/resources/{id}"), body)
        .await
}

fn user_id(users: &Value, name: &str) -> i64 {
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn non_admins_get_403_on_every_admin_call() {
    let app = TestApp::new().await;
    let calls = [
        (Method::GET, "/api/v1/users", None),
        (Method::POST, "/api/v1/users", Some(json!({}))),
        (Method::PUT, "/api/v1/users/1", Some(json!({}))),
        (Method::POST, "/api/v1/identities", Some(json!({}))),
        (Method::PUT, "/api/v1/identities/1", Some(json!({}))),
        (Method::POST, "/api/v1/resources", Some(json!({}))),
        (Method::PUT, "/api/v1/resources/1", Some(json!({}))),
    ];
    for user in ["alice", "bob", "carol"] {
        let session = app.login(user).await;
        for (method, path, body) in &calls {
            let (status, error) = app
                .call(Some(&session), method.clone(), path, body.clone())
                .await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{user} {method} {path}: {error}"
            );
        }
    }
    let dave = app.login("dave").await;
    let (_, refused) = app
        .get(&dave, "/api/v1/audit?action=authz.refused&limit=100")
        .await;
    assert_eq!(refused["items"].as_array().unwrap().len(), 3 * calls.len());
}

#[tokio::test]
async fn invalid_policies_are_refused_naming_the_field_and_change_nothing() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let (users_status, users) = app.get(&dave, "/api/v1/users").await;
    assert_eq!(users_status, StatusCode::OK);
    let carol = user_id(&users, "carol");
    let (id, _) = payments_db(&app, &dave, |_| {}).await;
    let (_, before) = app.get(&dave, &format!("/api/v1/resources/{id}")).await;
    type Change = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|p| p["approvals_required"] = json!(0)),
            "policy.approvals_required",
        ),
        // Only bob and erin hold the approver role.
        (
            Box::new(|p| p["approvals_required"] = json!(3)),
            "policy.approvals_required",
        ),
        (
            Box::new(|p| p["max_duration_secs"] = json!(0)),
            "policy.max_duration_secs",
        ),
        (
            Box::new(|p| p["ticket_pattern"] = json!("OPS-[0-9")),
            "policy.ticket_pattern",
        ),
        (
            Box::new(move |p| {
                p["approvers"] =
                    json!({ "kind": "users", "users": [{ "id": carol, "name": "carol" }] })
            }),
            "policy.approvers",
        ),
        (
            Box::new(
                |p| p["auto_approve"] = json!({ "identity_kinds": ["ci_pipeline"], "privileges": ["drop"], "max_duration_secs": 60 }),
            ),
            "policy.auto_approve.privileges",
        ),
    ];
    for (change, field) in cases {
        let (status, error) = save_payments_db(&app, change).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {error}");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let (_, after) = app.get(&dave, &format!("/api/v1/resources/{id}")).await;
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_policy_change_applies_to_new_requests_only() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let filed_before = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let (status, saved) = save_payments_db(&app, |p| p["approvals_required"] = json!(2)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["policy"]["approvals_required"], 2);
    let filed_after = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;

    let bob = app.login("bob").await;
    for (id, needed, granted) in [(filed_before, 1, true), (filed_after, 2, false)] {
        let (status, detail) = app
            .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(detail["approvals_required"], needed);
        assert_eq!(detail["grant"].is_object(), granted, "{detail}");
    }
    let events = app.events_about(&format!("resource {}", saved["id"])).await;
    assert_eq!(
        events.last().unwrap(),
        &("dave".into(), "resource.updated".into())
    );
}

#[tokio::test]
async fn named_approvers_alone_see_and_decide_and_requesters_see_who() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let (_, users) = app.get(&dave, "/api/v1/users").await;
    let erin = user_id(&users, "erin");
    let (status, saved) = save_payments_db(&app, |p| {
        p["approvers"] = json!({ "kind": "users", "users": [{ "id": erin, "name": "" }] })
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        saved["approver_pool"],
        json!([{ "id": erin, "name": "erin" }])
    );

    let alice = app.login("alice").await;
    let id = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let bob = app.login("bob").await;
    let (_, queue) = app.get(&bob, "/api/v1/requests?awaiting_me=true").await;
    assert!(queue["items"].as_array().unwrap().is_empty(), "{queue}");
    let (_, me) = app.get(&bob, "/api/v1/me").await;
    assert_eq!(me["approvals_waiting"], 0);
    let (status, error) = app
        .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error["error"]["message"].as_str().unwrap().contains("erin"));

    let erin_session = app.login("erin").await;
    let (_, queue) = app
        .get(&erin_session, "/api/v1/requests?awaiting_me=true")
        .await;
    assert_eq!(queue["items"][0]["id"], id);
    assert_eq!(queue["items"][0]["approvers"]["users"][0]["name"], "erin");
    let (status, _) = app
        .post(
            &erin_session,
            &format!("/api/v1/requests/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn auto_approval_applies_only_within_its_rule() {
    let app = TestApp::new().await;
    let (status, saved) = save_payments_db(&app, |p| {
        p["auto_approve"] = json!({
            "identity_kinds": ["ci_pipeline"], "privileges": ["read"], "max_duration_secs": 900,
        })
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let alice = app.login("alice").await;
    let cases = [
        ("ci-deployer", "read", 900, true),
        ("ci-deployer", "read", 901, false),
        ("ci-deployer", "write", 600, false),
        // billing-agent is an AI agent.
        ("billing-agent", "read", 600, false),
    ];
    for (identity, privilege, secs, auto) in cases {
        let id = app
            .file(&alice, identity, "payments-db", privilege, secs)
            .await;
        let (_, detail) = app.get(&alice, &format!("/api/v1/requests/{id}")).await;
        let expected = if auto { "approved" } else { "pending" };
        assert_eq!(detail["state"], expected, "{identity} {privilege} {secs}");
        assert_eq!(detail["auto_approved"], auto);
        if auto {
            assert_eq!(detail["grant"]["state"], "active");
            let actors: Vec<(&str, &str)> = detail["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
                .collect();
            assert_eq!(
                actors,
                [
                    ("alice", "request.filed"),
                    ("stint", "request.auto_approved"),
                    ("stint", "grant.activated")
                ]
            );
        }
    }
}

#[tokio::test]
async fn a_ticket_must_match_the_policy_pattern() {
    let app = TestApp::new().await;
    let (status, _) = save_payments_db(&app, |p| {
        p["ticket_required"] = json!(true);
        p["ticket_pattern"] = json!("INC-[0-9]+");
    })
    .await;
    assert_eq!(status, StatusCode::OK);
    let alice = app.login("alice").await;
    // The helper's body carries ticket OPS-1234.
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 60)
        .await;
    let (status, error) = app.post(&alice, "/api/v1/requests", body.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "justification.ticket");
    let mut body = body;
    body["justification"]["ticket"] = json!("INC-77");
    let (status, _) = app.post(&alice, "/api/v1/requests", body).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_disabled_users_session_stops_working_and_they_cannot_sign_in() {
    let app = TestApp::new().await;
    let bob = app.login("bob").await;
    let dave = app.login("dave").await;
    let (_, users) = app.get(&dave, "/api/v1/users").await;
    let bob_id = user_id(&users, "bob");
    let (status, saved) = app
        .put(
            &dave,
            &format!("/api/v1/users/{bob_id}"),
            json!({ "display_name": "Bob Okafor", "roles": ["approver"], "disabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["disabled"], true);
    let (status, _) = app.get(&bob, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = app.login_raw("bob", "stint-demo", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let events = app.events_about(&format!("user {bob_id}")).await;
    assert_eq!(
        events.last().unwrap(),
        &("dave".into(), "user.disabled".into())
    );

    // Nobody locks themselves out.
    let dave_id = user_id(&users, "dave");
    let (status, error) = app
        .put(
            &dave,
            &format!("/api/v1/users/{dave_id}"),
            json!({ "display_name": "Dave", "roles": ["admin"], "disabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "disabled");
}

#[tokio::test]
async fn admins_create_users_identities_and_resources() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let frank = json!({
        "username": "frank", "display_name": "Frank Ude",
        "password": "a long enough passphrase", "roles": ["requester", "approver"],
    });
    // The approver role widens access: grace, a second admin, approves the account.
    let (status, created) = app
        .admin_change(&dave, Method::POST, "/api/v1/users", frank.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["roles"], json!(["requester", "approver"]));
    assert_eq!(
        app.events_about(&format!("user {}", created["id"])).await,
        [
            ("grace".to_string(), "user.created".to_string()),
            // Giving the approver role is recorded on its own, for the admin dashboard.
            (
                "grace".to_string(),
                "user.privileged_role_granted".to_string()
            ),
        ]
    );
    let (status, _, _) = app
        .login_raw("frank", "a long enough passphrase", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = app.post(&dave, "/api/v1/users", frank).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "username");
    let (status, error) = app
        .post(
            &dave,
            "/api/v1/users",
            json!({ "username": "gus", "display_name": "Gus", "password": "short", "roles": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "password");

    let (status, identity) = app
        .post(
            &dave,
            "/api/v1/identities",
            json!({ "name": "etl-loader", "kind": "workload", "environment": "staging" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{identity}");
    assert_eq!(identity["status"], "orphaned");
    assert_eq!(
        app.events_about(&format!("identity {}", identity["id"]))
            .await,
        [("dave".to_string(), "identity.created".to_string())]
    );
    let (status, updated) = app
        .put(
            &dave,
            &format!("/api/v1/identities/{}", identity["id"]),
            json!({ "name": "etl-loader", "kind": "workload", "environment": "production",
                    "description": "Loads the warehouse nightly" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["environment"], "production");
    let (status, error) = app
        .put(
            &dave,
            &format!("/api/v1/identities/{}", identity["id"]),
            json!({ "name": "ci-deployer", "kind": "workload" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a taken name: {error}"
    );
    assert_eq!(error["error"]["field"], "name");
    assert_eq!(
        app.events_about(&format!("identity {}", identity["id"]))
            .await,
        [
            ("dave".to_string(), "identity.created".to_string()),
            ("dave".into(), "identity.updated".into())
        ]
    );
    let (status, error) = app
        .post(
            &dave,
            "/api/v1/identities",
            json!({ "name": "ETL Loader", "kind": "workload" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "name");

    let (status, resource) = app
        .post(
            &dave,
            "/api/v1/resources",
            json!({
                "name": "warehouse", "privileges": ["query"],
                "policy": { "approvals_required": 2, "max_duration_secs": 3600,
                            "ticket_required": false },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{resource}");
    // frank now holds the approver role too.
    let names: Vec<&str> = resource["approver_pool"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "erin", "frank"]);
    let events = app
        .events_about(&format!("resource {}", resource["id"]))
        .await;
    assert_eq!(
        events,
        [("dave".to_string(), "resource.created".to_string())]
    );
}

#[tokio::test]
async fn a_request_no_remaining_approver_can_pass_says_who_may_still_approve_it() {
    let app = TestApp::new().await;
    let (status, saved) = save_payments_db(&app, |p| p["approvals_required"] = json!(2)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    // erin approves, but she also owns billing-agent and files for it herself.
    let erin = app.login("erin").await;
    let stuck = app
        .file(&erin, "billing-agent", "payments-db", "read", 600)
        .await;
    let (_, detail) = app.get(&erin, &format!("/api/v1/requests/{stuck}")).await;
    let names: Vec<&str> = detail["eligible_approvers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob"], "{detail}");
    // alice's request for ci-deployer (owned by her alone) has both approvers.
    let alice = app.login("alice").await;
    let fine = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let (_, detail) = app.get(&alice, &format!("/api/v1/requests/{fine}")).await;
    assert_eq!(detail["eligible_approvers"].as_array().unwrap().len(), 2);
}
