use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

/// Everything a bad call could have changed.
async fn footprint(app: &TestApp) -> [i64; 4] {
    [
        app.count("requests").await,
        app.count("approvals").await,
        app.count("grants").await,
        app.count("audit_events").await,
    ]
}

#[tokio::test]
async fn bad_requests_get_a_4xx_naming_the_field_and_change_nothing() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let valid = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            "zero duration",
            with("duration_secs", json!(0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "duration_secs",
        ),
        (
            "negative duration",
            with("duration_secs", json!(-60)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "duration_secs",
        ),
        (
            "over the policy maximum",
            with("duration_secs", json!(4 * 3600 + 1)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "duration_secs",
        ),
        (
            "huge duration",
            with("duration_secs", json!(i64::MAX)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "duration_secs",
        ),
        (
            "beyond i64",
            with("duration_secs", json!(1e30)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "duration_secs",
        ),
        (
            "duration as text",
            with("duration_secs", json!("1h")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "duration_secs",
        ),
        (
            "missing justification",
            without("justification"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "justification",
        ),
        (
            "missing task",
            with("justification", json!({ "ticket": "OPS-1" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "justification.task",
        ),
        (
            "blank task",
            with("justification", json!({ "task": "   " })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "justification.task",
        ),
        (
            "wrong privilege",
            with("privilege", json!("deploy")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "privilege",
        ),
        (
            "unknown identity",
            with("identity_id", json!(9999)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "identity_id",
        ),
        (
            "unknown resource",
            with("resource_id", json!(9999)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "resource_id",
        ),
    ];
    let before = footprint(&app).await;
    for (name, body, status, field) in cases {
        let (got, error) = app.post(&alice, "/api/v1/requests", body).await;
        assert_eq!(got, status, "{name}: {error}");
        assert_eq!(error["error"]["field"], field, "{name}: {error}");
        assert!(
            !error["error"]["message"].as_str().unwrap().is_empty(),
            "{name}"
        );
    }
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn unreadable_bodies_are_refused_before_anything_happens() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let before = footprint(&app).await;
    let raw = |body: Body, content_type: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/requests")
            .header(header::COOKIE, &alice.cookie)
            .header("x-stint-csrf", "1")
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .unwrap()
    };
    let (status, _, error) = app
        .send(raw(Body::from("{\"identity_id\": 1,"), "application/json"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "malformed JSON: {error}");
    assert_eq!(error["error"]["code"], "bad_input");

    let (status, _, _) = app.send(raw(Body::from("{}"), "text/plain")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let big = format!(
        "{{\"justification\": {{\"task\": \"{}\"}}}}",
        "x".repeat(64 * 1024)
    );
    let (status, _, error) = app.send(raw(Body::from(big), "application/json")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn calls_without_a_session_get_401() {
    let app = TestApp::new().await;
    let calls = [
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/api/v1/identities"),
        (Method::GET, "/api/v1/resources"),
        (Method::GET, "/api/v1/requests"),
        (Method::GET, "/api/v1/requests/1"),
        (Method::POST, "/api/v1/requests/1/approve"),
        (Method::POST, "/api/v1/requests/1/cancel"),
        (Method::GET, "/api/v1/grants"),
        (Method::POST, "/api/v1/grants/1/credential"),
    ];
    for (method, path) in calls {
        let body = (method == Method::POST).then(|| json!({}));
        let (status, error) = app.call(None, method.clone(), path, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(error["error"]["code"], "unauthenticated");
    }
    let (status, _) = app
        .call(None, Method::POST, "/api/v1/requests", Some(json!({})))
        .await;
    assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("requests").await, 0);
}

#[tokio::test]
async fn state_changes_without_the_csrf_header_are_refused() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let request = |extra: Option<(&str, &str)>| {
        let mut r = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/requests")
            .header(header::COOKIE, &alice.cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some((k, v)) = extra {
            r = r.header(k, v);
        }
        r.body(Body::from(body.to_string())).unwrap()
    };
    let (status, _, error) = app.send(request(None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["error"]["code"], "csrf");
    let mut cross_site = request(Some(("x-stint-csrf", "1")));
    cross_site
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    let (status, _, _) = app.send(cross_site).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("requests").await, 0);
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let app = TestApp::new().await;
    let bob = app.login("bob").await;
    let (status, error) = app.get(&bob, "/api/v1/requests/9999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "not_found");
    let (status, _) = app
        .post(&bob, "/api/v1/requests/9999/approve", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(&bob, "/api/v1/grants/9999/revoke", json!({ "reason": "x" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = app.get(&bob, "/api/v1/requests/abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["field"], "id");
    let (status, error) = app.get(&bob, "/api/v1/requests?state=granted").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["field"], "state");
    let (status, error) = app.get(&bob, "/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["error"]["code"], "not_found");
}

/// Signs in frank, a requester who never owned an identity.
async fn stranger(app: &TestApp) -> crate::helpers::Session {
    let hash = stint_broker::password::hash("frank-pass");
    let frank = stint_broker::store::NewUser {
        username: "frank",
        display_name: "Frank",
        password_hash: &hash,
        roles: &[stint_core::Role::Requester],
    };
    let state = app.broker.state();
    state
        .store
        .create_user(
            None,
            &frank,
            stint_broker::store::FourEyes::Required,
            state.clock.now(),
        )
        .await
        .unwrap();
    let (status, headers, _) = app.login_raw("frank", "frank-pass", None).await;
    assert_eq!(status, StatusCode::OK);
    crate::helpers::session_from(&headers)
}

#[tokio::test]
async fn a_requester_cannot_see_requests_of_identities_they_never_owned() {
    let app = TestApp::new().await;
    let erin = app.login("erin").await;
    let id = app
        .file(&erin, "billing-agent", "payments-db", "read", 600)
        .await;
    let frank = stranger(&app).await;
    // Indistinguishable from a request that does not exist.
    assert_eq!(
        app.get(&frank, &format!("/api/v1/requests/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = app.get(&frank, "/api/v1/requests").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_grant_someone_cannot_see_answers_as_if_it_did_not_exist() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 3600).await;
    let frank = stranger(&app).await;
    let before = footprint(&app).await;
    let (status, _) = app.credential(&frank, grant).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "fetching its credential");
    for (path, body) in [
        ("revoke", json!({ "reason": "Incident 42" })),
        ("release", json!({ "outcome": "completed" })),
        (
            "extend",
            json!({ "duration_secs": 600, "justification": { "task": "More time" } }),
        ),
    ] {
        let (status, answer) = app
            .post(&frank, &format!("/api/v1/grants/{grant}/{path}"), body)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
    }
    assert_eq!(footprint(&app).await, before);
    // Its holder, who filed the request it came from, still fetches its credential.
    assert_eq!(app.credential(&alice, grant).await.0, StatusCode::OK);
}
