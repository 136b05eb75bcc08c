//! Workload federation: a token an outside issuer signed is exchanged (RFC 8693) for a
//! short Stint access token only when it verifies and exactly one rule maps it to an owned
//! identity; every other token is refused naming why, and nothing is created.

use crate::helpers::*;
use crate::issuer::{TestIssuer, rsa_key};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use serde_json::{Value, json};

const AUDIENCE: &str = "https://stint.test";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// Registers `issuer` as GitHub Actions would be: acme/payments on main is ci-deployer,
/// acme/billing in a production environment is billing-agent, the nightly report job is
/// report-cron (orphaned in the demo).
pub(crate) async fn register(app: &TestApp, issuer: &TestIssuer) -> Value {
    let dave = app.login("dave").await;
    let id = |name| app.id_of(&dave, "identities", name);
    let body = json!({
        "name": "github-actions",
        "issuer": issuer.url,
        "audience": AUDIENCE,
        "jwks_url": issuer.jwks_url(),
        "rules": [
            { "claims": { "repository": "acme/payments", "ref": "refs/heads/main" },
              "identity_id": id("ci-deployer").await },
            { "claims": { "repository": "acme/billing", "environment": "prod*" },
              "identity_id": id("billing-agent").await },
            { "claims": { "repository": "acme/reports" }, "identity_id": id("report-cron").await },
        ],
    });
    let (status, saved) = app.post(&dave, "/api/v1/federation/issuers", body).await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    saved
}

/// A GitHub-Actions-shaped token's claims, valid for ten minutes from the broker's now.
pub(crate) fn claims(app: &TestApp, issuer: &TestIssuer, repository: &str) -> Value {
    let now = app.now().timestamp();
    json!({
        "iss": issuer.url,
        "aud": AUDIENCE,
        "sub": format!("repo:{repository}:ref:refs/heads/main"),
        "repository": repository,
        "ref": "refs/heads/main",
        "environment": "production",
        "run_id": 4242,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    })
}

/// `POST /api/v1/token`, form-encoded as RFC 8693 has it.
pub(crate) async fn exchange(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let (status, _, body) = exchange_answer(app, token).await;
    (status, body)
}

/// `exchange`, with the answer's headers.
async fn exchange_answer(app: &TestApp, token: &str) -> (StatusCode, axum::http::HeaderMap, Value) {
    let form = format!(
        "grant_type={}&subject_token={}&subject_token_type={}",
        urlencode(GRANT_TYPE),
        urlencode(token),
        urlencode(JWT)
    );
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    app.send(request).await
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_github_actions_token_exchanges_for_an_access_token_that_files_a_request() {
    let app = TestApp::new().await;
    let issuer = TestIssuer::start().await;
    register(&app, &issuer).await;

    let token = issuer.sign("rsa-1", &claims(&app, &issuer, "acme/payments"));
    let (status, issued) = exchange(&app, &token).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(
        issued["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    // Never past the subject token's own expiry (ten minutes), at most fifteen.
    assert_eq!(issued["expires_in"], 600);
    let access = issued["access_token"].as_str().unwrap().to_string();

    let alice = app.login("alice").await;
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 900)
        .await;
    let (status, _, filed) = app
        .bearer(&access, Method::POST, "/api/v1/requests", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    assert_eq!(filed["requester"]["name"], "identity:ci-deployer");
    assert_eq!(
        filed["timeline"][0]["details"]["via"],
        "issuer github-actions"
    );

    // Its owner sees which platform's jobs may act as it; an approver does not.
    let ci = app.id_of(&alice, "identities", "ci-deployer").await;
    let path = format!("/api/v1/identities/{ci}/federation-rules");
    let (status, rules) = app.get(&alice, &path).await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    assert_eq!(rules[0]["issuer"]["name"], "github-actions");
    assert_eq!(rules[0]["claims"]["repository"], "acme/payments");
    assert_eq!(rules.as_array().unwrap().len(), 1);
    let bob = app.login("bob").await;
    assert_eq!(app.get(&bob, &path).await.0, StatusCode::FORBIDDEN);

    // The exchange is on the trail, with the issuer and the claims its rule matched.
    let dave = app.login("dave").await;
    let (_, page) = app
        .get(&dave, "/api/v1/audit?action=federation.exchanged")
        .await;
    let event = &page["items"][0];
    assert_eq!(event["actor"], "identity:ci-deployer");
    assert_eq!(event["details"]["issuer"], "github-actions");
    assert_eq!(
        event["details"]["claims"],
        json!({ "repository": "acme/payments", "ref": "refs/heads/main" })
    );

    // ES256, a glob, and JSON instead of a form: billing-agent.
    let mut billing = claims(&app, &issuer, "acme/billing");
    billing["exp"] = json!(app.now().timestamp() + 7200);
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({
                "grant_type": GRANT_TYPE,
                "subject_token": issuer.sign("ec-1", &billing),
                "subject_token_type": JWT,
            })
            .to_string(),
        ))
        .unwrap();
    let (status, _, issued) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued["expires_in"], 900, "at most fifteen minutes");
    let agent = issued["access_token"].as_str().unwrap();
    let (_, _, me) = app.bearer(agent, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["user"]["display_name"], "billing-agent");

    // The access token ends when it says.
    app.advance(Duration::seconds(601));
    let (status, _, _) = app
        .bearer(&access, Method::GET, "/api/v1/requests", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_token_that_is_not_good_is_refused_naming_why_and_nothing_is_created() {
    let app = TestApp::new().await;
    let issuer = TestIssuer::start().await;
    register(&app, &issuer).await;
    let good = claims(&app, &issuer, "acme/payments");
    let now = app.now().timestamp();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        change(&mut c);
        c
    };
    let none_alg = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    // HS256 with the issuer's public key as the secret: the classic forgery.
    let public = serde_json::to_vec(&issuer.public_key("rsa-1")).unwrap();
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some("rsa-1".into());
    let hmac = jsonwebtoken::encode(
        &hs_header,
        &good,
        &jsonwebtoken::EncodingKey::from_secret(&public),
    )
    .unwrap();
    // Signed by a key that is not the issuer's, under the issuer's kid.
    let (forger, _) = rsa_key("rsa-1");
    let mut forged_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    forged_header.kid = Some("rsa-1".into());
    let forged = jsonwebtoken::encode(&forged_header, &good, &forger).unwrap();

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong issuer",
            issuer.sign(
                "rsa-1",
                &with(&|c| c["iss"] = json!("https://evil.example")),
            ),
            "no_issuer",
        ),
        (
            "wrong audience",
            issuer.sign(
                "rsa-1",
                &with(&|c| c["aud"] = json!("https://other.example")),
            ),
            "wrong_audience",
        ),
        (
            "expired",
            issuer.sign("rsa-1", &with(&|c| c["exp"] = json!(now - 61))),
            "expired",
        ),
        (
            "not yet valid",
            issuer.sign("rsa-1", &with(&|c| c["nbf"] = json!(now + 300))),
            "not_yet_valid",
        ),
        ("bad signature", forged, "bad_signature"),
        ("alg none", none_alg, "malformed"),
        ("HS256 with the public key", hmac, "bad_signature"),
        (
            "unknown kid",
            {
                let token = issuer.sign("rsa-1", &good);
                let (_, rest) = token.split_once('.').unwrap();
                let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"rsa-9"}"#);
                format!("{header}.{rest}")
            },
            "bad_signature",
        ),
        (
            "an RSA key named for ES256",
            {
                let token = issuer.sign("rsa-1", &good);
                let (_, rest) = token.split_once('.').unwrap();
                let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"rsa-1"}"#);
                format!("{header}.{rest}")
            },
            "bad_signature",
        ),
        (
            "no matching rule",
            issuer.sign("rsa-1", &with(&|c| c["repository"] = json!("acme/ledger"))),
            "no_rule_matched",
        ),
        (
            "an orphaned identity",
            issuer.sign("rsa-1", &with(&|c| c["repository"] = json!("acme/reports"))),
            "identity_orphaned",
        ),
    ];
    for (case, token, reason) in &cases {
        let (status, refused) = exchange(&app, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {refused}");
        assert_eq!(refused["error"], "invalid_grant", "{case}");
        assert_eq!(refused["reason"], *reason, "{case}: {refused}");
        assert!(refused["error_description"].is_string(), "{case}");
    }
    assert_eq!(app.count("exchanged_tokens").await, 0);
    assert_eq!(app.count("requests").await, 0);
    // Refusals of the registered issuer's tokens are recorded (not of an unknown one's).
    let dave = app.login("dave").await;
    let (_, page) = app
        .get(&dave, "/api/v1/audit?action=federation.refused&limit=100")
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), cases.len() - 1);

    // Two rules matching one token single out nobody: a second issuer with its keys inline.
    let ci = app.id_of(&dave, "identities", "ci-deployer").await;
    let (status, saved) = app
        .post(
            &dave,
            "/api/v1/federation/issuers",
            json!({
                "name": "gitlab",
                "issuer": "https://gitlab.example.com",
                "audience": AUDIENCE,
                "jwks": issuer.jwks(),
                "rules": [
                    { "claims": { "project_path": "acme/*" }, "identity_id": ci },
                    { "claims": { "ref": "main" }, "identity_id": ci },
                ],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let mut gitlab = good.clone();
    gitlab["iss"] = json!("https://gitlab.example.com");
    gitlab["project_path"] = json!("acme/payments");
    gitlab["ref"] = json!("main");
    let (status, refused) = exchange(&app, &issuer.sign("ec-1", &gitlab)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    assert_eq!(refused["reason"], "two_rules_matched");

    // Not an exchange at all: 400 naming what is wrong.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=password&username=x"))
        .unwrap();
    let (status, _, refused) = app.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "unsupported_grant_type");
    let form = format!("grant_type={}", urlencode(GRANT_TYPE));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (status, _, refused) = app.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["field"], "subject_token");
    assert_eq!(app.count("exchanged_tokens").await, 0);
}

#[tokio::test]
async fn exchanges_over_the_budget_are_refused_and_told_when_to_try_again() {
    let app = TestApp::with_config(|c| {
        c.exchanges_per_minute = std::num::NonZeroU32::new(2).unwrap();
    })
    .await;
    let issuer = TestIssuer::start().await;
    register(&app, &issuer).await;
    let token = |run: i64| {
        let mut claims = claims(&app, &issuer, "acme/payments");
        claims["run_id"] = json!(run);
        issuer.sign("rsa-1", &claims)
    };
    for run in 1..=2 {
        let (status, issued) = exchange(&app, &token(run)).await;
        assert_eq!(status, StatusCode::OK, "{issued}");
    }
    let (status, headers, refused) = exchange_answer(&app, &token(3)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert_eq!(refused["error"], "slow_down");
    // Two a minute: the next is allowed within thirty seconds, said in whole seconds.
    let wait = retry_after(&headers);
    assert!((1..=30).contains(&wait), "Retry-After {wait}");
    assert_eq!(app.count("exchanged_tokens").await, 2);
}

#[tokio::test]
async fn key_rotation_at_the_issuer_is_followed_and_made_up_kids_do_not_flood_it() {
    let app = TestApp::new().await;
    let issuer = TestIssuer::start().await;
    register(&app, &issuer).await;
    let payments = claims(&app, &issuer, "acme/payments");
    assert_eq!(
        exchange(&app, &issuer.sign("rsa-1", &payments)).await.0,
        StatusCode::OK
    );
    let fetched = issuer.fetches();

    issuer.rotate("rsa-1", "rsa-2");
    let (status, issued) = exchange(&app, &issuer.sign("rsa-2", &payments)).await;
    assert_eq!(status, StatusCode::OK, "the new key is fetched: {issued}");
    assert_eq!(issuer.fetches(), fetched + 1);

    // Made-up kids: the first refetch just happened, so none of these fetches again.
    for kid in ["x-1", "x-2", "x-3"] {
        let token = issuer.sign("rsa-2", &payments);
        let (_, rest) = token.split_once('.').unwrap();
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#));
        let (status, _) = exchange(&app, &format!("{header}.{rest}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(issuer.fetches(), fetched + 1);
}

#[tokio::test]
async fn only_admins_register_issuers_and_a_registration_is_checked() {
    let app = TestApp::new().await;
    let (alice, bob, dave) = (
        app.login("alice").await,
        app.login("bob").await,
        app.login("dave").await,
    );
    let ci = app.id_of(&dave, "identities", "ci-deployer").await;
    let body = |change: &dyn Fn(&mut Value)| {
        let mut b = json!({
            "name": "k8s",
            "issuer": "https://kubernetes.default.svc",
            "audience": AUDIENCE,
            "jwks_url": "https://kubernetes.default.svc/openid/v1/jwks",
            "rules": [{ "claims": { "sub": "system:serviceaccount:ci:deployer" }, "identity_id": ci }],
        });
        change(&mut b);
        b
    };
    assert_eq!(
        app.post(&bob, "/api/v1/federation/issuers", body(&|_| {}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let cases: Vec<(Value, &str)> = vec![
        (
            body(&|b| b["issuer"] = json!("http://evil.example")),
            "issuer",
        ),
        (body(&|b| b["rules"] = json!([])), "rules"),
        (
            body(&|b| b["rules"][0]["claims"] = json!({ "sub": "*" })),
            "rules.claims",
        ),
        (
            body(&|b| b["rules"][0]["identity_id"] = json!(999)),
            "rules.identity_id",
        ),
        (body(&|b| b["jwks"] = json!({ "keys": [{}] })), "jwks_url"),
    ];
    for (bad, field) in cases {
        let (status, error) = app.post(&dave, "/api/v1/federation/issuers", bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {error}");
        assert_eq!(error["error"]["field"], field);
    }
    assert_eq!(app.count("federation_issuers").await, 0);
    let (status, saved) = app
        .post(&dave, "/api/v1/federation/issuers", body(&|_| {}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["rules"][0]["identity"]["name"], "ci-deployer");
    let (status, error) = app
        .post(&dave, "/api/v1/federation/issuers", body(&|_| {}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "name");

    let (status, listed) = app.get(&dave, "/api/v1/federation/issuers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed[0]["name"], "k8s");
    assert_eq!(
        app.get(&alice, "/api/v1/federation/issuers").await.0,
        StatusCode::FORBIDDEN
    );
}
