//! What goes in and what comes out: deceptive text refused, reserved names, ids a caller
//! may not see answered as missing.

use crate::helpers::TestApp;
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
