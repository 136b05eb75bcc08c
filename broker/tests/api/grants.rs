use crate::helpers::TestApp;
use axum::http::{Method, StatusCode};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

pub(crate) async fn jwks(app: &TestApp) -> JwkSet {
    let (status, body) = app
        .call(None, Method::GET, "/.well-known/jwks.json", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_value(body).unwrap()
}

#[tokio::test]
async fn credential_is_an_ed25519_jwt_that_verifies_against_the_jwks() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 1800).await;
    let (status, credential) = app.credential(&alice, grant).await;
    assert_eq!(status, StatusCode::OK, "{credential}");
    let token = credential["token"].as_str().unwrap();

    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("stint-grant+jwt"));
    let set = jwks(&app).await;
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("the kid is in the JWKS");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["payments-db"]);
    validation.set_issuer(&["https://stint.test"]);
    // The test clock is in the past of the wall clock that jsonwebtoken checks `exp` with.
    validation.validate_exp = false;
    let claims =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], "ci-deployer");
    assert_eq!(claims["scope"], "read");
    assert_eq!(
        claims["exp"],
        credential["expires_at"]
            .as_str()
            .map(|t| { chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp() })
            .unwrap()
    );
    assert_eq!(claims["jti"], credential["jti"]);

    // Only its hash is kept.
    let pool = app.sql_pool().await;
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM credentials")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!stored.contains(token) && !token.contains(&stored));
}

#[tokio::test]
async fn the_signing_key_survives_a_restart() {
    let app = TestApp::new().await;
    let before = jwks(&app).await;
    let app = app.restart().await;
    let after = jwks(&app).await;
    assert_eq!(
        serde_json::to_value(&before).unwrap(),
        serde_json::to_value(&after).unwrap()
    );
}

#[tokio::test]
async fn introspection_answers_for_live_tokens_only() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 600).await;
    let (_, credential) = app.credential(&alice, grant).await;
    let token = credential["token"].as_str().unwrap();
    let live = app.introspect(token).await;
    assert_eq!(live["active"], true);
    assert_eq!(live["sub"], "ci-deployer");
    assert_eq!(live["aud"], "payments-db");
    assert_eq!(live["scope"], "read");
    assert_eq!(live["jti"], credential["jti"]);
    assert_eq!(live["iss"], "https://stint.test");
    assert_eq!(
        app.introspect("not-a-token").await,
        json!({ "active": false })
    );
    // A forged token with a valid shape is not ours.
    let forged = format!("{}x", &token[..token.len() - 1]);
    assert_eq!(app.introspect(&forged).await["active"], false);
}

#[tokio::test]
async fn revoking_turns_introspection_inactive_at_once() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 3600).await;
    let (_, credential) = app.credential(&alice, grant).await;
    let token = credential["token"].as_str().unwrap();
    let path = format!("/api/v1/grants/{grant}/revoke");

    let (status, error) = app.post(&alice, &path, json!({ "reason": " " })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "reason");
    let carol = app.login("carol").await;
    assert_eq!(
        app.post(&carol, &path, json!({ "reason": "x" })).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.introspect(token).await["active"], true);
    // The resource's own server asks too: on SQLite it is answered on the calling thread
    // rather than through the pool, and must see the revocation as soon.
    let payments = app.introspection_secret("payments-db").await;
    let as_payments = || app.introspect_as_resource(&payments, token, "10.0.0.1");
    assert_eq!(as_payments().await["active"], true);

    let (status, revoked) = app
        .post(&alice, &path, json!({ "reason": "Task finished early" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["state"], "revoked");
    assert_eq!(revoked["revoke_reason"], "Task finished early");
    assert_eq!(app.introspect(token).await, json!({ "active": false }));
    assert_eq!(as_payments().await, json!({ "active": false }));

    assert_eq!(
        app.post(&alice, &path, json!({ "reason": "again" }))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let (status, _) = app.credential(&alice, grant).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "no credential for a revoked grant"
    );
}

#[tokio::test]
async fn approvers_may_revoke_but_only_owners_fetch_credentials() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let grant = app.active_grant(&alice, 3600).await;
    let (status, _) = app.credential(&bob, grant).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, revoked) = app
        .post(
            &bob,
            &format!("/api/v1/grants/{grant}/revoke"),
            json!({ "reason": "Incident 42" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["state"], "revoked");
}

#[tokio::test]
async fn my_active_grants_lists_what_alice_holds() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 3600).await;
    let (_, list) = app
        .get(&alice, "/api/v1/grants?state=active&mine=true")
        .await;
    assert_eq!(list[0]["id"], grant);
    assert_eq!(list[0]["can_fetch_credential"], true);
    assert_eq!(list[0]["can_revoke"], true);
    let bob = app.login("bob").await;
    let (_, mine) = app.get(&bob, "/api/v1/grants?mine=true").await;
    assert_eq!(mine.as_array().unwrap().len(), 0, "bob holds nothing");
    let (_, all) = app.get(&bob, "/api/v1/grants").await;
    assert_eq!(
        all.as_array().unwrap().len(),
        1,
        "but oversees alice's grant"
    );
}
