//! Notification sinks: admins add them; the events they hear reach a local receiver as
//! Slack Block Kit messages or signed JSON; a failed delivery is retried until the sink
//! answers 2xx, each attempt visible; a change rolled back sends nothing; a broker killed
//! with a delivery pending delivers it after it restarts.

use crate::helpers::{Http, Server, Session, TestApp, on_postgres};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Duration;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use stint_broker::config::Variables;
use stint_broker::notify::worker::{fan_out, run_due};
use stint_broker::outbound::signature;
use stint_core::connectors::RetryPolicy;

/// One POST a receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }
}

/// A local HTTP receiver: records every POST, and answers each with the next status of
/// its path's script (200 once the script is spent).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<HashMap<String, VecDeque<u16>>>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        async fn record(
            State(r): State<Receiver>,
            uri: axum::http::Uri,
            headers: HeaderMap,
            body: String,
        ) -> StatusCode {
            let path = uri.path().to_string();
            let code = r
                .script
                .lock()
                .unwrap()
                .get_mut(&path)
                .and_then(VecDeque::pop_front)
                .unwrap_or(200);
            r.got.lock().unwrap().push(Received {
                path,
                headers,
                body,
            });
            StatusCode::from_u16(code).unwrap()
        }
        let app = Router::new()
            .route("/{*path}", post(record))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, base)
    }

    fn answer(&self, path: &str, codes: &[u16]) {
        self.script
            .lock()
            .unwrap()
            .entry(path.to_string())
            .or_default()
            .extend(codes);
    }

    fn got(&self, path: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_ms: 100,
        cap_ms: 400,
        alert_after: 3,
    }
}

const KEY: &str = "a signing key only the receiver knows";

/// A demo broker whose environment holds the siem sink's URL and key.
async fn broker(base: &str) -> TestApp {
    let url = format!("{base}/siem");
    TestApp::with_config(|c| {
        c.connector_retry = fast_retries();
        c.variables = Variables::given([
            ("STINT_NOTIFY_SIEM_URL", url.as_str()),
            ("STINT_NOTIFY_SIEM_KEY", KEY),
        ]);
        c.public_url = "https://stint.example".into();
    })
    .await
}

/// Fans out what is new and sends what is due, as the worker does.
async fn notify(app: &TestApp) -> (u32, u32) {
    fan_out(app.broker.state()).await.unwrap();
    run_due(app.broker.state()).await.unwrap()
}

async fn add_sink(app: &TestApp, dave: &Session, body: Value) -> Value {
    let (status, sink) = app.post(dave, "/api/v1/notifications/sinks", body).await;
    assert_eq!(status, StatusCode::CREATED, "{sink}");
    sink
}

async fn deliveries(app: &TestApp, dave: &Session, sink: &Value) -> Vec<Value> {
    let path = format!("/api/v1/notifications/sinks/{}/deliveries", sink["id"]);
    let (status, list) = app.get(dave, &path).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn sink_named(app: &TestApp, dave: &Session, name: &str) -> Value {
    let (status, sinks) = app.get(dave, "/api/v1/notifications/sinks").await;
    assert_eq!(status, StatusCode::OK, "{sinks}");
    sinks
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn sinks_hear_their_events_as_slack_messages_and_signed_webhooks() {
    let (receiver, base) = Receiver::start().await;
    let app = broker(&base).await;
    let dave = app.login("dave").await;
    let slack = add_sink(
        &app,
        &dave,
        json!({
            "name": "approvers", "kind": "slack", "url": format!("{base}/slack"),
            "events": ["request.filed", "request.approved"], "resources": ["payments-db"],
        }),
    )
    .await;
    assert_eq!(
        slack["target"],
        format!("{base}/…"),
        "the path is not shown"
    );
    let siem = add_sink(
        &app,
        &dave,
        json!({
            "name": "siem", "kind": "webhook", "url_env": "STINT_NOTIFY_SIEM_URL", "secret_env": "STINT_NOTIFY_SIEM_KEY",
            "events": ["request.filed", "grant.revoked"],
        }),
    )
    .await;
    assert_eq!(siem["target"], "$STINT_NOTIFY_SIEM_URL");

    let alice = app.login("alice").await;
    let payments = app
        .file(&alice, "ci-deployer", "payments-db", "read", 3600)
        .await;
    let cluster = app
        .file(&alice, "ci-deployer", "prod-cluster", "deploy", 3600)
        .await;
    receiver.answer("/siem", &[500]);
    assert_eq!(
        notify(&app).await,
        (2, 1),
        "slack took one, the siem refused"
    );

    // Slack hears of payments-db only, as Block Kit naming who asks what and why.
    let to_slack = receiver.got("/slack");
    assert_eq!(to_slack.len(), 1);
    let message = to_slack[0].json();
    assert_eq!(
        message["text"],
        "alice asks for read on payments-db as ci-deployer for 1 h"
    );
    let text = message["blocks"].to_string();
    for fact in [
        "OPS-1234",
        "Rotate the ledger encryption keys",
        "For bob, erin",
    ] {
        assert!(text.contains(fact), "{fact} in {text}");
    }
    let button = &message["blocks"].as_array().unwrap().last().unwrap()["elements"][0];
    assert_eq!(
        button["url"],
        format!("https://stint.example/requests/{payments}")
    );

    // The webhook is tried again after its backoff, with the same key and a signature
    // the receiver can check.
    app.advance(Duration::milliseconds(500));
    assert_eq!(notify(&app).await, (1, 0));
    let to_siem = receiver.got("/siem");
    assert_eq!(to_siem.len(), 3, "two events, the first twice");
    // Sent concurrently, either may have met the 500: one was sent twice, alike.
    let retried: Vec<&Received> = to_siem
        .iter()
        .filter(|r| to_siem.iter().filter(|o| o.body == r.body).count() == 2)
        .collect();
    assert_eq!(retried.len(), 2);
    assert_eq!(
        retried[0].header("idempotency-key"),
        retried[1].header("idempotency-key")
    );
    for got in &to_siem {
        let stamp = got.header("stint-signature");
        let t: i64 = stamp[2..stamp.find(',').unwrap()].parse().unwrap();
        assert_eq!(stamp, signature(KEY.as_bytes(), t, &got.body));
        assert_eq!(got.header("stint-event"), "request.filed");
        assert_eq!(got.json()["event"], "request.filed");
    }
    let about_cluster = to_siem
        .iter()
        .find(|r| r.json()["request"]["id"] == cluster)
        .unwrap()
        .json();
    assert_eq!(about_cluster["request"]["resource"], "prod-cluster");
    assert_eq!(about_cluster["recipients"], json!(["bob", "erin"]));

    // Each attempt is on the sink's page.
    let list = deliveries(&app, &dave, &siem).await;
    assert!(list.iter().all(|d| d["status"] == "delivered"), "{list:?}");
    let retried = list
        .iter()
        .find(|d| d["attempts"].as_array().unwrap().len() == 2)
        .expect("the retried delivery");
    let codes: Vec<&Value> = retried["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["response_code"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(200)]);
    assert_eq!(sink_named(&app, &dave, "siem").await["pending"], 0);

    // An approval reaches Slack; the credential fetched after it is in no message.
    let bob = app.login("bob").await;
    let (status, approved) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{payments}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    let grant = approved["grant"]["id"].as_i64().unwrap();
    let (status, credential) = app.credential(&alice, grant).await;
    assert_eq!(status, StatusCode::OK, "{credential}");
    let (status, _) = app
        .post(
            &dave,
            &format!("/api/v1/grants/{grant}/revoke"),
            json!({ "reason": "The rotation is done" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    notify(&app).await;
    let approval = receiver.got("/slack").last().unwrap().json();
    assert_eq!(
        approval["text"],
        "bob approved alice's request for read on payments-db as ci-deployer"
    );
    let revoked = receiver.got("/siem").last().unwrap().json();
    assert_eq!(revoked["event"], "grant.revoked");
    assert_eq!(revoked["reason"], "The rotation is done");
    let token = credential["token"].as_str().unwrap();
    for got in receiver.got.lock().unwrap().iter() {
        assert!(!got.body.contains(token), "no credential in {}", got.body);
    }
}

#[tokio::test]
async fn a_sink_that_keeps_failing_is_flagged_once_and_heals_when_it_answers() {
    let (receiver, base) = Receiver::start().await;
    let app = broker(&base).await;
    let dave = app.login("dave").await;
    add_sink(
        &app,
        &dave,
        json!({
            "name": "ops", "kind": "slack", "url": format!("{base}/ops"),
            "events": ["request.filed"],
        }),
    )
    .await;
    // A redirect is not followed, and does not count as delivered.
    receiver.answer("/ops", &[302, 503, 503, 503]);
    let alice = app.login("alice").await;
    app.file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    for _ in 0..4 {
        assert_eq!(notify(&app).await, (0, 1));
        app.advance(Duration::milliseconds(401));
    }
    let sink = sink_named(&app, &dave, "ops").await;
    assert_eq!(sink["failing"], true, "{sink}");
    assert_eq!(sink["failures_in_a_row"], 4);
    let flagged = app
        .events_about(&format!("notification_sink {}", sink["id"]))
        .await;
    let count = |action: &str| flagged.iter().filter(|(_, a)| a == action).count();
    assert_eq!(count("notification.sink_failing"), 1, "{flagged:?}");
    let list = deliveries(&app, &dave, &sink).await;
    assert_eq!(list[0]["status"], "retrying");
    assert!(list[0]["next_attempt_at"].is_string());
    assert_eq!(
        list[0]["attempts"][0]["error"],
        "answered 302 (only 2xx confirms)"
    );
    assert_eq!(list[0]["attempts"][1]["error"], "answered 503");

    assert_eq!(notify(&app).await, (1, 0));
    let sink = sink_named(&app, &dave, "ops").await;
    assert_eq!(sink["failing"], false);
    assert!(sink["last_delivered_at"].is_string());
}

/// A trigger that fails every new grant: an approval writes its event, then rolls back.
async fn fail_new_grants(app: &TestApp) {
    let pool = app.sql_pool().await;
    let statements: &[&str] = if on_postgres() {
        &[
            "CREATE FUNCTION fail_grant() RETURNS trigger AS $$
             BEGIN RAISE EXCEPTION 'no grants today'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER fail_grants BEFORE INSERT ON grants
             FOR EACH ROW EXECUTE FUNCTION fail_grant()",
        ]
    } else {
        &["CREATE TRIGGER fail_grants BEFORE INSERT ON grants
           BEGIN SELECT RAISE(ABORT, 'no grants today'); END"]
    };
    for statement in statements {
        sqlx::query(*statement).execute(&pool).await.unwrap();
    }
}

#[tokio::test]
async fn a_change_rolled_back_sends_nothing() {
    let (receiver, base) = Receiver::start().await;
    let app = broker(&base).await;
    let dave = app.login("dave").await;
    let sink = add_sink(
        &app,
        &dave,
        json!({
            "name": "decisions", "kind": "webhook", "url": format!("{base}/hook"),
            "events": ["request.approved", "request.denied"],
        }),
    )
    .await;
    let alice = app.login("alice").await;
    let request = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    fail_new_grants(&app).await;
    let bob = app.login("bob").await;
    let (status, _) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{request}/approve"),
            json!({}),
        )
        .await;
    assert!(status.is_server_error(), "the approval failed: {status}");
    notify(&app).await;
    assert!(
        receiver.got("/hook").is_empty(),
        "nothing about an approval that never was"
    );
    assert!(deliveries(&app, &dave, &sink).await.is_empty());

    // What does commit is sent.
    let (status, _) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{request}/deny"),
            json!({ "comment": "Not during the freeze" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(notify(&app).await, (1, 0));
    let denied = receiver.got("/hook")[0].json();
    assert_eq!(denied["event"], "request.denied");
    assert_eq!(denied["reason"], "Not during the freeze");
    assert_eq!(
        denied["recipients"],
        json!(["alice"]),
        "the requester, who owns it too"
    );
}

#[tokio::test]
async fn sinks_are_for_admins_to_add_and_bad_ones_are_refused_naming_the_field() {
    let (_receiver, base) = Receiver::start().await;
    let app = broker(&base).await;
    let dave = app.login("dave").await;
    let good = json!({
        "name": "ops", "kind": "slack", "url": format!("{base}/ops"), "events": ["request.filed"],
    });
    let bad = |change: Value| {
        let mut body = good.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (body, field) in [
        (
            bad(json!({ "url_env": "STINT_NOTIFY_SIEM_URL" })),
            "url_env",
        ),
        (
            bad(json!({ "url": null, "url_env": "STINT_NOTIFY_NOT_SET" })),
            "url_env",
        ),
        (
            bad(json!({ "url": null, "url_env": "STINT_DATABASE_URL" })),
            "url_env",
        ),
        (bad(json!({ "url": "http://hooks.example.com/x" })), "url"),
        (bad(json!({ "events": ["user.created"] })), "events"),
        (bad(json!({ "kind": "email" })), "kind"),
        (bad(json!({ "resources": ["no-such-db"] })), "resources"),
        (
            bad(json!({ "secret_env": "STINT_NOTIFY_SIEM_KEY" })),
            "secret_env",
        ),
        (bad(json!({ "name": "" })), "name"),
    ] {
        let (status, error) = app.post(&dave, "/api/v1/notifications/sinks", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let (status, sinks) = app.get(&dave, "/api/v1/notifications/sinks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sinks, json!([]), "nothing was added");

    let sink = add_sink(&app, &dave, good.clone()).await;
    let (status, error) = app.post(&dave, "/api/v1/notifications/sinks", good).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "name", "one sink per name");

    let bob = app.login("bob").await;
    let (status, _) = app
        .post(
            &bob,
            "/api/v1/notifications/sinks",
            json!({ "name": "mine", "kind": "slack", "url": format!("{base}/x"), "events": ["request.filed"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get(&bob, "/api/v1/notifications/sinks").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let path = format!("/api/v1/notifications/sinks/{}", sink["id"]);
    let (status, _) = app
        .call(Some(&dave), axum::http::Method::DELETE, &path, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&dave, &format!("{path}/deliveries")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let events = app
        .events_about(&format!("notification_sink {}", sink["id"]))
        .await;
    let actions: Vec<&str> = events.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(
        actions,
        ["notification.sink_added", "notification.sink_removed"]
    );
}

/// The deliveries of sink `id` once `done` holds of them (within 20 s).
fn wait_for_deliveries(http: &Http, dave: &str, id: &Value, done: impl Fn(&[Value]) -> bool) {
    let path = format!("/api/v1/notifications/sinks/{id}/deliveries");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let list = http.call(dave, "GET", &path, None);
        if done(list.as_array().unwrap()) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "still {list}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

// Multi-threaded: the receiver answers while the test waits on the broker processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_killed_with_a_delivery_pending_delivers_it_after_restart() {
    let (receiver, base) = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = crate::helpers::fresh_database(dir.path()).await;
    let key_file = dir.path().join("stint.key");
    let mut first = Server::start(&db_url, &key_file, true);
    first.wait_healthy();
    let http = Http(first.base.clone());
    let dave = http.login("dave");
    let sink = http.call(
        &dave,
        "POST",
        "/api/v1/notifications/sinks",
        Some(json!({
            "name": "pager", "kind": "webhook", "url": format!("{base}/pager"),
            "events": ["break_glass.taken"],
        })),
    );
    // Refused for as long as the first broker lives.
    receiver.answer("/pager", &[500; 50]);
    let alice = http.login("alice");
    let taken = http.call(
        &alice,
        "POST",
        "/api/v1/break-glass",
        Some(json!({
            "identity_id": http.id_of(&alice, "identities", "ci-deployer"),
            "resource_id": http.id_of(&alice, "resources", "payments-db"),
            "privilege": "read",
            "duration_secs": 600,
            "justification": { "task": "Payments fail and no approver answers the page" },
            "password": stint_broker::demo::PASSWORD,
        })),
    );
    wait_for_deliveries(&http, &dave, &sink["id"], |list| {
        list.len() == 1 && list[0]["status"] == "retrying"
    });
    first.kill();
    let refused = receiver.got("/pager").len();
    receiver.script.lock().unwrap().clear();

    let mut second = Server::start(&db_url, &key_file, true);
    second.wait_healthy();
    let http = Http(second.base.clone());
    let dave = http.login("dave");
    wait_for_deliveries(&http, &dave, &sink["id"], |list| {
        list.len() == 1 && list[0]["status"] == "delivered"
    });
    let got = receiver.got("/pager");
    assert_eq!(got.len(), refused + 1, "sent again once, not queued twice");
    assert!(
        got.windows(2).all(|w| w[0].body == w[1].body),
        "the same message"
    );
    let told = got.last().unwrap().json();
    assert_eq!(told["event"], "break_glass.taken");
    assert_eq!(told["request"]["id"], taken["id"]);
    assert_eq!(
        told["recipients"],
        json!(["carol", "alice"]),
        "reviewers, then owners"
    );
    drop(second);
}

#[tokio::test]
async fn people_leave_themselves_out_of_messages_but_reviewers_hear_of_break_glass() {
    let (receiver, base) = Receiver::start().await;
    let app = broker(&base).await;
    let dave = app.login("dave").await;
    add_sink(
        &app,
        &dave,
        json!({
            "name": "router", "kind": "webhook", "url": format!("{base}/router"),
            "events": ["request.filed", "break_glass.taken"],
        }),
    )
    .await;
    let bob = app.login("bob").await;
    let (status, mine) = app.get(&bob, "/api/v1/me/notifications").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .any(|c| c["event"] == "request.filed"
                && c["wanted"] == true
                && c["required"] == false)
    );
    let (status, mine) = app
        .put(
            &bob,
            "/api/v1/me/notifications",
            json!({ "muted": ["request.filed"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .any(|c| c["event"] == "request.filed" && c["wanted"] == false)
    );

    let carol = app.login("carol").await;
    let (status, error) = app
        .put(
            &carol,
            "/api/v1/me/notifications",
            json!({ "muted": ["break_glass.taken"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "muted");
    let (_, choices) = app.get(&carol, "/api/v1/me/notifications").await;
    let required: Vec<&Value> = choices
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["required"] == true)
        .collect();
    assert_eq!(required.len(), 2, "{choices}");

    // Alice, an owner who reviews nothing, may leave herself out of break-glass news.
    let alice = app.login("alice").await;
    let (status, _) = app
        .put(
            &alice,
            "/api/v1/me/notifications",
            json!({ "muted": ["break_glass.taken"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let (status, taken) =
        crate::break_glass::take(&app, &alice, "ci-deployer", "payments-db").await;
    assert_eq!(status, StatusCode::CREATED, "{taken}");
    notify(&app).await;
    let got = receiver.got("/router");
    let to = |event: &str| {
        got.iter()
            .map(Received::json)
            .find(|m| m["event"] == event)
            .unwrap()["recipients"]
            .clone()
    };
    assert_eq!(to("request.filed"), json!(["erin"]), "bob left himself out");
    assert_eq!(
        to("break_glass.taken"),
        json!(["carol"]),
        "carol cannot leave"
    );
}

#[tokio::test]
async fn an_access_review_tells_each_person_with_items_where_to_answer() {
    let (receiver, base) = Receiver::start().await;
    let app = broker(&base).await;
    let dave = app.login("dave").await;
    add_sink(
        &app,
        &dave,
        json!({ "name": "reviews", "kind": "webhook", "url": format!("{base}/reviews"),
                "events": ["campaign.started", "campaign.overdue"] }),
    )
    .await;
    let body = json!({ "name": "Q4 access review", "due_at": app.now() + Duration::days(7) });
    let (status, campaign) = app.post(&dave, "/api/v1/campaigns", body).await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    assert_eq!(notify(&app).await, (1, 0));
    let got = receiver.got("/reviews");
    let message = got[0].json();
    assert_eq!(message["event"], "campaign.started");
    assert_eq!(message["campaign"]["name"], "Q4 access review");
    assert_eq!(
        message["url"],
        format!("https://stint.example/campaigns/{}", campaign["id"])
    );
    // The demo's owners answer for their identities; the admins (dave, grace) for the policies
    // and the orphan. Nobody without an item is named.
    let mut recipients: Vec<&str> = message["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    recipients.sort();
    assert_eq!(recipients, ["alice", "dave", "erin", "grace"]);
    assert!(
        message["summary"]
            .as_str()
            .unwrap()
            .contains("answer your items by")
    );

    // Alice answers all of hers; past the due time the others are reminded, once.
    let alice = app.login("alice").await;
    let id = campaign["id"].as_i64().unwrap();
    let (_, mine) = app.get(&alice, &format!("/api/v1/campaigns/{id}")).await;
    for item in mine["item_list"].as_array().unwrap() {
        let path = format!("/api/v1/campaigns/{id}/items/{}/decide", item["id"]);
        let (status, body) = app.post(&alice, &path, json!({ "decision": "keep" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    app.advance(Duration::days(7) + Duration::minutes(1));
    app.sweep().await;
    app.sweep().await;
    assert_eq!(notify(&app).await, (1, 0), "one reminder");
    let got = receiver.got("/reviews");
    let reminder = got[1].json();
    assert_eq!(reminder["event"], "campaign.overdue");
    assert!(
        reminder["summary"]
            .as_str()
            .unwrap()
            .contains("your items still wait")
    );
    let mut owing: Vec<&str> = reminder["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    owing.sort();
    assert_eq!(owing, ["dave", "erin", "grace"], "alice answered hers");
}

#[tokio::test]
async fn a_proposed_change_tells_the_other_admins_where_to_approve_it() {
    let (receiver, base) = Receiver::start().await;
    let app = broker(&base).await;
    let dave = app.login("dave").await;
    add_sink(
        &app,
        &dave,
        json!({ "name": "admins", "kind": "webhook", "url": format!("{base}/admins"),
                "events": ["proposal.filed"] }),
    )
    .await;
    let id = app.id_of(&dave, "resources", "prod-cluster").await;
    let path = format!("/api/v1/resources/{id}");
    let (_, mut body) = app.get(&dave, &path).await;
    body["policy"]["approvals_required"] = json!(1);
    let (status, proposal) = app.put(&dave, &path, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{proposal}");
    assert_eq!(notify(&app).await, (1, 0));
    let message = receiver.got("/admins")[0].json();
    assert_eq!(message["event"], "proposal.filed");
    assert_eq!(message["recipients"], json!(["grace"]), "not its proposer");
    assert_eq!(message["proposal"]["subject"], "resource prod-cluster");
    assert_eq!(
        message["summary"],
        "dave proposes a change to resource prod-cluster that widens access \
         (requires 1 approval instead of 2): a second admin must approve it"
    );
    assert_eq!(message["url"], "https://stint.example/admin/proposals");
}
