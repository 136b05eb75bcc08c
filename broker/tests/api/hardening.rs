//! What goes in and what comes out: deceptive text refused, reserved names, ids a caller
//! may not see answered as missing.

use crate::helpers::{TestApp, retry_after};
use axum::http::{Method, StatusCode};
use serde_json::json;
use stint_core::Role;

#[tokio::test]
async fn text_with_control_bidi_or_invisible_characters_is_refused_naming_the_field() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let before = app.count("requests").await;
    for (task, what) in [
        ("Rotate the keys \u{202E}txt.exe", "a bidi override"),
        ("Rotate the keys \u{1b}[31m now", "an ANSI escape"),
        ("Rotate the\u{200B} ledger keys", "a zero-width space"),
        ("Rotate the ledger keys\u{0}", "a NUL"),
    ] {
        let mut body = app
            .request_body(&alice, "ci-deployer", "payments-db", "read", 600)
            .await;
        body["justification"]["task"] = json!(task);
        let (status, error) = app.post(&alice, "/api/v1/requests", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {error}");
        assert_eq!(error["error"]["field"], "justification.task", "{what}");
    }
    assert_eq!(app.count("requests").await, before);

    let dave = app.login("dave").await;
    let (status, error) = app
        .post(
            &dave,
            "/api/v1/users",
            json!({ "username": "mallory", "display_name": "Bob\u{202E}nimda",
                    "password": "a long enough passphrase", "roles": [] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "display_name");
}

#[tokio::test]
async fn no_user_may_be_named_like_the_broker() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    for name in ["stint", "anonymous"] {
        let (status, error) = app
            .post(
                &dave,
                "/api/v1/users",
                json!({ "username": name, "display_name": "Not the broker",
                        "password": "a long enough passphrase", "roles": ["approver"] }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert_eq!(error["error"]["field"], "username");
    }
}

#[tokio::test]
async fn writes_on_what_a_caller_may_not_see_answer_404_as_for_what_does_not_exist() {
    let app = TestApp::new().await;
    let (_, frank) = app
        .seed_user("frank", &[Role::Requester], &["report-cron"])
        .await;
    let request = app
        .file(&frank, "report-cron", "payments-db", "read", 600)
        .await;
    let bob = app.login("bob").await;
    let decided = app
        .post(
            &bob,
            &format!("/api/v1/requests/{request}/approve"),
            json!({}),
        )
        .await
        .1;
    let grant = decided["grant"]["id"].as_i64().unwrap();
    // alice owns nothing of this: for her it does not exist, whatever she tries.
    let alice = app.login("alice").await;
    let missing = 9_999;
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/requests/{r}/approve",
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/v1/requests/{r}/deny",
            Some(json!({ "comment": "no" })),
        ),
        (Method::POST, "/api/v1/requests/{r}/cancel", None),
        (Method::POST, "/api/v1/grants/{g}/credential", None),
        (
            Method::POST,
            "/api/v1/grants/{g}/revoke",
            Some(json!({ "reason": "mine now" })),
        ),
    ] {
        let seen = path
            .replace("{r}", &request.to_string())
            .replace("{g}", &grant.to_string());
        let unseen = path
            .replace("{r}", &missing.to_string())
            .replace("{g}", &missing.to_string());
        let (status, body_seen) = app
            .call(Some(&alice), method.clone(), &seen, body.clone())
            .await;
        let (missing_status, body_missing) = app.call(Some(&alice), method, &unseen, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{seen}: {body_seen}");
        assert_eq!(missing_status, StatusCode::NOT_FOUND, "{unseen}");
        assert_eq!(body_seen["error"]["code"], body_missing["error"]["code"]);
    }
    // What she may see but not do stays 403: her own request, which she cannot approve.
    let own = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let (status, _) = app
        .post(
            &alice,
            &format!("/api/v1/requests/{own}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn csv_exports_neutralise_formulas_and_name_the_actors_id() {
    use axum::body::Body;
    use axum::http::{Request, header};
    let app = TestApp::new().await;
    // A sign-in whose User-Agent is a spreadsheet formula.
    let request = Request::post("/api/v1/session")
        .header("x-stint-csrf", "1")
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            header::USER_AGENT,
            "=HYPERLINK(\"http://evil.example/\",\"click\")",
        )
        .body(Body::from(
            json!({ "username": "alice", "password": stint_broker::demo::PASSWORD }).to_string(),
        ))
        .unwrap();
    assert_eq!(app.send(request).await.0, StatusCode::OK);
    let dave = app.login("dave").await;
    let download = Request::get("/api/v1/audit/export?format=csv&action=session.login")
        .header(header::COOKIE, &dave.cookie)
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = app.send(download).await;
    assert_eq!(status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(body.as_str().unwrap().as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[8], "actor_id");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let alice = rows.iter().find(|r| &r[2] == "alice").unwrap();
    assert!(alice[8].parse::<i64>().unwrap() > 0);
    assert!(alice[7].starts_with("'=HYPERLINK"), "{:?}", &alice[7]);
    for row in &rows {
        for cell in row {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{row:?}");
        }
    }
}

#[tokio::test]
async fn the_public_url_decides_secure_cookies_and_hsts() {
    use axum::body::Body;
    use axum::http::{Request, header};
    // Behind a TLS proxy on loopback: what users see is https, so cookies are Secure.
    let tls = TestApp::with_config(|c| c.public_url = "https://stint.example.com".into()).await;
    let (_, headers, _) = tls
        .login_raw("alice", stint_broker::demo::PASSWORD, None)
        .await;
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
    let (_, headers, _) = tls
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        headers[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000"
    );

    let plain = TestApp::with_config(|c| c.public_url = "http://127.0.0.1:8080".into()).await;
    let (_, headers, _) = plain
        .login_raw("alice", stint_broker::demo::PASSWORD, None)
        .await;
    assert!(
        !headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    let (_, headers, _) = plain
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert!(headers.get(header::STRICT_TRANSPORT_SECURITY).is_none());
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_the_users_other_sessions() {
    let app = TestApp::new().await;
    let here = app.login("alice").await;
    let elsewhere = app.login("alice").await;
    let change =
        |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    let (status, error) = app
        .put(
            &here,
            "/api/v1/me/password",
            change("wrong", "a much longer passphrase"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "current_password");
    let (status, error) = app
        .put(
            &here,
            "/api/v1/me/password",
            change(stint_broker::demo::PASSWORD, "short"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "new_password");
    let (status, _) = app
        .put(
            &here,
            "/api/v1/me/password",
            change(stint_broker::demo::PASSWORD, "a much longer passphrase"),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&here, "/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(
        app.get(&elsewhere, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let old = app
        .login_raw("alice", stint_broker::demo::PASSWORD, None)
        .await;
    assert_eq!(old.0, StatusCode::UNAUTHORIZED);
    let new = app
        .login_raw("alice", "a much longer passphrase", None)
        .await;
    assert_eq!(new.0, StatusCode::OK);
    let events = app.events_about("user 1").await;
    assert!(events.contains(&("alice".into(), "user.password_change_failed".into())));
    assert!(events.contains(&("alice".into(), "user.password_changed".into())));
}

#[tokio::test]
async fn an_admin_reset_ends_the_users_sessions_and_forces_a_change_at_next_sign_in() {
    let app = TestApp::new().await;
    let before = app.login("alice").await;
    let dave = app.login("dave").await;
    let alice_id = app.get(&before, "/api/v1/me").await.1["user"]["id"].clone();
    let reset = format!("/api/v1/users/{alice_id}/password");
    let temporary = json!({ "new_password": "temporary passphrase 42" });
    assert_eq!(
        app.post(&before, &reset, temporary.clone()).await.0,
        StatusCode::FORBIDDEN,
        "only admins reset"
    );
    assert_eq!(
        app.post(&dave, &reset, temporary.clone()).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&before, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, headers, body) = app
        .login_raw("alice", "temporary passphrase 42", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["must_change_password"], true);
    let alice = crate::helpers::session_from(&headers);
    let (status, error) = app.get(&alice, "/api/v1/requests").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["error"]["code"], "password_change_required");
    let (status, me) = app.get(&alice, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["must_change_password"], true);
    let (status, _) = app
        .put(
            &alice,
            "/api/v1/me/password",
            json!({ "current_password": "temporary passphrase 42",
                    "new_password": "my own long passphrase" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&alice, "/api/v1/requests").await.0, StatusCode::OK);
    assert_eq!(
        app.get(&alice, "/api/v1/me").await.1["must_change_password"],
        false
    );

    // An admin changes their own password knowing it, never by reset.
    let dave_id = app.get(&dave, "/api/v1/me").await.1["user"]["id"].clone();
    let (status, _) = app
        .post(
            &dave,
            &format!("/api/v1/users/{dave_id}/password"),
            temporary,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// `POST /api/v1/introspect` with an `Authorization` header (or none).
async fn introspect_as(
    app: &TestApp,
    authorization: Option<&str>,
    token: &str,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    use axum::body::Body;
    use axum::http::{Request, header};
    let mut request =
        Request::post("/api/v1/introspect").header(header::CONTENT_TYPE, "application/json");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let body = Body::from(json!({ "token": token }).to_string());
    app.send(request.body(body).unwrap()).await
}

#[tokio::test]
async fn introspection_answers_only_authenticated_callers_about_their_own_tokens_and_is_rate_limited()
 {
    use base64::Engine;
    let app = TestApp::with_config(|c| {
        c.introspection_per_minute = std::num::NonZeroU32::new(5).unwrap();
    })
    .await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 600).await;
    let token = app.credential(&alice, grant).await.1["token"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, headers, body) = introspect_as(&app, None, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        headers[axum::http::header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let (status, _, _) = introspect_as(&app, Some("Bearer stint_rs_guessed"), &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // An admin makes client credentials for each resource server; shown once, kept hashed.
    let dave = app.login("dave").await;
    let credentials = |resource: &'static str| {
        let app = &app;
        let dave = &dave;
        async move {
            let id = app.id_of(dave, "resources", resource).await;
            let path = format!("/api/v1/resources/{id}/introspection-credentials");
            let (status, created) = app.call(Some(dave), Method::POST, &path, None).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            assert_eq!(created["client_id"], resource);
            created["client_secret"].as_str().unwrap().to_string()
        }
    };
    let payments = credentials("payments-db").await;
    let cluster = credentials("prod-cluster").await;
    assert!(!String::from_utf8_lossy(&app.database_bytes()).contains(&payments));
    let basic = |secret: &str, id: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    };
    let (status, _, own) =
        introspect_as(&app, Some(&basic(&payments, "payments-db")), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["active"], true, "{own}");
    assert_eq!(own["aud"], "payments-db");
    // Another resource's server learns nothing of it, not even that it exists.
    let (_, _, other) = introspect_as(&app, Some(&basic(&cluster, "prod-cluster")), &token).await;
    assert_eq!(other, json!({ "active": false }));
    // People learn of the grants they may see: the holder does, a stranger does not.
    let (_, frank) = app.seed_user("frank", &[Role::Requester], &[]).await;
    let (_, as_frank) = app
        .post(&frank, "/api/v1/introspect", json!({ "token": token }))
        .await;
    assert_eq!(as_frank, json!({ "active": false }));
    let (_, as_alice) = app
        .post(&alice, "/api/v1/introspect", json!({ "token": token }))
        .await;
    assert_eq!(as_alice["active"], true);

    // Each caller has its own budget: payments-db has used 1 of 5 a minute.
    for _ in 0..4 {
        let (status, _, _) = introspect_as(&app, Some(&format!("Bearer {payments}")), &token).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, body) =
        introspect_as(&app, Some(&format!("Bearer {payments}")), &token).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // Five a minute: the next call is allowed within twelve seconds, and the caller is told
    // so in whole seconds, rounded up.
    let wait = retry_after(&headers);
    assert!((1..=12).contains(&wait), "Retry-After {wait}");
    let (status, _, _) = introspect_as(&app, Some(&basic(&cluster, "prod-cluster")), &token).await;
    assert_eq!(status, StatusCode::OK, "prod-cluster's budget is its own");

    // New credentials replace the old ones at once.
    let rotated = credentials("payments-db").await;
    assert_ne!(rotated, payments);
    let (status, _, _) = introspect_as(&app, Some(&format!("Bearer {payments}")), &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_revocation_never_waits_behind_a_large_import_and_readers_see_all_of_it_or_none() {
    use stint_broker::scan_report::{Finding, Report};
    use stint_core::standing::SecretSource;
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 600).await;
    let token = app.credential(&alice, grant).await.1["token"]
        .as_str()
        .unwrap()
        .to_string();
    let report = Report {
        tool: SecretSource::Gitleaks,
        findings: (0..40_000)
            .map(|i| Finding {
                path: format!("src/module{i}.rs"),
                location: format!("src/module{i}.rs:{}", i % 300 + 1),
                secret_type: "Generic API Key".into(),
                fingerprint: format!("sha256:{i:064x}"),
            })
            .collect(),
    };
    let store = app.broker.state().store.clone();
    let now = app.now();
    let import = tokio::spawn(async move {
        store
            .import_report(None, &report, "acme/monorepo", true, now)
            .await
    });
    // Once the import is under way (findings staged, none published)…
    let pool = app.sql_pool().await;
    loop {
        let staged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM standing_staged")
            .fetch_one(&pool)
            .await
            .unwrap();
        if staged > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    // …a revocation goes through before it is done, and the token is dead at once.
    let (status, revoked) = app
        .post(
            &alice,
            &format!("/api/v1/grants/{grant}/revoke"),
            json!({ "reason": "finished early" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(
        !import.is_finished(),
        "the revocation did not wait for the import"
    );
    assert_eq!(app.introspect(&token).await["active"], false);
    let visible: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM standing_credentials")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        visible, 0,
        "nothing of the import shows before it is published"
    );

    let summary = import.await.unwrap().unwrap();
    assert_eq!(summary.new, 40_000);
    assert_eq!(app.count("standing_credentials").await, 40_000);
    assert_eq!(app.count("standing_staged").await, 0, "staging is cleared");
    pool.close().await;
}
