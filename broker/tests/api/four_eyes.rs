//! Four eyes on changes that widen access: one admin proposes, a second approves; what
//! narrows applies at once; a single-admin installation says so and applies at once.

use crate::helpers::{Session, TestApp};
use axum::http::StatusCode;
use serde_json::{Value, json};

async fn resource(app: &TestApp, admin: &Session, name: &str) -> (String, Value) {
    let id = app.id_of(admin, "resources", name).await;
    let path = format!("/api/v1/resources/{id}");
    let (status, view) = app.get(admin, &path).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let body = json!({
        "name": view["name"],
        "description": view["description"],
        "privileges": view["privileges"],
        "policy": view["policy"],
        "connector": view["connector"],
    });
    (path, body)
}

/// The users as an admin lists them.
struct Users(Value);

impl Users {
    async fn read(app: &TestApp, admin: &Session) -> Users {
        Users(app.get(admin, "/api/v1/users").await.1)
    }

    fn get(&self, username: &str) -> Value {
        let found = self
            .0
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == username);
        found
            .unwrap_or_else(|| panic!("no user {username}"))
            .clone()
    }

    fn id(&self, username: &str) -> Value {
        self.get(username)["id"].clone()
    }
}

fn actions(events: &[(String, String)]) -> Vec<&str> {
    events.iter().map(|(_, action)| action.as_str()).collect()
}

#[tokio::test]
async fn widening_a_policy_waits_for_a_second_admin_and_narrowing_applies_at_once() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let grace = app.login("grace").await;
    let (path, before) = resource(&app, &dave, "prod-cluster").await;
    assert_eq!(before["policy"]["approvals_required"], 2);

    // One approval instead of two, and a longer maximum: a proposal, nothing changes.
    let mut wider = before.clone();
    wider["policy"]["approvals_required"] = json!(1);
    wider["policy"]["max_duration_secs"] = json!(4 * 3600);
    let (status, proposal) = app.put(&dave, &path, wider).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{proposal}");
    assert_eq!(proposal["state"], "pending");
    assert_eq!(proposal["proposed_by"]["name"], "dave");
    let fields: Vec<&str> = proposal["widenings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "policy.approvals_required",
            "policy.max_duration_secs",
            "policy.max_total_secs"
        ]
    );
    let (_, unchanged) = resource(&app, &dave, "prod-cluster").await;
    assert_eq!(unchanged, before, "a proposal changes nothing");
    let id = proposal["id"].as_i64().unwrap();

    // The proposer's own approval is refused; grace sees it waiting and approves.
    let approve = format!("/api/v1/proposals/{id}/approve");
    assert_refused(
        app.post(&dave, &approve, json!({})).await,
        StatusCode::FORBIDDEN,
        "second admin",
    );
    let (_, me) = app.get(&grace, "/api/v1/me").await;
    assert_eq!(me["proposals_waiting"], 1);
    assert_eq!(me["single_admin"], false);
    let (_, me) = app.get(&dave, "/api/v1/me").await;
    assert_eq!(me["proposals_waiting"], 0, "nobody waits on their own");
    let (status, approved) = app.post(&grace, &approve, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["state"], "approved");
    assert_eq!(approved["decided_by"]["name"], "grace");
    let (_, after) = resource(&app, &dave, "prod-cluster").await;
    assert_eq!(after["policy"]["approvals_required"], 1);
    assert_eq!(after["policy"]["max_duration_secs"], 4 * 3600);
    let (status, again) = app.post(&grace, &approve, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once: {again}");

    // Narrowing (two approvals again, the old maximum) applies at once.
    let mut narrower = after.clone();
    narrower["policy"]["approvals_required"] = json!(2);
    narrower["policy"]["max_duration_secs"] = json!(2 * 3600);
    let (status, saved) = app.put(&dave, &path, narrower).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["policy"]["approvals_required"], 2);

    let proposal_events = app.events_about(&format!("proposal {id}")).await;
    assert_eq!(
        proposal_events,
        [
            ("dave".to_string(), "proposal.filed".to_string()),
            ("grace".to_string(), "proposal.approved".to_string()),
        ]
    );
    let resource_id = path.rsplit('/').next().unwrap();
    let resource_events = app.events_about(&format!("resource {resource_id}")).await;
    assert_eq!(
        actions(&resource_events),
        ["resource.created", "resource.updated", "resource.updated"]
    );
    assert_eq!(resource_events[1].0, "grace", "the approver applied it");
}

#[tokio::test]
async fn a_proposal_applies_only_to_what_it_was_proposed_against() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let grace = app.login("grace").await;
    let (path, before) = resource(&app, &dave, "payments-db").await;
    let mut wider = before.clone();
    wider["privileges"]
        .as_array_mut()
        .unwrap()
        .push(json!("superuser"));
    let (status, proposal) = app.put(&dave, &path, wider).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{proposal}");
    let id = proposal["id"].as_i64().unwrap();

    // Meanwhile grace edits the same resource: the proposal no longer describes a change
    // to what is there, so approving it is refused and it stays pending.
    let mut edited = before.clone();
    edited["description"] = json!("Payments PostgreSQL cluster (EU)");
    let (status, saved) = app.put(&grace, &path, edited).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, stale) = app
        .post(
            &grace,
            &format!("/api/v1/proposals/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    assert!(
        stale["error"]["message"]
            .as_str()
            .unwrap()
            .contains("changed since")
    );
    let (_, after) = resource(&app, &dave, "payments-db").await;
    assert_eq!(after["privileges"], before["privileges"]);

    // A rejection needs a reason; the proposer's own turning down is a withdrawal.
    let reject = format!("/api/v1/proposals/{id}/reject");
    let (status, error) = app.post(&grace, &reject, json!({ "reason": "" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "reason");
    let (status, withdrawn) = app
        .post(
            &dave,
            &reject,
            json!({ "reason": "grace changed it first" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{withdrawn}");
    assert_eq!(withdrawn["state"], "withdrawn");
    assert_eq!(withdrawn["reason"], "grace changed it first");
    let (_, pending) = app.get(&grace, "/api/v1/proposals?state=pending").await;
    assert_eq!(pending, json!([]));
    let (status, error) = app.get(&grace, "/api/v1/proposals?state=maybe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["field"], "state");
}

#[tokio::test]
async fn granting_a_role_is_a_proposal_the_subject_cannot_approve() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let grace = app.login("grace").await;
    let users = Users::read(&app, &dave).await;
    let user = |name: &str| users.get(name);
    let alice = user("alice");
    let path = format!("/api/v1/users/{}", alice["id"]);
    let (status, proposal) = app
        .put(
            &dave,
            &path,
            json!({ "display_name": alice["display_name"], "roles": ["requester", "approver"],
                    "disabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{proposal}");
    assert_eq!(proposal["change"]["kind"], "user_update");
    assert_eq!(
        proposal["widenings"][0]["description"],
        "grants the approver role"
    );
    let alice_now = Users::read(&app, &dave).await.get("alice");
    assert_eq!(
        alice_now["roles"],
        json!(["requester"]),
        "nothing changes while it waits"
    );

    // Dave, made approver through grace's proposal, cannot approve a change about himself
    // (ivan, a third admin, could).
    app.seed_user("ivan", &[stint_core::Role::Admin], &[]).await;
    let dave_id = user("dave")["id"].clone();
    let (status, about_dave) = app
        .put(
            &grace,
            &format!("/api/v1/users/{dave_id}"),
            json!({ "display_name": "Dave Lindqvist", "roles": ["approver", "admin", "auditor"],
                    "disabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{about_dave}");
    assert_refused(
        app.post(
            &dave,
            &format!("/api/v1/proposals/{}/approve", about_dave["id"]),
            json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "about you",
    );

    // Removing a role narrows: at once.
    let (status, saved) = app
        .put(
            &dave,
            &format!("/api/v1/users/{}", user("bob")["id"]),
            json!({ "display_name": "Bob Okafor", "roles": [], "disabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");

    // A new account with a role beyond asking waits too, and appears once approved.
    let (status, new_user) = app
        .post(
            &dave,
            "/api/v1/users",
            json!({ "username": "heidi", "display_name": "Heidi", "password": "a long first password",
                    "roles": ["auditor"] }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{new_user}");
    assert!(
        !new_user.to_string().contains("a long first password"),
        "the password is never shown"
    );
    let (status, _, _) = app.login_raw("heidi", "a long first password", None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no account before approval"
    );
    let (status, approved) = app
        .post(
            &grace,
            &format!("/api/v1/proposals/{}/approve", new_user["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    let (status, _, _) = app.login_raw("heidi", "a long first password", None).await;
    assert_eq!(status, StatusCode::OK, "the account exists once approved");
}

#[tokio::test]
async fn a_single_admin_installation_applies_widening_at_once_and_says_so() {
    let app = TestApp::with_config(|c| c.single_admin = true).await;
    let dave = app.login("dave").await;
    let (path, before) = resource(&app, &dave, "payments-db").await;
    let mut wider = before.clone();
    wider["policy"]["max_duration_secs"] = json!(8 * 3600);
    let (status, saved) = app.put(&dave, &path, wider).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["policy"]["max_duration_secs"], 8 * 3600);
    let (_, me) = app.get(&dave, "/api/v1/me").await;
    assert_eq!(me["single_admin"], true);
    let (_, page) = app.get(&dave, "/api/v1/audit?limit=5").await;
    let updated = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "resource.updated")
        .unwrap();
    assert_eq!(
        updated["details"]["four_eyes"]["waived"],
        "single-admin installation"
    );
}

#[tokio::test]
async fn without_a_second_admin_a_widening_change_is_refused_naming_the_way_out() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let grace = app.login("grace").await;
    let grace_id = Users::read(&app, &dave).await.id("grace");
    // Disabling narrows: at once. Dave is then the only admin.
    let (status, _) = app
        .put(
            &dave,
            &format!("/api/v1/users/{grace_id}"),
            json!({ "display_name": "Grace Moreau", "roles": ["admin"], "disabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get(&grace, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "her sessions ended");
    let (path, before) = resource(&app, &dave, "payments-db").await;
    let mut wider = before.clone();
    wider["policy"]["max_duration_secs"] = json!(8 * 3600);
    assert_refused(
        app.put(&dave, &path, wider).await,
        StatusCode::CONFLICT,
        "--single-admin",
    );
    let (_, proposals) = app.get(&dave, "/api/v1/proposals").await;
    assert_eq!(proposals, json!([]), "nothing filed");
}

#[tokio::test]
async fn no_admin_takes_over_another_nor_ties_disabling_to_a_widening() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let users = Users::read(&app, &dave).await;
    let id_of = |name: &str| users.id(name);
    // Setting grace's password would let dave approve his own proposals as her.
    assert_refused(
        app.post(
            &dave,
            &format!("/api/v1/users/{}/password", id_of("grace")),
            json!({ "new_password": "a temporary passphrase" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "--single-admin",
    );
    let (status, _) = app
        .post(
            &dave,
            &format!("/api/v1/users/{}/password", id_of("alice")),
            json!({ "new_password": "a temporary passphrase" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "a non-admin's reset is as before"
    );

    // Disabling never waits, so it is not tied to a role that would.
    let (status, refused) = app
        .put(
            &dave,
            &format!("/api/v1/users/{}", id_of("bob")),
            json!({ "display_name": "Bob Okafor", "roles": ["approver", "admin"], "disabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "roles");

    // A proposal whose proposer is no longer an admin is not applied.
    let grace = app.login("grace").await;
    let (path, before) = resource(&app, &grace, "prod-cluster").await;
    let mut wider = before.clone();
    wider["policy"]["approvals_required"] = json!(1);
    let (status, proposal) = app.put(&grace, &path, wider).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{proposal}");
    let (status, _) = app
        .put(
            &dave,
            &format!("/api/v1/users/{}", id_of("grace")),
            json!({ "display_name": "Grace Moreau", "roles": [], "disabled": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "taking a role away narrows");
    let (status, stale) = app
        .post(
            &dave,
            &format!("/api/v1/proposals/{}/approve", proposal["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    let (_, after) = resource(&app, &dave, "prod-cluster").await;
    assert_eq!(after["policy"]["approvals_required"], 2);
}

#[tokio::test]
async fn nobody_makes_an_admin_of_an_account_whose_password_they_set() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let grace = app.login("grace").await;
    let users = Users::read(&app, &dave).await;
    let id_of = |name: &str| users.id(name);
    let (alice, carol) = (id_of("alice"), id_of("carol"));
    let admin_body = |name: &str, roles: Value| json!({ "display_name": name, "roles": roles, "disabled": false });

    // A change about the only other admin could never be approved: refused at once.
    let (status, refused) = app
        .put(
            &dave,
            &format!("/api/v1/users/{}", id_of("grace")),
            admin_body("Grace Moreau", json!(["admin", "auditor"])),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");

    // While a proposal would make alice an admin, nobody resets her password.
    let (status, proposal) = app
        .put(
            &dave,
            &format!("/api/v1/users/{alice}"),
            admin_body("Alice Martin", json!(["requester", "admin"])),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{proposal}");
    let (status, refused) = app
        .post(
            &grace,
            &format!("/api/v1/users/{alice}/password"),
            json!({ "new_password": "a temporary passphrase" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    // Grace reset carol's password: dave's proposal to make carol an admin says so, and
    // grace may not approve it.
    let (status, _) = app
        .post(
            &grace,
            &format!("/api/v1/users/{carol}/password"),
            json!({ "new_password": "a temporary passphrase" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, proposal) = app
        .put(
            &dave,
            &format!("/api/v1/users/{carol}"),
            admin_body("Carol Jensen", json!(["reviewer", "admin"])),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{proposal}");
    assert_refused(
        app.post(
            &grace,
            &format!("/api/v1/proposals/{}/approve", proposal["id"]),
            json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "you set carol's password",
    );

    // A resource renamed to a name taken is refused when proposed, not when approved.
    let (path, mut body) = resource(&app, &dave, "payments-db").await;
    body["name"] = json!("prod-cluster");
    let (status, error) = app.put(&dave, &path, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "name");
}

/// Asserts a call was refused with `status`, for a reason whose message says `because`.
fn assert_refused((status, body): (StatusCode, Value), expected: StatusCode, because: &str) {
    assert_eq!(status, expected, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(because), "{message}");
}
