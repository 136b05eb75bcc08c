//! Access review campaigns: each item goes to whoever must answer for it, people see only
//! their own, decisions apply (a revoke revokes, with its event), a closed campaign is final.

use crate::helpers::{Session, TestApp};
use crate::standing::GITLEAKS;
use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};

/// Alice's live grant on ci-deployer and a scanner's finding mapped to ci-deployer: the
/// demo's access plus two things a review must cover. The grant's id.
async fn scene(app: &TestApp) -> i64 {
    let alice = app.login("alice").await;
    let dave = app.login("dave").await;
    let grant = app.active_grant(&alice, 3600).await;
    let (status, body) = app.import(&dave, "source=acme/payments", GITLEAKS).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let aws = app
        .standing(&dave)
        .await
        .into_iter()
        .find(|f| f["location"] == "deploy/payments.env:1")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let map = json!({
        "action": "map",
        "identity_id": app.id_of(&alice, "identities", "ci-deployer").await,
        "resource_id": app.id_of(&alice, "resources", "payments-db").await,
        "privilege": "read",
    });
    let (status, body) = app
        .post(&alice, &format!("/api/v1/standing/{aws}/triage"), map)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    grant
}

async fn start(app: &TestApp, session: &Session) -> Value {
    let body = json!({ "name": "Q4 access review", "due_at": app.now() + Duration::days(14) });
    let (status, campaign) = app.post(session, "/api/v1/campaigns", body).await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    campaign
}

/// (kind, subject, assignee's name or "admins") of the items `session` sees.
async fn items(app: &TestApp, session: &Session, id: i64) -> Vec<(String, String, String)> {
    let (status, campaign) = app.get(session, &format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{campaign}");
    campaign["item_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let who = match i["assignee"]["kind"].as_str().unwrap() {
                "admins" => "admins".to_string(),
                _ => i["assignee"]["user"]["name"].as_str().unwrap().to_string(),
            };
            let s = |k: &str| i[k].as_str().unwrap().to_string();
            (s("kind"), s("subject"), who)
        })
        .collect()
}

fn item_id(campaign: &Value, kind: &str, assignee: &str) -> i64 {
    campaign["item_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            let who = match i["assignee"]["kind"].as_str() {
                Some("admins") => "admins",
                _ => i["assignee"]["user"]["name"].as_str().unwrap_or_default(),
            };
            i["kind"] == kind && who == assignee
        })
        .unwrap_or_else(|| panic!("no {kind} item for {assignee}: {campaign}"))["id"]
        .as_i64()
        .unwrap()
}

async fn decide(
    app: &TestApp,
    s: &Session,
    campaign: i64,
    item: i64,
    body: Value,
) -> (StatusCode, Value) {
    app.post(
        s,
        &format!("/api/v1/campaigns/{campaign}/items/{item}/decide"),
        body,
    )
    .await
}

#[tokio::test]
async fn each_item_goes_to_who_must_answer_for_it_and_people_see_only_their_own() {
    let app = TestApp::new().await;
    scene(&app).await;
    let dave = app.login("dave").await;
    let campaign = start(&app, &dave).await;
    let id = campaign["id"].as_i64().unwrap();

    // The demo: two resources whose approvers are a role, ci-deployer owned by alice,
    // billing-agent by alice and erin, report-cron by nobody; and the scene's grant (held
    // by alice) and finding on ci-deployer, whose only owner is alice.
    let t = |k: &str, s: &str, w: &str| (k.to_string(), s.to_string(), w.to_string());
    let mut expected = vec![
        t("policy", "payments-db", "admins"),
        t("policy", "prod-cluster", "admins"),
        t("ownership", "alice answers for billing-agent", "alice"),
        t("ownership", "erin answers for billing-agent", "erin"),
        t("ownership", "alice answers for ci-deployer", "alice"),
        t("orphan", "report-cron", "admins"),
        // Alice holds it and nobody else owns ci-deployer: not hers to certify.
        t("grant", "ci-deployer on payments-db (read)", "admins"),
        t(
            "standing",
            "ci-deployer reaches payments-db outside JIT",
            "alice",
        ),
    ];
    let mut all = items(&app, &dave, id).await;
    all.sort();
    expected.sort();
    assert_eq!(all, expected);
    assert_eq!(campaign["items"], 8);
    assert_eq!(campaign["decided"], 0);

    let alice = app.login("alice").await;
    let mine = items(&app, &alice, id).await;
    assert_eq!(mine.len(), 3, "{mine:?}");
    assert!(mine.iter().all(|(_, _, who)| who == "alice"));
    let (_, listed) = app.get(&alice, "/api/v1/campaigns").await;
    assert_eq!(listed[0]["mine_open"], 3);
    let (_, me) = app.get(&alice, "/api/v1/me").await;
    assert_eq!(me["campaign_items_waiting"], 3, "the navigation's count");
    let erin = app.login("erin").await;
    assert_eq!(items(&app, &erin, id).await.len(), 1);

    // Bob has nothing to answer: the campaign is not his to see.
    let bob = app.login("bob").await;
    let (status, _) = app.get(&bob, &format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&bob, "/api/v1/campaigns").await.1, json!([]));
    // Only admins and auditors start one.
    let body = json!({ "name": "mine", "due_at": app.now() + Duration::days(1) });
    assert_eq!(
        app.post(&alice, "/api/v1/campaigns", body).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn decisions_apply_with_their_events_and_a_closed_campaign_is_final() {
    let app = TestApp::new().await;
    let grant = scene(&app).await;
    let dave = app.login("dave").await;
    let campaign = start(&app, &dave).await;
    let id = campaign["id"].as_i64().unwrap();
    let alice = app.login("alice").await;

    // Revoking the grant (alice holds it, so the admins answer) revokes it, in the same
    // step, with its own event.
    let item = item_id(&campaign, "grant", "admins");
    let revoke = json!({ "decision": "revoke", "comment": "the migration finished yesterday" });
    assert_eq!(
        decide(&app, &alice, id, item, revoke.clone()).await.0,
        StatusCode::NOT_FOUND,
        "not alice's to answer"
    );
    let (status, after) = decide(&app, &dave, id, item, revoke.clone()).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["decided"], 1);
    let (_, g) = app.get(&alice, &format!("/api/v1/grants/{grant}")).await;
    assert_eq!(g["state"], "revoked");
    assert!(
        g["revoke_reason"]
            .as_str()
            .unwrap()
            .contains("Q4 access review"),
        "{g}"
    );
    let events = app.events_about(&format!("campaign {id}")).await;
    assert_eq!(
        events.last().unwrap(),
        &("dave".to_string(), "campaign.item_decided".to_string())
    );
    let revoked = app.events_about(&format!("grant {grant}")).await;
    assert_eq!(
        revoked.last().unwrap(),
        &("dave".to_string(), "grant.revoked".to_string())
    );
    // Decided once.
    assert_eq!(
        decide(&app, &dave, id, item, revoke).await.0,
        StatusCode::CONFLICT
    );

    // Revoking the standing credential marks it rotated.
    let standing = item_id(&campaign, "standing", "alice");
    let rotated = json!({ "decision": "revoke", "comment": "rotated in the vault this morning" });
    assert_eq!(
        decide(&app, &alice, id, standing, rotated).await.0,
        StatusCode::OK
    );
    let finding = &app
        .standing(&dave)
        .await
        .into_iter()
        .find(|f| f["location"] == "deploy/payments.env:1")
        .unwrap();
    assert_eq!(finding["status"], "rotated");

    // A change names its link; a keep needs no words.
    let owns = item_id(&campaign, "ownership", "alice");
    let (status, error) = decide(
        &app,
        &alice,
        id,
        owns,
        json!({ "decision": "change", "comment": "split this identity in two" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "link");
    assert_eq!(
        decide(&app, &alice, id, owns, json!({ "decision": "keep" }))
            .await
            .0,
        StatusCode::OK
    );

    // Someone else's item is not hers to see, let alone decide.
    let erins = item_id(&campaign, "ownership", "erin");
    assert_eq!(
        decide(&app, &alice, id, erins, json!({ "decision": "keep" }))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // Closing: admins and auditors only; then nothing changes, by the API or in the table.
    assert_eq!(
        app.post(&alice, &format!("/api/v1/campaigns/{id}/close"), json!({}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, closed) = app
        .post(&dave, &format!("/api/v1/campaigns/{id}/close"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert!(closed["closed_at"].is_string());
    assert!(
        closed["item_list"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["can_decide"] == false)
    );
    let erin = app.login("erin").await;
    let (status, error) = decide(&app, &erin, id, erins, json!({ "decision": "keep" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(
        app.post(&dave, &format!("/api/v1/campaigns/{id}/close"), json!({}))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let pool = app.sql_pool().await;
    let rewrite = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE campaign_items SET decision = 'keep' WHERE id = {erins}"
    )))
    .execute(&pool)
    .await;
    assert!(
        rewrite.is_err(),
        "the database refuses to change a closed campaign"
    );
    pool.close().await;
    let closes = app.events_about(&format!("campaign {id}")).await;
    assert_eq!(
        closes.last().unwrap(),
        &("dave".to_string(), "campaign.closed".to_string())
    );
}

#[tokio::test]
async fn bad_campaigns_are_refused_naming_the_field() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let soon = app.now() + Duration::days(7);
    let cases = [
        (json!({ "name": "Q", "due_at": soon }), "name"),
        (
            json!({ "name": "Q4 review", "due_at": app.now() - Duration::hours(1) }),
            "due_at",
        ),
        (
            json!({ "name": "Q4 review", "due_at": app.now() + Duration::days(400) }),
            "due_at",
        ),
        (
            json!({ "name": "Q4 review", "due_at": soon, "scope": { "resource_ids": [999] } }),
            "scope.resource_ids",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = app.post(&dave, "/api/v1/campaigns", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}");
    }
    assert_eq!(app.count("campaigns").await, 0, "nothing written");
    // A scope of one resource reviews its policy and what reaches it: the live grant, and
    // the owners of the identity holding it; nothing of the other identities.
    let alice = app.login("alice").await;
    app.active_grant(&alice, 3600).await;
    let payments = app.id_of(&dave, "resources", "payments-db").await;
    let subjects = |scope: Value| {
        let body = json!({ "name": "scoped review", "due_at": soon, "scope": scope });
        let (app, dave) = (&app, &dave);
        async move {
            let (status, campaign) = app.post(dave, "/api/v1/campaigns", body).await;
            assert_eq!(status, StatusCode::CREATED, "{campaign}");
            campaign["item_list"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["subject"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        subjects(json!({ "resource_ids": [payments] })).await,
        [
            "payments-db",
            "alice answers for ci-deployer",
            "ci-deployer on payments-db (read)"
        ]
    );
    // A scope of a kind of identity reviews those identities and their access, not every
    // resource's policy.
    assert_eq!(
        subjects(json!({ "identity_kinds": ["ai_agent"] })).await,
        [
            "alice answers for billing-agent",
            "erin answers for billing-agent"
        ]
    );
}

#[tokio::test]
async fn a_disabled_owners_declaration_is_the_admins_to_end() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let (_, users) = app.get(&dave, "/api/v1/users").await;
    let erin = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "erin")
        .unwrap()["id"]
        .clone();
    let (status, saved) = app
        .put(
            &dave,
            &format!("/api/v1/users/{erin}"),
            json!({ "display_name": "Erin Kowalski", "roles": ["approver"], "disabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let campaign = start(&app, &dave).await;
    let id = campaign["id"].as_i64().unwrap();
    let item = campaign["item_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["subject"] == "erin answers for billing-agent")
        .unwrap();
    assert_eq!(item["assignee"]["kind"], "admins");
    let revoke = json!({ "decision": "revoke", "comment": "erin left the company last week" });
    let (status, body) = decide(&app, &dave, id, item["id"].as_i64().unwrap(), revoke).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let alice = app.login("alice").await;
    let billing = app.id_of(&alice, "identities", "billing-agent").await;
    let (_, identity) = app
        .get(&alice, &format!("/api/v1/identities/{billing}"))
        .await;
    let owners: Vec<&str> = identity["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["user"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        owners,
        ["alice"],
        "erin's declaration ended, not dave's or alice's"
    );
    let events = app.events_about(&format!("identity {billing}")).await;
    assert_eq!(
        events.last().unwrap(),
        &("dave".to_string(), "ownership.ended".to_string())
    );
}
