//! Non-human identities speaking for themselves with API tokens: minted once and stored as
//! hashes, good only while live and owned, and allowed only what an identity may do for
//! itself.

use crate::helpers::*;
use axum::http::{Method, StatusCode, header};
use chrono::Duration;
use serde_json::{Value, json};

/// Mints a token for `identity` as `session`; the response.
async fn mint(
    app: &TestApp,
    session: &Session,
    identity: &str,
    body: Value,
) -> (StatusCode, Value) {
    let id = app.id_of(session, "identities", identity).await;
    app.post(session, &format!("/api/v1/identities/{id}/tokens"), body)
        .await
}

/// A token alice mints for ci-deployer, which she owns.
async fn ci_token(app: &TestApp) -> String {
    let alice = app.login("alice").await;
    let (status, issued) = mint(
        app,
        &alice,
        "ci-deployer",
        json!({ "name": "github-actions", "expires_in_secs": 30 * 86_400 }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    issued["token"].as_str().unwrap().to_string()
}

/// ci-deployer files for itself with `token`; the request's id.
async fn file_as_identity(app: &TestApp, token: &str) -> i64 {
    let alice = app.login("alice").await;
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 900)
        .await;
    let (status, _, created) = app
        .bearer(token, Method::POST, "/api/v1/requests", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_i64().unwrap()
}

/// How the broker answers `token` when it lists its grants: whether the token lets it in.
async fn answer_to(app: &TestApp, token: &str) -> StatusCode {
    app.bearer(token, Method::GET, "/api/v1/grants", None)
        .await
        .0
}

#[tokio::test]
async fn a_token_is_shown_once_and_only_its_hash_is_stored() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let (status, issued) = mint(
        &app,
        &alice,
        "ci-deployer",
        json!({ "name": "github-actions", "expires_in_secs": 3600 }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let token = issued["token"].as_str().unwrap();
    assert!(token.starts_with("stint_") && token.len() > 40, "{token}");
    let expires_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(issued["expires_at"].clone()).unwrap();
    assert_eq!(expires_at, app.now() + Duration::hours(1));

    let id = app.id_of(&alice, "identities", "ci-deployer").await;
    let (status, list) = app
        .get(&alice, &format!("/api/v1/identities/{id}/tokens"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list[0]["name"], "github-actions");
    assert_eq!(list[0]["created_by"]["name"], "Alice Martin");
    assert_eq!(list[0]["last_used_at"], Value::Null);
    assert!(!list.to_string().contains(token), "never listed: {list}");

    let pool = app.sql_pool().await;
    let (stored,): (String,) = sqlx::query_as("SELECT token_hash FROM identity_tokens")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, stint_broker::credential::token_hash(token));
    pool.close().await;
    if !on_postgres() {
        let bytes = app.database_bytes();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the raw token is nowhere in the database's files"
        );
    }

    // Used, it says when.
    let (status, _, _) = app
        .bearer(token, Method::GET, "/api/v1/requests", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = app
        .get(&alice, &format!("/api/v1/identities/{id}/tokens"))
        .await;
    assert!(list[0]["last_used_at"].is_string(), "{list}");
}

#[tokio::test]
async fn who_may_mint_see_and_revoke_tokens_and_for_how_long() {
    let app = TestApp::new().await;
    let (alice, bob, dave) = (
        app.login("alice").await,
        app.login("bob").await,
        app.login("dave").await,
    );
    let body = |secs: i64| json!({ "name": "deploys", "expires_in_secs": secs });
    // More than 90 days, or nothing at all, is refused naming the field; nothing is minted.
    let (status, error) = mint(&app, &alice, "ci-deployer", body(90 * 86_400 + 1)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "expires_in_secs");
    let (status, error) = mint(&app, &alice, "ci-deployer", json!({ "name": "x1" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "expires_in_secs");
    // An approver who does not own it may not; an admin may.
    let (status, _) = mint(&app, &bob, "ci-deployer", body(3600)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("identity_tokens").await, 0);
    let (status, issued) = mint(&app, &dave, "ci-deployer", body(90 * 86_400)).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");

    let id = app.id_of(&alice, "identities", "ci-deployer").await;
    let list = format!("/api/v1/identities/{id}/tokens");
    assert_eq!(app.get(&bob, &list).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&dave, &list).await.0, StatusCode::OK);
    let revoke = format!("{list}/{}", issued["id"]);
    assert_eq!(
        app.call(Some(&bob), Method::DELETE, &revoke, None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call(Some(&alice), Method::DELETE, &revoke, None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    // Once revoked there is nothing left to revoke.
    assert_eq!(
        app.call(Some(&alice), Method::DELETE, &revoke, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, tokens) = app.get(&alice, &list).await;
    assert_eq!(tokens[0]["revoked_by"]["name"], "Alice Martin");
    let events = app.events_about(&format!("identity {id}")).await;
    let actions: Vec<&str> = events.iter().map(|(_, a)| a.as_str()).collect();
    assert!(actions.ends_with(&["identity.token_minted", "identity.token_revoked"]));
}

#[tokio::test]
async fn an_identity_files_for_itself_fetches_its_credential_and_releases_the_grant() {
    let app = TestApp::new().await;
    let token = ci_token(&app).await;
    let request = file_as_identity(&app, &token).await;
    let (alice, bob) = (app.login("alice").await, app.login("bob").await);

    // Filed by the identity, its owner answers for it, so she may not approve it.
    let (_, detail) = app
        .get(&alice, &format!("/api/v1/requests/{request}"))
        .await;
    assert_eq!(detail["requester"]["name"], "identity:ci-deployer");
    let filed = &detail["timeline"][0];
    assert_eq!(filed["action"], "request.filed");
    assert_eq!(filed["details"]["via"], "token github-actions");
    let approve = format!("/api/v1/requests/{request}/approve");
    assert_eq!(
        app.post(&alice, &approve, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, detail) = app.post(&bob, &approve, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let grant = detail["grant"]["id"].as_i64().unwrap();

    // It reads its own requests and grants, and fetches the credential.
    let (status, _, mine) = app
        .bearer(&token, Method::GET, "/api/v1/grants?mine=true", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine[0]["id"], grant);
    let credential = format!("/api/v1/grants/{grant}/credential");
    let (status, _, issued) = app.bearer(&token, Method::POST, &credential, None).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let jwt = issued["token"].as_str().unwrap().to_string();
    assert_eq!(app.introspect(&jwt).await["active"], true);
    // Its owner did not request it, so she gets no credential for it.
    assert_eq!(app.credential(&alice, grant).await.0, StatusCode::FORBIDDEN);

    // Four minutes into fifteen, the task is done: the identity releases the grant.
    app.advance(Duration::minutes(4));
    let release = format!("/api/v1/grants/{grant}/release");
    let (status, _, error) = app
        .bearer(
            &token,
            Method::POST,
            &release,
            Some(json!({ "outcome": "finished" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "outcome");
    let (status, _, ended) = app
        .bearer(
            &token,
            Method::POST,
            &release,
            Some(json!({ "outcome": "completed", "note": "migrated 3 tables" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["state"], "revoked");
    assert!(
        ended["revoke_reason"]
            .as_str()
            .unwrap()
            .contains("completed"),
        "{ended}"
    );
    assert_eq!(app.introspect(&jwt).await["active"], false);
    let (status, _, _) = app
        .bearer(
            &token,
            Method::POST,
            &release,
            Some(json!({ "outcome": "failed" })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "released once");

    let dave = app.login("dave").await;
    let (_, page) = app.get(&dave, "/api/v1/audit?action=grant.released").await;
    let event = &page["items"][0];
    assert_eq!(event["actor"], "identity:ci-deployer");
    assert_eq!(event["details"]["outcome"], "completed");
    assert_eq!(event["details"]["used_secs"], 240);
    assert_eq!(event["details"]["granted_secs"], 900);
}

#[tokio::test]
async fn a_pending_request_is_cancelled_by_the_identity_that_filed_it() {
    let app = TestApp::new().await;
    let token = ci_token(&app).await;
    let request = file_as_identity(&app, &token).await;
    let (status, _, cancelled) = app
        .bearer(
            &token,
            Method::POST,
            &format!("/api/v1/requests/{request}/cancel"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled");
}

#[tokio::test]
async fn an_identity_token_may_not_decide_administer_or_act_for_another_identity() {
    let app = TestApp::new().await;
    let token = ci_token(&app).await;
    let alice = app.login("alice").await;
    // Someone else's request and grant: alice's own, for billing-agent.
    let other = app.active_grant(&alice, 600).await;
    let pending = app
        .file(&alice, "billing-agent", "payments-db", "read", 600)
        .await;

    let forbidden = [
        (
            Method::POST,
            format!("/api/v1/requests/{pending}/approve"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/requests/{pending}/deny"),
            Some(json!({ "comment": "no" })),
        ),
        (Method::GET, "/api/v1/reviews".to_string(), None),
        (Method::GET, "/api/v1/users".to_string(), None),
        (Method::GET, "/api/v1/audit".to_string(), None),
        (Method::GET, "/api/v1/identities".to_string(), None),
        (
            Method::PUT,
            "/api/v1/me/password".to_string(),
            Some(json!({ "current_password": "x", "new_password": "y" })),
        ),
        (
            Method::POST,
            format!("/api/v1/grants/{other}/revoke"),
            Some(json!({ "reason": "mine now" })),
        ),
        (
            Method::POST,
            "/api/v1/break-glass".to_string(),
            Some(json!({})),
        ),
    ];
    for (method, path, body) in &forbidden {
        let (status, _, error) = app.bearer(&token, method.clone(), path, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {error}");
    }
    // Filing for another identity is refused as such.
    let body = app
        .request_body(&alice, "billing-agent", "payments-db", "read", 600)
        .await;
    let (status, _, error) = app
        .bearer(&token, Method::POST, "/api/v1/requests", Some(body))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("itself")
    );
    // Other identities' grants and requests do not exist for it.
    for path in [
        format!("/api/v1/grants/{other}"),
        format!("/api/v1/requests/{pending}"),
    ] {
        let (status, _, _) = app.bearer(&token, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _, error) = app
        .bearer(
            &token,
            Method::POST,
            &format!("/api/v1/grants/{other}/credential"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let (_, _, listed) = app
        .bearer(&token, Method::GET, "/api/v1/requests", None)
        .await;
    assert_eq!(listed["items"], json!([]), "only its own requests");

    // It may learn who it is and what it may ask for.
    let (status, _, me) = app.bearer(&token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let ci = app.id_of(&alice, "identities", "ci-deployer").await;
    assert_eq!(me["user"]["identity_id"], ci);
    assert_eq!(me["user"]["roles"], json!([]));
    let (status, _, resources) = app
        .bearer(&token, Method::GET, "/api/v1/resources", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{resources}");

    // Every refusal is on the trail, as the identity's.
    let dave = app.login("dave").await;
    let (_, page) = app
        .get(&dave, "/api/v1/audit?action=authz.refused&limit=100")
        .await;
    let refusals = page["items"].as_array().unwrap();
    assert_eq!(refusals.len(), forbidden.len() + 1, "{page}");
    assert!(
        refusals
            .iter()
            .all(|e| e["actor"] == "identity:ci-deployer")
    );
}

#[tokio::test]
async fn expired_revoked_and_orphaned_identities_tokens_are_refused() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let unknown = "stint_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (status, headers, error) = app
        .bearer(unknown, Method::GET, "/api/v1/requests", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    assert!(
        headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // A token is refused for people's calls too, when it is no good: 401, not 403.
    assert_eq!(
        app.bearer(unknown, Method::GET, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Expired.
    let (_, issued) = mint(
        &app,
        &alice,
        "ci-deployer",
        json!({ "name": "short", "expires_in_secs": 60 }),
    )
    .await;
    let short = issued["token"].as_str().unwrap().to_string();
    assert_eq!(answer_to(&app, &short).await, StatusCode::OK);
    app.advance(Duration::seconds(60));
    assert_eq!(answer_to(&app, &short).await, StatusCode::UNAUTHORIZED);

    // Revoked: refused at once.
    let token = ci_token(&app).await;
    let id = app.id_of(&alice, "identities", "ci-deployer").await;
    let (_, tokens) = app
        .get(&alice, &format!("/api/v1/identities/{id}/tokens"))
        .await;
    let live = tokens[0]["id"].as_i64().unwrap();
    app.call(
        Some(&alice),
        Method::DELETE,
        &format!("/api/v1/identities/{id}/tokens/{live}"),
        None,
    )
    .await;
    assert_eq!(answer_to(&app, &token).await, StatusCode::UNAUTHORIZED);

    // Orphaned: once nobody answers for the identity its tokens stop working, until
    // someone declares for it again. Alice's seeded declaration lapses after 90 days.
    app.advance(Duration::days(91));
    let declare = |alice: Session, days: i64| {
        let app = &app;
        async move {
            let body = json!({
                "statement": "I run the deploy pipeline and answer for what it touches.",
                "attest_until": app.now() + Duration::days(days),
            });
            let (status, detail) = app
                .post(&alice, &format!("/api/v1/identities/{id}/ownership"), body)
                .await;
            assert_eq!(status, StatusCode::OK, "{detail}");
        }
    };
    declare(app.login("alice").await, 10).await;
    let token = ci_token(&app).await;
    assert_eq!(answer_to(&app, &token).await, StatusCode::OK);
    app.advance(Duration::days(11));
    let (status, _, error) = app
        .bearer(&token, Method::GET, "/api/v1/grants", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "orphaned: {error}");
    declare(app.login("alice").await, 10).await;
    assert_eq!(
        answer_to(&app, &token).await,
        StatusCode::OK,
        "owned again, its token works again"
    );
}

#[tokio::test]
async fn a_cookie_call_still_needs_the_csrf_header_a_bearer_call_does_not() {
    let app = TestApp::new().await;
    let token = ci_token(&app).await;
    let alice = app.login("alice").await;
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/requests")
        .header(header::COOKIE, &alice.cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF header, cookie only");
    let (status, _, _) = app
        .bearer(&token, Method::POST, "/api/v1/requests", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn renaming_an_identity_renames_who_acts_for_it() {
    let app = TestApp::new().await;
    let token = ci_token(&app).await;
    let request = file_as_identity(&app, &token).await;
    let dave = app.login("dave").await;
    let id = app.id_of(&dave, "identities", "ci-deployer").await;
    let (_, identity) = app.get(&dave, &format!("/api/v1/identities/{id}")).await;
    let (status, updated) = app
        .put(
            &dave,
            &format!("/api/v1/identities/{id}"),
            json!({
                "name": "gh-deployer",
                "kind": identity["kind"],
                "description": identity["description"],
                "environment": identity["environment"],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (_, detail) = app.get(&dave, &format!("/api/v1/requests/{request}")).await;
    assert_eq!(detail["requester"]["name"], "identity:gh-deployer");
    // Its principal is no account a person could sign in to or an admin could edit.
    let (_, users) = app.get(&dave, "/api/v1/users").await;
    assert!(!users.to_string().contains("identity:"), "{users}");
    let (status, _, _) = app.login_raw("identity:gh-deployer", "", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn whoever_vouched_for_an_identitys_credential_may_not_approve_what_it_asks() {
    let app = TestApp::new().await;
    // An admin who is also an approver: neither owner nor requester of anything.
    let (_, pat) = app
        .seed_user(
            "pat",
            &[stint_core::Role::Admin, stint_core::Role::Approver],
            &[],
        )
        .await;
    let (status, issued) = mint(
        &app,
        &pat,
        "ci-deployer",
        json!({ "name": "pats-token", "expires_in_secs": 3600 }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let minted = issued["token"].as_str().unwrap();
    let by_token = file_as_identity(&app, minted).await;

    // The same through federation: pat registers an issuer whose keys pat holds.
    let issuer = crate::issuer::TestIssuer::start().await;
    let ci = app.id_of(&pat, "identities", "ci-deployer").await;
    let (status, saved) = app
        .post(
            &pat,
            "/api/v1/federation/issuers",
            json!({
                "name": "pats-ci", "issuer": issuer.url, "audience": "https://stint.test",
                "jwks": issuer.jwks(),
                "rules": [{ "claims": { "repository": "pat/tools" }, "identity_id": ci }],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let now = app.now().timestamp();
    let jwt = issuer.sign(
        "rsa-1",
        &json!({ "iss": issuer.url, "aud": "https://stint.test", "repository": "pat/tools",
                 "sub": "pat", "exp": now + 600 }),
    );
    let (status, exchanged) = crate::federation::exchange(&app, &jwt).await;
    assert_eq!(status, StatusCode::OK, "{exchanged}");
    let by_issuer = file_as_identity(&app, exchanged["access_token"].as_str().unwrap()).await;

    for request in [by_token, by_issuer] {
        let (status, error) = app
            .post(
                &pat,
                &format!("/api/v1/requests/{request}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("credential"),
            "{error}"
        );
    }
    let (_, queue) = app.get(&pat, "/api/v1/requests?awaiting_me=true").await;
    assert_eq!(queue["items"], json!([]), "not in pat's queue either");
    let bob = app.login("bob").await;
    let (_, queue) = app.get(&bob, "/api/v1/requests?awaiting_me=true").await;
    assert_eq!(
        queue["items"].as_array().unwrap().len(),
        2,
        "another approver decides"
    );
}
