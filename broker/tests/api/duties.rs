//! Separation of duties: nobody approves what they answer for, grants themselves a role,
//! vouches for their own takeover, dismisses what they mapped, or reads what they no
//! longer own.

use crate::helpers::TestApp;
use crate::standing::GITLEAKS;
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::json;
use stint_core::Role;

#[tokio::test]
async fn an_owner_of_the_identity_neither_approves_its_requests_nor_fetches_their_credential() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    // erin is an approver and co-owns billing-agent.
    let erin = app.login("erin").await;
    let id = app
        .file(&alice, "billing-agent", "payments-db", "read", 600)
        .await;
    let approve = format!("/api/v1/requests/{id}/approve");
    let (status, error) = app.post(&erin, &approve, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("you own this identity")
    );
    let (_, queue) = app.get(&erin, "/api/v1/requests?awaiting_me=true").await;
    assert!(
        queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != id),
        "{queue}"
    );
    let (_, me) = app.get(&erin, "/api/v1/me").await;
    assert_eq!(me["approvals_waiting"], 0);
    let (_, detail) = app.get(&erin, &format!("/api/v1/requests/{id}")).await;
    assert_eq!(detail["can_decide"], false, "{detail}");

    let bob = app.login("bob").await;
    let (status, decided) = app.post(&bob, &approve, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let grant = decided["grant"]["id"].as_i64().unwrap();
    // The credential goes to whoever holds the grant, not to any owner.
    let (status, error) = app.credential(&erin, grant).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    let (_, card) = app.get(&erin, &format!("/api/v1/grants/{grant}")).await;
    assert_eq!(card["can_fetch_credential"], false);
    assert_eq!(app.credential(&alice, grant).await.0, StatusCode::OK);
}

#[tokio::test]
async fn nobody_changes_their_own_roles_and_no_admin_approves_for_an_account_they_made() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let (_, me) = app.get(&dave, "/api/v1/me").await;
    let dave_id = me["user"]["id"].as_i64().unwrap();
    let (status, error) = app
        .put(
            &dave,
            &format!("/api/v1/users/{dave_id}"),
            json!({ "display_name": "Dave", "roles": ["admin", "auditor", "approver"],
                    "disabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    let (_, me) = app.get(&dave, "/api/v1/me").await;
    assert!(
        !me["user"]["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("approver"))
    );

    // An admin who is also an approver makes an account and files through it.
    let (_, root) = app
        .seed_user("ops-lead", &[Role::Admin, Role::Approver], &[])
        .await;
    let (status, sock) = app
        .post(
            &root,
            "/api/v1/users",
            json!({ "username": "sockpuppet", "display_name": "Sock Puppet",
                    "password": "a long enough passphrase", "roles": ["requester"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sock}");
    let identity = app.id_of(&dave, "identities", "report-cron").await;
    let (status, headers, _) = app
        .login_raw("sockpuppet", "a long enough passphrase", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let sock = crate::helpers::session_from(&headers);
    let (status, _) = app
        .post(
            &sock,
            &format!("/api/v1/identities/{identity}/ownership"),
            json!({ "statement": "I run the nightly report job now",
                    "attest_until": app.now() + Duration::days(30) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let id = app
        .file(&sock, "report-cron", "payments-db", "read", 600)
        .await;
    let approve = format!("/api/v1/requests/{id}/approve");
    let (status, error) = app.post(&root, &approve, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("created the requester")
    );
    let bob = app.login("bob").await;
    assert_eq!(app.post(&bob, &approve, json!({})).await.0, StatusCode::OK);

    // Giving out the approver role is its own event (once a second admin approves it).
    let (status, _) = app
        .admin_change(
            &root,
            Method::PUT,
            &format!("/api/v1/users/{}", me["user"]["id"]),
            json!({ "display_name": "Dave", "roles": ["admin", "auditor", "approver"],
                    "disabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = app
        .get(&dave, "/api/v1/audit?action=user.privileged_role_granted")
        .await;
    let granted: Vec<(String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["details"]["username"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Recorded as the doing of grace, the second admin whose approval applied it.
    assert_eq!(granted, [("grace".to_string(), "dave".to_string())]);
}

/// alice takes report-cron over from orphaned; the declaration's id.
async fn take_over_report_cron(app: &TestApp) -> (i64, i64) {
    let alice = app.login("alice").await;
    let identity = app.id_of(&alice, "identities", "report-cron").await;
    let (status, detail) = app
        .post(
            &alice,
            &format!("/api/v1/identities/{identity}/ownership"),
            json!({ "statement": "I run the nightly report job now",
                    "attest_until": app.now() + Duration::days(30) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["declarations"][0]["awaiting_confirmation"], true);
    (identity, detail["declarations"][0]["id"].as_i64().unwrap())
}

async fn break_glass(app: &TestApp, identity: &str) -> (StatusCode, serde_json::Value) {
    let alice = app.login("alice").await;
    let mut body = app
        .request_body(&alice, identity, "payments-db", "write", 1800)
        .await;
    body["justification"]["task"] =
        json!("Checkout fails: a stuck migration holds the ledger lock since 03:10");
    body["password"] = json!(stint_broker::demo::PASSWORD);
    app.post(&alice, "/api/v1/break-glass", body).await
}

#[tokio::test]
async fn a_takeover_allows_break_glass_only_once_another_admin_confirms_it() {
    let app = TestApp::new().await;
    let (identity, declaration) = take_over_report_cron(&app).await;
    let alice = app.login("alice").await;
    // Requests go through approvers as ever; break-glass waits for the confirmation.
    app.file(&alice, "report-cron", "payments-db", "read", 600)
        .await;
    let (status, error) = break_glass(&app, "report-cron").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("confirms the takeover")
    );

    let confirm = format!("/api/v1/identities/{identity}/ownership/{declaration}/confirm");
    assert_eq!(
        app.call(Some(&alice), Method::POST, &confirm, None).await.0,
        StatusCode::FORBIDDEN,
        "nobody vouches for themselves"
    );
    let dave = app.login("dave").await;
    let (status, detail) = app.call(Some(&dave), Method::POST, &confirm, None).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["declarations"][0]["awaiting_confirmation"], false);
    assert_eq!(detail["declarations"][0]["confirmed_by"]["name"], "dave");
    assert_eq!(
        app.call(Some(&dave), Method::POST, &confirm, None).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        break_glass(&app, "report-cron").await.0,
        StatusCode::CREATED
    );
    let events = app.events_about(&format!("identity {identity}")).await;
    assert!(events.contains(&("dave".into(), "ownership.takeover_confirmed".into())));
}

#[tokio::test]
async fn with_a_waiting_period_a_takeover_allows_break_glass_once_it_has_passed() {
    let app =
        TestApp::with_config(|c| c.break_glass_limit.takeover_wait = Some(Duration::hours(1)))
            .await;
    take_over_report_cron(&app).await;
    assert_eq!(
        break_glass(&app, "report-cron").await.0,
        StatusCode::FORBIDDEN
    );
    app.advance(Duration::hours(1));
    assert_eq!(
        break_glass(&app, "report-cron").await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn who_mapped_a_finding_cannot_also_dismiss_it() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let alice = app.login("alice").await;
    app.import(&dave, "source=acme/payments", GITLEAKS).await;
    let list = app.standing(&alice).await;
    let id = list[0]["id"].as_i64().unwrap();
    let triage = format!("/api/v1/standing/{id}/triage");
    let map = json!({
        "action": "map",
        "identity_id": app.id_of(&alice, "identities", "ci-deployer").await,
        "resource_id": app.id_of(&alice, "resources", "payments-db").await,
    });
    assert_eq!(app.post(&alice, &triage, map).await.0, StatusCode::OK);
    let dismiss = json!({ "action": "false_positive", "reason": "only an example key, honestly" });
    let (status, error) = app.post(&alice, &triage, dismiss.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("an admin")
    );
    let (status, resolved) = app.post(&dave, &triage, dismiss).await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["status"], "false_positive");
}

#[tokio::test]
async fn read_access_follows_current_ownership_and_other_users_addresses_stay_hidden() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let (_, frank) = app
        .seed_user("frank", &[Role::Requester], &["billing-agent"])
        .await;
    let body = app
        .request_body(&alice, "billing-agent", "payments-db", "read", 600)
        .await;
    let (status, filed) = app
        .call_from(
            Some(&alice),
            Method::POST,
            "/api/v1/requests",
            Some(body),
            Some("203.0.113.9"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let id = filed["id"].as_i64().unwrap();
    let path = format!("/api/v1/requests/{id}");

    // A current co-owner reads the request, but not where alice sent it from.
    let (status, detail) = app.get(&frank, &path).await;
    assert_eq!(status, StatusCode::OK);
    let text = detail.to_string();
    assert!(!text.contains("203.0.113.9"), "{text}");
    let (_, trail) = app.get(&frank, "/api/v1/audit?limit=500").await;
    assert!(!trail.to_string().contains("203.0.113.9"));
    // alice and auditors do see it.
    let (_, own) = app.get(&alice, &path).await;
    assert!(own.to_string().contains("203.0.113.9"));
    let dave = app.login("dave").await;
    assert!(
        app.get(&dave, &path)
            .await
            .1
            .to_string()
            .contains("203.0.113.9")
    );

    // Once frank steps down, the request is none of his business.
    let identity = app.id_of(&frank, "identities", "billing-agent").await;
    let (status, _) = app
        .post(
            &frank,
            &format!("/api/v1/identities/{identity}/ownership/step-down"),
            json!({ "reason": "moving to another team" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get(&frank, &path).await.0, StatusCode::NOT_FOUND);
    let (_, trail) = app.get(&frank, "/api/v1/audit?limit=500").await;
    assert!(
        trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["target"] != format!("request {id}")),
        "{trail}"
    );
}
