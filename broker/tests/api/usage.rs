//! Usage evidence: every introspection of a grant's live token by its resource's servers
//! and every credential its holder fetches is counted per grant (first and last use, count,
//! calling address) without keeping any token, and a grant's end records it.

use super::helpers::TestApp;
use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};

/// The grant as `username` sees it.
async fn grant_view_as(app: &TestApp, username: &str, id: i64) -> Value {
    let session = app.login(username).await;
    let (status, grant) = app.get(&session, &format!("/api/v1/grants/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{grant}");
    grant
}

async fn grant_view(app: &TestApp, id: i64) -> Value {
    grant_view_as(app, "alice", id).await
}

#[tokio::test]
async fn introspections_and_fetches_are_counted_per_grant() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let used = app.active_grant(&alice, 3600).await;
    let unused = app.active_grant(&alice, 3600).await;
    let fetched_at = app.now();
    let (status, credential) = app.credential(&alice, used).await;
    assert_eq!(status, StatusCode::OK, "{credential}");
    let token = credential["token"].as_str().unwrap().to_string();
    let payments = app.introspection_secret("payments-db").await;
    let cluster = app.introspection_secret("prod-cluster").await;

    for _ in 0..2 {
        app.advance(Duration::minutes(1));
        let answer = app
            .introspect_as_resource(&payments, &token, "10.1.2.3")
            .await;
        assert_eq!(answer["active"], true);
    }
    app.broker.flush_usage().await.unwrap();
    // Counts written by one flush and the next add up, as two replicas' do.
    app.advance(Duration::minutes(1));
    let last_at = app.now();
    app.introspect_as_resource(&payments, &token, "10.9.9.9")
        .await;
    // Not uses: another resource's server (to which the token is inactive), and a person
    // looking at the token from the portal.
    let other = app
        .introspect_as_resource(&cluster, &token, "10.7.7.7")
        .await;
    assert_eq!(other["active"], false);
    app.introspect(&token).await;
    app.broker.flush_usage().await.unwrap();

    let usage = &grant_view(&app, used).await["usage"];
    assert_eq!(usage["introspections"], 3, "{usage}");
    assert_eq!(usage["credential_fetches"], 1);
    assert_eq!(usage["first_used_at"], json!(fetched_at));
    assert_eq!(usage["last_used_at"], json!(last_at));
    // Where it was used from is for those who oversee, as the trail's addresses are.
    assert_eq!(usage.get("last_address"), None);
    let seen_by_dave = &grant_view_as(&app, "dave", used).await["usage"];
    assert_eq!(seen_by_dave["last_address"], "10.9.9.9");
    assert_eq!(grant_view(&app, unused).await["usage"], Value::Null);

    // Its end records how it was used; an unused grant's end says it never was.
    let bob = app.login("bob").await;
    for id in [used, unused] {
        let (status, body) = app
            .post(
                &bob,
                &format!("/api/v1/grants/{id}/revoke"),
                json!({ "reason": "task done" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let dave = app.login("dave").await;
    let (_, trail) = app.get(&dave, "/api/v1/audit?limit=50").await;
    let ended = |id: i64| {
        trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "grant.revoked" && e["target"] == format!("grant {id}"))
            .unwrap_or_else(|| panic!("no revocation of grant {id} in {trail}"))
            .clone()
    };
    assert_eq!(ended(used)["details"]["usage"]["introspections"], 3);
    // A chained event can never be redacted: no address in it.
    assert_eq!(ended(used)["details"]["usage"].get("last_address"), None);
    assert_eq!(ended(unused)["details"]["usage"], Value::Null);

    // The identity's signals: of its two ended grants one was never used, the other,
    // checked by its servers, used to its end (its last check came as it was revoked).
    let identity = grant_view(&app, used).await["identity"]["id"]
        .as_i64()
        .unwrap();
    let (_, detail) = app
        .get(&alice, &format!("/api/v1/identities/{identity}"))
        .await;
    assert_eq!(
        detail["usage"],
        json!({
            "days": 90,
            "ended_grants": 2,
            "never_used": 1,
            "watched": 1,
            "median_used_share": 1.0,
            "extended": 0,
            "always_extended": false
        })
    );
    // The resource's page says the same to those who see all access, and nothing to its
    // requesters.
    let payments_db = app.id_of(&alice, "resources", "payments-db").await;
    let path = format!("/api/v1/resources/{payments_db}");
    let (_, resource) = app.get(&app.login("dave").await, &path).await;
    assert_eq!(resource["usage"]["ended_grants"], 2, "{resource}");
    assert_eq!(resource["usage"]["never_used"], 1);
    let (_, resource) = app.get(&alice, &path).await;
    assert_eq!(resource.get("usage"), None, "{resource}");

    // A token of an ended grant is inactive, and checking it is no use of the grant.
    let answer = app
        .introspect_as_resource(&payments, &token, "10.1.2.3")
        .await;
    assert_eq!(answer["active"], false);
    assert_eq!(app.broker.flush_usage().await.unwrap(), 0);
    let (status, _) = app
        .call(
            Some(&alice),
            Method::GET,
            &format!("/api/v1/grants/{used}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn one_flush_adds_each_grants_own_counts() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let mut grants = Vec::new();
    for _ in 0..3 {
        grants.push(app.active_grant(&alice, 3600).await);
    }
    let fetch = |grant: i64, times: usize| {
        let (app, alice) = (&app, &alice);
        async move {
            for _ in 0..times {
                let (status, body) = app.credential(alice, grant).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        }
    };
    // Three grants' tallies written together (one statement on both backends).
    for (n, &grant) in grants.iter().enumerate() {
        fetch(grant, n + 1).await;
    }
    assert_eq!(app.broker.flush_usage().await.unwrap(), 3);
    // The next flush adds to what the first wrote, for the grants it names only.
    fetch(grants[0], 4).await;
    assert_eq!(app.broker.flush_usage().await.unwrap(), 1);

    let mut fetched = Vec::new();
    for &grant in &grants {
        fetched.push(grant_view(&app, grant).await["usage"]["credential_fetches"].clone());
    }
    assert_eq!(fetched, [json!(5), json!(2), json!(3)]);
}
