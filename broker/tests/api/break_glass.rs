use crate::helpers::{Session, TestApp, session_from};
use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use stint_broker::store::{FourEyes, NewUser};
use stint_core::api::{ResourceBody, UserView};
use stint_core::{Approvers, Policy, Role};

const WHY: &str = "Checkout fails: a stuck migration holds the ledger lock since 03:10";

async fn body(app: &TestApp, s: &Session, identity: &str, resource: &str, secs: i64) -> Value {
    let mut body = app.request_body(s, identity, resource, "write", secs).await;
    body["justification"]["task"] = json!(WHY);
    body["password"] = json!("stint-demo");
    body
}

pub(crate) async fn take(
    app: &TestApp,
    s: &Session,
    identity: &str,
    resource: &str,
) -> (StatusCode, Value) {
    let body = body(app, s, identity, resource, 1800).await;
    app.post(s, "/api/v1/break-glass", body).await
}

/// A reviewer who also owns ci-deployer, so could try to review their own break-glass.
async fn reviewer_who_owns(app: &TestApp, username: &str) -> Session {
    let state = app.broker.state();
    let now = state.clock.now();
    let hash = stint_broker::password::hash(stint_broker::demo::PASSWORD);
    let user = NewUser {
        username,
        display_name: username,
        password_hash: &hash,
        roles: &[Role::Reviewer],
    };
    let id = state
        .store
        .create_user(None, &user, FourEyes::Required, now)
        .await
        .unwrap()
        .applied()
        .unwrap();
    let carol = app.login("carol").await;
    let identity = app.id_of(&carol, "identities", "ci-deployer").await;
    let user = UserView {
        id,
        username: username.into(),
        display_name: username.into(),
        roles: vec![Role::Reviewer],
        identity_id: None,
        via: None,
        vouched_by: None,
    };
    state
        .store
        .seed_ownership(
            identity,
            &user,
            "I run it too",
            now + Duration::days(30),
            now,
        )
        .await
        .unwrap();
    let (status, headers, _) = app
        .login_raw(username, stint_broker::demo::PASSWORD, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    session_from(&headers)
}

/// Everything a refused break-glass could have created. Refusals themselves are recorded
/// (`authz.refused`, and a wrong password as `break_glass.password_failed`), so those
/// events are left out.
async fn footprint(app: &TestApp) -> [i64; 4] {
    [
        app.count("requests").await,
        app.count("grants").await,
        app.count("reviews").await,
        app.count(
            "audit_events WHERE action NOT IN ('authz.refused', 'break_glass.password_failed')",
        )
        .await,
    ]
}

#[tokio::test]
async fn break_glass_grants_at_once_and_opens_a_review_in_one_go() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let (status, detail) = take(&app, &alice, "ci-deployer", "payments-db").await;
    assert_eq!(status, StatusCode::CREATED, "{detail}");
    assert_eq!(detail["break_glass"], true);
    assert_eq!(detail["state"], "approved");
    assert_eq!(detail["grant"]["state"], "active");
    assert_eq!(detail["grant"]["break_glass"], true);
    assert_eq!(detail["grant"]["expires_at"], "2026-11-02T09:30:00Z");
    let actions: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["break_glass.taken", "grant.activated", "review.opened"]
    );

    let grant = detail["grant"]["id"].as_i64().unwrap();
    assert_eq!(app.credential(&alice, grant).await.0, StatusCode::OK);

    let carol = app.login("carol").await;
    let (_, reviews) = app.get(&carol, "/api/v1/reviews?state=open").await;
    let review = &reviews[0];
    assert_eq!(review["taker"]["name"], "alice");
    assert_eq!(review["identity"]["name"], "ci-deployer");
    assert_eq!(review["justification"]["task"], WHY);
    assert_eq!(review["due_at"], "2026-11-03T09:00:00Z");
    assert_eq!(review["can_review"], true);
    let (_, full) = app
        .get(&carol, &format!("/api/v1/reviews/{}", review["id"]))
        .await;
    assert_eq!(full["credentials"].as_array().unwrap().len(), 1);
    assert!(full["credentials"][0]["jti"].is_string());
    assert!(
        full["credentials"][0].get("token").is_none(),
        "never the token"
    );
    let last = full["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "credential.issued");
}

#[tokio::test]
async fn refused_break_glass_creates_nothing() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let state = app.broker.state();
    state
        .store
        .create_resource(
            None,
            &ResourceBody {
                name: "hr-db".into(),
                description: "No break-glass here".into(),
                privileges: vec!["write".into()],
                policy: Policy {
                    approvals_required: 1,
                    max_duration_secs: 3600,
                    ticket_required: false,
                    break_glass: None,
                    approvers: Approvers::Role,
                    ticket_pattern: None,
                    auto_approve: None,
                    max_start_ahead_secs: None,
                    max_total_secs: None,
                },
                connector: None,
            },
            &[],
            FourEyes::Required,
            state.clock.now(),
        )
        .await
        .unwrap();
    let bob = app.login("bob").await;
    let before = footprint(&app).await;

    let mut wrong_password = body(&app, &alice, "ci-deployer", "payments-db", 600).await;
    wrong_password["password"] = json!("guess");
    let mut too_long = body(&app, &alice, "ci-deployer", "payments-db", 600).await;
    too_long["duration_secs"] = json!(3601);
    let mut vague = body(&app, &alice, "ci-deployer", "payments-db", 600).await;
    vague["justification"]["task"] = json!("prod is down, urgent");
    let cases = [
        (
            "wrong password",
            &alice,
            wrong_password,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("password"),
        ),
        (
            "over the cap",
            &alice,
            too_long,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("duration_secs"),
        ),
        (
            "short justification",
            &alice,
            vague,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("justification.task"),
        ),
        (
            "forbidden resource",
            &alice,
            body(&app, &alice, "ci-deployer", "hr-db", 600).await,
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            "orphaned identity",
            &alice,
            body(&app, &alice, "report-cron", "payments-db", 600).await,
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            "not an owner",
            &bob,
            body(&app, &bob, "ci-deployer", "payments-db", 600).await,
            StatusCode::FORBIDDEN,
            None,
        ),
    ];
    for (name, session, body, status, field) in cases {
        let (got, error) = app.post(session, "/api/v1/break-glass", body).await;
        assert_eq!(got, status, "{name}: {error}");
        assert_eq!(error["error"]["field"].as_str(), field, "{name}");
    }
    let (_, orphaned) = take(&app, &alice, "report-cron", "payments-db").await;
    assert!(
        orphaned["error"]["message"]
            .as_str()
            .unwrap()
            .contains("declare ownership")
    );
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn break_glass_is_rate_limited_per_user_and_identity() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    for _ in 0..3 {
        assert_eq!(
            take(&app, &alice, "ci-deployer", "payments-db").await.0,
            StatusCode::CREATED
        );
    }
    let (status, error) = take(&app, &alice, "ci-deployer", "payments-db").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{error}");
    assert_eq!(
        take(&app, &alice, "billing-agent", "payments-db").await.0,
        StatusCode::CREATED
    );
    app.advance(Duration::hours(24));
    let alice = app.login("alice").await;
    assert_eq!(
        take(&app, &alice, "ci-deployer", "payments-db").await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn nobody_reviews_their_own_break_glass_and_nobody_reviews_twice() {
    let app = TestApp::new().await;
    let rita = reviewer_who_owns(&app, "rita").await;
    let (status, detail) = take(&app, &rita, "ci-deployer", "payments-db").await;
    assert_eq!(status, StatusCode::CREATED, "{detail}");
    let review = detail["grant"]["review_id"].as_i64().unwrap();
    let path = format!("/api/v1/reviews/{review}");
    let justified = json!({ "outcome": "justified", "notes": "" });

    let (status, error) = app.post(&rita, &path, justified.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    let erin = app.login("erin").await;
    assert_eq!(
        app.post(&erin, &path, justified.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, seen) = app.get(&rita, &path).await;
    assert_eq!(seen["can_review"], false);

    let carol = app.login("carol").await;
    let (status, error) = app
        .post(
            &carol,
            &path,
            json!({ "outcome": "unjustified", "notes": " " }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "notes");

    let (status, decided) = app
        .post(
            &carol,
            &path,
            json!({ "outcome": "unjustified", "notes": "No incident that night" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["status"], "decided");
    assert_eq!(decided["outcome"], "unjustified");
    assert_eq!(decided["reviewer"]["name"], "carol");
    assert_eq!(
        app.post(&carol, &path, justified).await.0,
        StatusCode::CONFLICT
    );
    let last = decided["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["action"], "review.decided");
    assert_eq!(last["details"]["notes"], "No incident that night");

    let dave = app.login("dave").await;
    let (_, flagged) = app.get(&dave, "/api/v1/reviews?outcome=unjustified").await;
    assert_eq!(flagged.as_array().unwrap().len(), 1);
    let identity = app.id_of(&dave, "identities", "ci-deployer").await;
    let (_, history) = app
        .get(&dave, &format!("/api/v1/identities/{identity}"))
        .await;
    assert_eq!(
        history["unjustified_break_glass"], 1,
        "flagged on the identity"
    );
}

#[tokio::test]
async fn reviews_past_their_due_time_are_overdue_and_listed_first() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    take(&app, &alice, "ci-deployer", "payments-db").await;
    app.advance(Duration::hours(23));
    let alice = app.login("alice").await;
    take(&app, &alice, "billing-agent", "payments-db").await;
    let carol = app.login("carol").await;
    let (_, open) = app.get(&carol, "/api/v1/reviews?state=open").await;
    assert_eq!(open.as_array().unwrap().len(), 2);

    app.advance(Duration::hours(1));
    let carol = app.login("carol").await;
    let (_, all) = app.get(&carol, "/api/v1/reviews").await;
    assert_eq!(all[0]["status"], "overdue");
    assert_eq!(all[0]["identity"]["name"], "ci-deployer");
    assert_eq!(all[1]["status"], "open");
    let (_, overdue) = app.get(&carol, "/api/v1/reviews?state=overdue").await;
    assert_eq!(overdue.as_array().unwrap().len(), 1);
    let (status, _) = app.get(&carol, "/api/v1/reviews?state=late").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn two_reviewers_at_once_record_one_outcome() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let (_, detail) = take(&app, &alice, "ci-deployer", "payments-db").await;
    let review = detail["grant"]["review_id"].as_i64().unwrap();
    let rita = reviewer_who_owns(&app, "rita").await;
    let carol = app.login("carol").await;
    let path = format!("/api/v1/reviews/{review}");
    let (a, b) = tokio::join!(
        app.post(&carol, &path, json!({ "outcome": "justified" })),
        app.post(
            &rita,
            &path,
            json!({ "outcome": "unjustified", "notes": "no ticket" })
        )
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let pool = app.sql_pool().await;
    let decided: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'review.decided'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(decided, 1);
}

#[tokio::test]
async fn a_reviewer_may_revoke_break_glass_and_the_review_stays_open() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let (_, detail) = take(&app, &alice, "ci-deployer", "payments-db").await;
    let grant = detail["grant"]["id"].as_i64().unwrap();
    let review = detail["grant"]["review_id"].as_i64().unwrap();
    let carol = app.login("carol").await;
    let (status, revoked) = app
        .post(
            &carol,
            &format!("/api/v1/grants/{grant}/revoke"),
            json!({ "reason": "Incident closed" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let (_, seen) = app.get(&carol, &format!("/api/v1/reviews/{review}")).await;
    assert_eq!(seen["status"], "open");
    assert_eq!(seen["grant_state"], "revoked");
    assert_eq!(seen["can_review"], true);
}

#[tokio::test]
async fn reviewers_see_how_many_reviews_wait_and_how_many_are_overdue() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    take(&app, &alice, "ci-deployer", "payments-db").await;
    let carol = app.login("carol").await;
    let (_, me) = app.get(&carol, "/api/v1/me").await;
    assert_eq!(
        (
            me["reviews_waiting"].as_u64(),
            me["reviews_overdue"].as_u64()
        ),
        (Some(1), Some(0))
    );
    app.advance(Duration::hours(25));
    let carol = app.login("carol").await;
    let (_, me) = app.get(&carol, "/api/v1/me").await;
    assert_eq!(
        (
            me["reviews_waiting"].as_u64(),
            me["reviews_overdue"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let alice = app.login("alice").await;
    assert_eq!(app.get(&alice, "/api/v1/me").await.1["reviews_waiting"], 0);
}

#[tokio::test]
async fn an_unjustified_verdict_can_end_the_access_in_the_same_step() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let (status, taken) = take(&app, &alice, "ci-deployer", "payments-db").await;
    assert_eq!(status, StatusCode::CREATED, "{taken}");
    let grant = taken["grant"]["id"].as_i64().unwrap();
    let review = taken["grant"]["review_id"].as_i64().unwrap();
    let token = app.credential(&alice, grant).await.1["token"]
        .as_str()
        .unwrap()
        .to_string();
    let carol = app.login("carol").await;
    let path = format!("/api/v1/reviews/{review}");
    // Ending the access goes only with an unjustified verdict.
    let (status, error) = app
        .post(
            &carol,
            &path,
            json!({ "outcome": "justified", "notes": "", "end_access": true }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "end_access");
    assert_eq!(
        app.introspect(&token).await["active"],
        true,
        "nothing changed"
    );
    let (status, decided) = app
        .post(
            &carol,
            &path,
            json!({ "outcome": "unjustified", "notes": "No incident that night",
                    "end_access": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["grant_state"], "revoked");
    assert_eq!(app.introspect(&token).await["active"], false);
    let story = app.events_about(&format!("grant {grant}")).await;
    assert_eq!(
        story.last().unwrap(),
        &("carol".to_string(), "grant.revoked".to_string())
    );
}
