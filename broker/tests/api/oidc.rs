//! Signing in through an identity provider (`--oidc-config`): the first sign-in makes the
//! account with the roles its groups give, later ones bring the roles in line, and every
//! answer that is not exactly the provider's, for this browser's sign-in, is refused with
//! no session — each outcome recorded with the provider and the subject.

use super::helpers::{Session, TestApp};
use super::oidc_provider::{CLIENT_SECRET, FakeProvider, Tamper, Who};
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use stint_broker::config::Config;

const PUBLIC_URL: &str = "http://stint.test";

fn providers_file(issuer: &str) -> String {
    format!(
        r#"
[providers.corp]
display_name = "Corp SSO"
issuer = "{issuer}"
client_id = "stint"
client_secret_env = "STINT_OIDC_CORP_SECRET"
scopes = ["openid", "profile", "groups"]
[providers.corp.roles]
requester = ["engineering"]
approver = ["stint-approvers"]
admin = ["stint-admins"]
"#
    )
}

fn with_provider(issuer: &str) -> impl FnOnce(&mut Config) + use<> {
    let file = stint_broker::oidc::config::parse(&providers_file(issuer), &|var| {
        (var == "STINT_OIDC_CORP_SECRET").then(|| CLIENT_SECRET.to_string())
    })
    .unwrap();
    move |config: &mut Config| {
        config.oidc = file;
        config.public_url = PUBLIC_URL.into();
    }
}

async fn app_with(op: &FakeProvider) -> TestApp {
    TestApp::with_config(with_provider(&op.url)).await
}

/// A browser's GET with its cookies.
async fn navigate(app: &TestApp, path: &str, cookies: &[&str]) -> (StatusCode, HeaderMap) {
    let mut request = Request::builder().uri(path);
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies.join("; "));
    }
    let (status, headers, _) = app.send(request.body(Body::empty()).unwrap()).await;
    (status, headers)
}

fn location(headers: &HeaderMap) -> String {
    headers[header::LOCATION].to_str().unwrap().to_string()
}

/// The `name=value` of each cookie the answer sets, by name.
fn set_cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_string(), value.to_string())
        })
        .collect()
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    set_cookies(headers)
        .into_iter()
        .find(|(n, v)| n == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// A sign-in started in a browser: where the broker sent it, and its flow cookie.
struct Started {
    authorization_url: String,
    flow_cookie: String,
}

async fn start(app: &TestApp) -> Started {
    start_with(app, &[]).await
}

/// A sign-in started in a browser that has `cookies` (a session, say).
async fn start_with(app: &TestApp, cookies: &[&str]) -> Started {
    let (status, headers) = navigate(app, "/api/v1/oidc/corp/login", cookies).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let flow = cookie_value(&headers, "stint_sso").expect("a flow cookie");
    let set = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    Started {
        authorization_url: location(&headers),
        flow_cookie: format!("stint_sso={flow}"),
    }
}

impl Started {
    /// The `state` the broker sent the provider.
    fn state(&self) -> String {
        url::Url::parse(&self.authorization_url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .to_string()
    }
}

/// The provider's redirect back, as the browser follows it.
async fn callback(app: &TestApp, started: &Started, code: &str, state: &str) -> HeaderMap {
    answer(
        app,
        &[&started.flow_cookie],
        &[("code", code), ("state", state)],
    )
    .await
}

/// A callback with the query `pairs`, from a browser with `cookies`.
async fn answer(app: &TestApp, cookies: &[&str], pairs: &[(&str, &str)]) -> HeaderMap {
    let query = serde_urlencoded::to_string(pairs).unwrap();
    let path = format!("/api/v1/oidc/corp/callback?{query}");
    let (status, headers) = navigate(app, &path, cookies).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    headers
}

/// Signs `who` in through the provider; the session, or the refusal's code.
async fn sign_in(
    app: &TestApp,
    op: &FakeProvider,
    who: &Who,
    tamper: Tamper,
) -> Result<Session, String> {
    let started = start(app).await;
    let (code, state) = op.authorize(&started.authorization_url, who, tamper, app.now());
    outcome(&callback(app, &started, &code, &state).await)
}

/// Whether the answer clears the browser's flow cookie (the sign-in is over).
fn clears_flow(headers: &HeaderMap) -> bool {
    set_cookies(headers).contains(&("stint_sso".into(), String::new()))
}

fn outcome(headers: &HeaderMap) -> Result<Session, String> {
    let to = location(headers);
    match cookie_value(headers, "stint_session") {
        Some(value) => {
            assert_eq!(to, "/");
            Ok(Session {
                cookie: format!("stint_session={value}"),
            })
        }
        None => {
            let url = url::Url::parse(&format!("{PUBLIC_URL}{to}")).unwrap();
            assert_eq!(url.path(), "/login", "{to}");
            let code = url
                .query_pairs()
                .find(|(k, _)| k == "sso_error")
                .map(|(_, v)| v.to_string());
            Err(code.expect("a refusal names its reason"))
        }
    }
}

async fn me(app: &TestApp, session: &Session) -> (StatusCode, Value) {
    app.get(session, "/api/v1/me").await
}

/// The newest audit events with `action`, newest first.
async fn events(app: &TestApp, action: &str) -> Vec<Value> {
    let dave = app.login("dave").await;
    let (status, page) = app.get(&dave, "/api/v1/audit?limit=200").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_first_sign_in_makes_the_account_with_the_roles_its_groups_give() {
    let op = FakeProvider::start().await;
    let app = app_with(&op).await;
    let (status, options) = app
        .call(None, Method::GET, "/api/v1/oidc/providers", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        options,
        json!({ "local_login": true,
                "providers": [{ "id": "corp", "display_name": "Corp SSO" }] })
    );

    // Alice's browser starts it: her session ends when this one opens.
    let alice = app.login("alice").await;
    let started = start_with(&app, &[&alice.cookie]).await;
    let url = url::Url::parse(&started.authorization_url).unwrap();
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query["redirect_uri"],
        format!("{PUBLIC_URL}/api/v1/oidc/corp/callback")
    );
    let who = Who::new(
        "u-100",
        "Priya.Shah",
        &["engineering", "stint-approvers", "misc"],
    );
    let (code, state) = op.authorize(&started.authorization_url, &who, Tamper::None, app.now());
    let session = outcome(&callback(&app, &started, &code, &state).await).unwrap();

    assert_eq!(me(&app, &alice).await.0, StatusCode::UNAUTHORIZED);
    let (status, me) = me(&app, &session).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["username"], "priya.shah");
    assert_eq!(me["user"]["display_name"], "Priya.Shah (SSO)");
    assert_eq!(me["user"]["roles"], json!(["requester", "approver"]));
    assert_eq!(
        me["signs_in_with"],
        json!({ "id": "corp", "display_name": "Corp SSO" })
    );
    let alice = app.login("alice").await;
    assert!(
        app.get(&alice, "/api/v1/me")
            .await
            .1
            .get("signs_in_with")
            .is_none()
    );

    // Made by the broker on the provider's word, not by the person themselves.
    let provisioned = &events(&app, "user.provisioned").await[0];
    assert_eq!(provisioned["actor"], "stint");
    assert_eq!(
        provisioned["details"]["sso"],
        json!({ "provider": "corp", "issuer": op.url, "subject": "u-100" })
    );
    let logins = events(&app, "session.login").await;
    let login = logins.iter().find(|e| e["actor"] == "priya.shah").unwrap();
    assert_eq!(login["details"]["sso"]["subject"], "u-100");
    // Approver is a privileged role: given by the provider's groups, it is still told.
    let granted = &events(&app, "user.privileged_role_granted").await[0];
    assert_eq!(granted["details"]["username"], "priya.shah");

    // The account has no password: nothing signs it in locally.
    let pool = app.sql_pool().await;
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'priya.shah'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(hash, "!");
}

#[tokio::test]
async fn each_sign_in_brings_the_roles_in_line_with_the_groups() {
    let op = FakeProvider::start().await;
    let app = app_with(&op).await;
    let mut who = Who::new("u-200", "sam", &["engineering", "stint-admins"]);
    let first = sign_in(&app, &op, &who, Tamper::None).await.unwrap();
    assert_eq!(
        me(&app, &first).await.1["user"]["roles"],
        json!(["requester", "admin"])
    );

    // Left the admins' group; the claims now come from user info only.
    who.groups = Some(vec!["engineering".into()]);
    who.claims_in_id_token = false;
    let second = sign_in(&app, &op, &who, Tamper::None).await.unwrap();
    assert_eq!(
        me(&app, &second).await.1["user"]["roles"],
        json!(["requester"])
    );
    let changed = &events(&app, "user.roles_changed").await[0];
    assert_eq!(
        changed["details"]["roles"],
        json!({ "before": ["requester", "admin"], "after": ["requester"] })
    );
    assert_eq!(changed["actor"], "stint");
    assert_eq!(changed["details"]["sso"]["subject"], "u-200");
    // It is still the same account, found by its subject.
    assert_eq!(
        me(&app, &first).await.1["user"]["id"],
        me(&app, &second).await.1["user"]["id"]
    );

    // In no mapped group any more: refused, and the sessions it had end.
    // The provider leaving the groups out says nothing: refused, and nothing changes.
    who.groups = None;
    let refused = sign_in(&app, &op, &who, Tamper::None).await.unwrap_err();
    assert_eq!(refused, "groups_unknown");
    assert_eq!(
        me(&app, &second).await.1["user"]["roles"],
        json!(["requester"])
    );

    who.groups = Some(vec!["alumni".into()]);
    let refused = sign_in(&app, &op, &who, Tamper::None).await.unwrap_err();
    assert_eq!(refused, "no_access");
    assert_eq!(me(&app, &second).await.0, StatusCode::UNAUTHORIZED);
    let refusal = &events(&app, "session.sso_refused").await[0];
    assert_eq!(refusal["details"]["reason"], "no_access");
    assert_eq!(refusal["details"]["subject"], "u-200");
}

#[tokio::test]
async fn a_person_in_no_mapped_group_gets_no_account() {
    let op = FakeProvider::start().await;
    let app = app_with(&op).await;
    let users_before = app.count("users").await;
    let who = Who::new("u-300", "visitor", &["marketing"]);
    assert_eq!(
        sign_in(&app, &op, &who, Tamper::None).await.unwrap_err(),
        "no_access"
    );
    assert_eq!(app.count("users").await, users_before);
}

#[tokio::test]
async fn answers_that_fail_verification_are_refused_without_a_session() {
    let op = FakeProvider::start().await;
    let app = app_with(&op).await;
    let who = Who::new("u-400", "mallory", &["stint-admins"]);
    let users_before = app.count("users").await;
    for (tamper, reason) in [
        (Tamper::Nonce, "nonce"),
        (Tamper::Audience, "audience"),
        (Tamper::Expired, "expired"),
        (Tamper::Signature, "signature"),
        (Tamper::AccessTokenHash, "at_hash"),
    ] {
        let refused = sign_in(&app, &op, &who, tamper).await.unwrap_err();
        assert_eq!(refused, "id_token_invalid", "{tamper:?}");
        let event = &events(&app, "session.sso_refused").await[0];
        assert_eq!(event["details"]["reason"], "id_token_invalid");
        let detail = event["details"]["detail"].as_str().unwrap().to_lowercase();
        assert!(detail.contains(reason), "{tamper:?}: {detail}");
    }
    // No account, so no session either.
    assert_eq!(app.count("users").await, users_before);
    assert_eq!(app.count("oidc_links").await, 0);
}

#[tokio::test]
async fn a_callback_is_answered_once_and_only_in_the_browser_that_started_it() {
    let op = FakeProvider::start().await;
    let app = app_with(&op).await;
    let who = Who::new("u-500", "rosa", &["engineering"]);

    // The wrong state, as a forged callback would carry: refused, and the sign-in it tried
    // to spoil goes on.
    let started = start(&app).await;
    let (code, state) = op.authorize(&started.authorization_url, &who, Tamper::None, app.now());
    let headers = callback(&app, &started, &code, "forged-state").await;
    assert_eq!(outcome(&headers).unwrap_err(), "state_mismatch");
    // Nor does it clear the sign-in's cookie in the browser it was sent to.
    assert!(!clears_flow(&headers));
    let refusal = &events(&app, "session.sso_refused").await[0];
    assert_eq!(refusal["details"]["reason"], "state_mismatch");

    // An answer that says it comes from another provider (RFC 9207's `iss`).
    let pairs = [
        ("code", code.as_str()),
        ("state", state.as_str()),
        ("iss", "https://elsewhere.example"),
    ];
    let headers = answer(&app, &[&started.flow_cookie], &pairs).await;
    assert_eq!(outcome(&headers).unwrap_err(), "state_mismatch");

    // The real answer still signs in, and ends the flow; replayed, the same browser, code
    // and state find the sign-in finished.
    let signed_in = callback(&app, &started, &code, &state).await;
    outcome(&signed_in).unwrap();
    assert!(clears_flow(&signed_in));
    let again = callback(&app, &started, &code, &state).await;
    assert_eq!(outcome(&again).unwrap_err(), "not_started");
    assert!(clears_flow(&again));

    // The replayed code in a sign-in of its own: the provider refuses it.
    let fresh = start(&app).await;
    let replayed = callback(&app, &fresh, &code, &fresh.state()).await;
    assert_eq!(outcome(&replayed).unwrap_err(), "code_refused");

    // A callback carried to a browser that started nothing: refused, and not recorded
    // (anyone can send a browser there).
    let before = events(&app, "session.sso_refused").await.len();
    let started = start(&app).await;
    let (code, state) = op.authorize(&started.authorization_url, &who, Tamper::None, app.now());
    let headers = answer(&app, &[], &[("code", &code), ("state", &state)]).await;
    assert_eq!(outcome(&headers).unwrap_err(), "not_started");
    assert_eq!(events(&app, "session.sso_refused").await.len(), before);

    // Ten minutes is all a sign-in may take.
    app.advance(chrono::Duration::minutes(11));
    let late = callback(&app, &started, &code, &state).await;
    assert_eq!(outcome(&late).unwrap_err(), "not_started");

    // The provider saying no (the person cancelled).
    let started = start(&app).await;
    let pairs = [("error", "access_denied"), ("state", &started.state())];
    let headers = answer(&app, &[&started.flow_cookie], &pairs).await;
    assert_eq!(outcome(&headers).unwrap_err(), "provider_error");
    assert!(clears_flow(&headers));
}

#[tokio::test]
async fn two_callbacks_at_once_sign_in_once() {
    let op = FakeProvider::start().await;
    let app = app_with(&op).await;
    let who = Who::new("u-550", "otto", &["engineering"]);
    let started = start(&app).await;
    let (code, state) = op.authorize(&started.authorization_url, &who, Tamper::None, app.now());
    let (a, b) = tokio::join!(
        callback(&app, &started, &code, &state),
        callback(&app, &started, &code, &state)
    );
    let outcomes = [outcome(&a), outcome(&b)];
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    assert_eq!(app.count("oidc_links").await, 1);
}

#[tokio::test]
async fn sign_ins_from_one_address_are_throttled() {
    let op = FakeProvider::start().await;
    let app = app_with(&op).await;
    let mut last = None;
    for _ in 0..=stint_broker::http::SIGN_INS_PER_MINUTE {
        last = Some(navigate(&app, "/api/v1/oidc/corp/login", &[]).await.1);
    }
    assert_eq!(
        location(&last.unwrap()),
        "/login?sso_error=throttled&provider=corp"
    );
}

#[tokio::test]
async fn an_unreachable_provider_is_said_so_and_recorded() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = TestApp::with_config(with_provider(&issuer)).await;
    let (status, headers) = navigate(&app, "/api/v1/oidc/corp/login", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&headers),
        "/login?sso_error=provider_unreachable&provider=corp"
    );
    assert!(cookie_value(&headers, "stint_sso").is_none());
    let event = &events(&app, "session.sso_refused").await[0];
    assert_eq!(event["details"]["reason"], "provider_unreachable");

    let (_, headers) = navigate(&app, "/api/v1/oidc/nosuch/login", &[]).await;
    assert_eq!(
        location(&headers),
        "/login?sso_error=unknown_provider&provider=nosuch"
    );
}

#[tokio::test]
async fn disabled_accounts_and_local_usernames_are_not_signed_in() {
    let op = FakeProvider::start().await;
    let app = app_with(&op).await;

    // A provider's "alice" is not the local alice.
    let impostor = Who::new("u-600", "alice", &["stint-admins"]);
    assert_eq!(
        sign_in(&app, &op, &impostor, Tamper::None)
            .await
            .unwrap_err(),
        "username_taken"
    );

    let who = Who::new("u-601", "quinn", &["engineering"]);
    let session = sign_in(&app, &op, &who, Tamper::None).await.unwrap();
    let id = me(&app, &session).await.1["user"]["id"].as_i64().unwrap();
    let dave = app.login("dave").await;
    let (status, body) = app
        .put(
            &dave,
            &format!("/api/v1/users/{id}"),
            json!({ "display_name": "Quinn", "roles": ["requester"], "disabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        sign_in(&app, &op, &who, Tamper::None).await.unwrap_err(),
        "disabled"
    );
    // Nor does an admin give it a password, which would outlive its provider's say.
    let (status, body) = app
        .post(
            &dave,
            &format!("/api/v1/users/{id}/password"),
            json!({ "new_password": "a-long-enough-password" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "new_password");
}

#[tokio::test]
async fn signing_out_offers_the_providers_own_sign_out() {
    let op = FakeProvider::start().await;
    let app = app_with(&op).await;
    let session = sign_in(
        &app,
        &op,
        &Who::new("u-700", "tove", &["engineering"]),
        Tamper::None,
    )
    .await
    .unwrap();
    let (status, body) = app
        .call(Some(&session), Method::DELETE, "/api/v1/session", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["provider"]["display_name"], "Corp SSO");
    let end = url::Url::parse(body["end_session_url"].as_str().unwrap()).unwrap();
    assert!(
        end.as_str().starts_with(&format!("{}/logout?", op.url)),
        "{end}"
    );
    let query: std::collections::HashMap<_, _> = end.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], "stint");
    assert_eq!(
        query["post_logout_redirect_uri"],
        format!("{PUBLIC_URL}/login")
    );
    assert_eq!(me(&app, &session).await.0, StatusCode::UNAUTHORIZED);

    // A local account's sign-out has nothing to offer.
    let alice = app.login("alice").await;
    let (status, _) = app
        .call(Some(&alice), Method::DELETE, "/api/v1/session", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn local_sign_in_can_be_turned_off() {
    let op = FakeProvider::start().await;
    let provider = with_provider(&op.url);
    let app = TestApp::with_config(|config| {
        provider(config);
        config.local_login = false;
    })
    .await;
    let (_, options) = app
        .call(None, Method::GET, "/api/v1/oidc/providers", None)
        .await;
    assert_eq!(options["local_login"], false);
    let (status, _, body) = app.login_raw("alice", "stint-demo", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        sign_in(
            &app,
            &op,
            &Who::new("u-800", "uma", &["engineering"]),
            Tamper::None
        )
        .await
        .is_ok()
    );
}
