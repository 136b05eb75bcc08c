//! The live feed (`GET /api/v1/events`) read as a browser's EventSource would, from a
//! broker serving on loopback, while changes are made through another broker on the same
//! database (as on another replica); and the timed notices the sweep adds to the trail.

use crate::break_glass::take;
use crate::client::token;
use crate::helpers::{Session, TestApp, serve};
use axum::http::{Method, Request, StatusCode, header};
use bytes::Bytes;
use chrono::Duration;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// How long a test waits for a change to reach a reader: the replica that serves the feed
/// looks at the trail every 250 ms.
const WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// How long without a change means none is coming: six of the feed's looks at the trail.
const QUIET: std::time::Duration = std::time::Duration::from_millis(1500);

/// One server-sent event.
#[derive(Debug, Clone)]
struct Told {
    event: String,
    id: Option<i64>,
    data: Value,
}

/// An open feed, read event by event.
struct Feed {
    body: BoxBody<Bytes, String>,
    buffer: String,
}

enum Reader<'a> {
    Session(&'a Session),
    Token(&'a str),
}

/// Opens the feed at `base` as `reader`, with `Last-Event-ID` when given; the status, and
/// the feed when it is open.
async fn open(base: &str, reader: Reader<'_>, last_event_id: Option<&str>) -> (StatusCode, Feed) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(format!("{base}/api/v1/events"))
        .header(header::ACCEPT, "text/event-stream");
    request = match reader {
        Reader::Session(s) => request.header(header::COOKIE, &s.cookie),
        Reader::Token(t) => request.header(header::AUTHORIZATION, format!("Bearer {t}")),
    };
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = client
        .request(request.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().map_err(|e| e.to_string()).boxed();
    (
        status,
        Feed {
            body,
            buffer: String::new(),
        },
    )
}

impl Feed {
    /// The next event (comments skipped), or `None` if none comes within `WITHIN`.
    async fn next(&mut self) -> Option<Told> {
        self.next_within(WITHIN).await
    }

    async fn next_within(&mut self, within: std::time::Duration) -> Option<Told> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut told = Told {
                    event: "message".into(),
                    id: None,
                    data: Value::Null,
                };
                let mut any = false;
                for line in block.lines() {
                    if let Some((field, value)) = line.split_once(':') {
                        let value = value.strip_prefix(' ').unwrap_or(value);
                        match field {
                            "event" => told.event = value.to_string(),
                            "id" => told.id = value.parse().ok(),
                            "data" => told.data = serde_json::from_str(value).unwrap(),
                            _ => continue,
                        }
                        any = true;
                    }
                }
                if any && told.data != Value::Null {
                    return Some(told);
                }
                continue;
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame()).await;
            match frame {
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.push_str(std::str::from_utf8(&data).unwrap());
                    }
                }
                _ => return None,
            }
        }
    }

    /// The next change, past the feed's own `ready`.
    async fn next_change(&mut self) -> Option<Told> {
        self.next_change_within(WITHIN).await
    }

    async fn next_change_within(&mut self, within: std::time::Duration) -> Option<Told> {
        loop {
            let told = self.next_within(within).await?;
            if told.event != "ready" {
                return Some(told);
            }
        }
    }

    /// Every change told until none comes for `QUIET` (several of the feed's looks).
    async fn drain(&mut self) -> Vec<Told> {
        let mut all = Vec::new();
        while let Some(told) = self.next_change_within(QUIET).await {
            all.push(told);
        }
        all
    }
}

fn requests_told(told: &[Told]) -> Vec<(String, i64)> {
    told.iter()
        .filter_map(|t| Some((t.event.clone(), t.data["request_id"].as_i64()?)))
        .collect()
}

#[tokio::test]
async fn an_approver_hears_of_a_new_request_at_once_and_a_reader_nothing_it_may_not_see() {
    let app = TestApp::new().await;
    let served = serve(&app).await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    // A requester who owns nothing: alice's requests are none of theirs.
    let (_, frank) = app
        .seed_user("frank", &[stint_core::Role::Requester], &[])
        .await;
    let ci = token(&app).await;

    let (status, mut bobs) = open(&served.url, Reader::Session(&bob), None).await;
    assert_eq!(status, StatusCode::OK);
    let ready = bobs.next().await.expect("the feed says where it starts");
    assert_eq!(ready.event, "ready");
    let (status, mut franks) = open(&served.url, Reader::Session(&frank), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(franks.next().await.unwrap().event, "ready");
    let (status, mut identitys) = open(&served.url, Reader::Token(&ci), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(identitys.next().await.unwrap().event, "ready");

    let filed = app
        .file(&alice, "ci-deployer", "payments-db", "read", 900)
        .await;
    let told = bobs.next_change().await.expect("bob hears of it");
    assert_eq!(told.event, "request.filed");
    assert_eq!(told.data["request_id"], filed);
    assert_eq!(told.data["kind"], "request.filed");
    assert_eq!(
        told.id,
        told.data["seq"].as_i64(),
        "the id is the trail's seq"
    );
    assert!(
        told.data.get("task").is_none(),
        "a message names what changed, not what it says: {}",
        told.data
    );

    // The identity files for itself: it hears of that, and never of alice's.
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let (status, _, own) = app
        .bearer(&ci, Method::POST, "/api/v1/requests", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let own = own["id"].as_i64().unwrap();
    let told = identitys.next_change().await.expect("it hears of its own");
    assert_eq!(
        (told.event.as_str(), told.data["request_id"].as_i64()),
        ("request.filed", Some(own))
    );
    assert_eq!(bobs.next_change().await.unwrap().data["request_id"], own);

    let (status, _) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{filed}/deny"),
            json!({"comment": "Not this week"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        requests_told(&[bobs.next_change().await.unwrap()]),
        [("request.denied".to_string(), filed)]
    );
    assert!(
        franks.drain().await.is_empty(),
        "frank may see none of these requests"
    );
    assert!(
        identitys.drain().await.is_empty(),
        "the identity hears only of what it filed"
    );
}

#[tokio::test]
async fn a_reader_that_reconnects_with_last_event_id_gets_what_it_missed_once() {
    let app = TestApp::new().await;
    let served = serve(&app).await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let (_, mut feed) = open(&served.url, Reader::Session(&bob), None).await;
    let first = app
        .file(&alice, "ci-deployer", "payments-db", "read", 900)
        .await;
    let told = feed.next_change().await.unwrap();
    assert_eq!(told.data["request_id"], first);
    let last_seen = told.id.unwrap();
    drop(feed);

    // While bob is away: two more requests, one withdrawn.
    let second = app
        .file(&alice, "ci-deployer", "payments-db", "read", 900)
        .await;
    let third = app
        .file(&alice, "ci-deployer", "payments-db", "write", 900)
        .await;
    let (status, _) = app
        .post(
            &alice,
            &format!("/api/v1/requests/{second}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (_, mut feed) = open(
        &served.url,
        Reader::Session(&bob),
        Some(&last_seen.to_string()),
    )
    .await;
    let missed = feed.drain().await;
    assert_eq!(
        requests_told(&missed),
        [
            ("request.filed".to_string(), second),
            ("request.filed".to_string(), third),
            ("request.cancelled".to_string(), second),
        ],
        "what was missed, in order, once, and not what was seen: {missed:?}"
    );
    let seqs: Vec<i64> = missed.iter().map(|t| t.id.unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] > last_seen);

    // And then live again, without a repeat.
    let fourth = app
        .file(&alice, "ci-deployer", "payments-db", "read", 900)
        .await;
    assert_eq!(
        requests_told(&feed.drain().await),
        [("request.filed".to_string(), fourth)]
    );
}

#[tokio::test]
async fn an_id_the_trail_never_reached_makes_the_reader_reread() {
    let app = TestApp::new().await;
    let served = serve(&app).await;
    let bob = app.login("bob").await;
    // As after a restore from a backup older than what the reader saw.
    let (status, mut feed) = open(&served.url, Reader::Session(&bob), Some("999999")).await;
    assert_eq!(status, StatusCode::OK);
    let told = feed.next().await.unwrap();
    assert_eq!(told.event, "resync");
    let alice = app.login("alice").await;
    let filed = app
        .file(&alice, "ci-deployer", "payments-db", "read", 900)
        .await;
    assert_eq!(
        requests_told(&feed.drain().await),
        [("request.filed".to_string(), filed)],
        "and then hears of what comes next"
    );
}

#[tokio::test]
async fn a_broker_shutting_down_ends_open_feeds_rather_than_wait_on_them() {
    let app = TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let broker = stint_broker::Broker::open(app.config(), app.clock.clone())
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(broker.serve(listener, async {
        let _ = stopped.await;
    }));
    let bob = app.login("bob").await;
    let (_, mut feed) = open(&url, Reader::Session(&bob), None).await;
    assert_eq!(feed.next().await.unwrap().event, "ready");
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), serving)
        .await
        .expect("the broker stops with a feed open")
        .unwrap()
        .unwrap();
    assert!(feed.next().await.is_none(), "the feed ended");
}

#[tokio::test]
async fn the_feed_needs_a_session_or_token_and_a_real_event_id() {
    let app = TestApp::new().await;
    let served = serve(&app).await;
    let nobody = Session {
        cookie: "stint_session=forged".into(),
    };
    let (status, _) = open(&served.url, Reader::Session(&nobody), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = open(&served.url, Reader::Token("stint_forged"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let bob = app.login("bob").await;
    for bad in ["yesterday", "-4"] {
        let (status, mut feed) = open(&served.url, Reader::Session(&bob), Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let error: Value = serde_json::from_slice(
            &feed
                .body
                .frame()
                .await
                .unwrap()
                .unwrap()
                .into_data()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(error["error"]["field"], "Last-Event-ID", "{error}");
    }
}

#[tokio::test]
async fn a_grant_about_to_expire_and_a_review_coming_due_are_announced_once() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let long = app.active_grant(&alice, 3600).await;
    let short = app.active_grant(&alice, 300).await;
    let (status, taken) = take(&app, &alice, "ci-deployer", "payments-db").await;
    assert_eq!(status, StatusCode::CREATED, "{taken}");
    let review = taken["grant"]["review_id"].as_i64().unwrap();
    let count = |events: Vec<(String, String)>, action: &str| {
        events.iter().filter(|(_, a)| a == action).count()
    };

    // 51 minutes in: the hour-long grant's last ten minutes have begun. The five-minute
    // grant, whose holder knew its end from the start, got no warning before it ended.
    app.advance(Duration::minutes(51));
    let report = app.sweep().await;
    assert_eq!(report.notices_given, 1, "{report:?}");
    app.sweep().await;
    assert_eq!(
        count(
            app.events_about(&format!("grant {long}")).await,
            "grant.expiring"
        ),
        1
    );
    assert_eq!(
        count(
            app.events_about(&format!("grant {short}")).await,
            "grant.expiring"
        ),
        0
    );

    // The review (due within a day): two hours before, then when it is overdue.
    app.advance(Duration::hours(22) - Duration::minutes(51));
    app.sweep().await;
    app.advance(Duration::hours(2));
    app.sweep().await;
    app.sweep().await;
    let about_review = app.events_about(&format!("review {review}")).await;
    assert_eq!(
        count(about_review.clone(), "review.due_soon"),
        1,
        "{about_review:?}"
    );
    assert_eq!(count(about_review, "review.overdue"), 1);
}

#[tokio::test]
async fn a_decided_review_is_never_announced_as_overdue() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let (_, taken) = take(&app, &alice, "ci-deployer", "payments-db").await;
    let review = taken["grant"]["review_id"].as_i64().unwrap();
    let carol = app.login("carol").await;
    let (status, decided) = app
        .post(
            &carol,
            &format!("/api/v1/reviews/{review}"),
            json!({ "outcome": "justified", "notes": "The incident ticket matches." }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    app.advance(Duration::days(2));
    let report = app.sweep().await;
    assert_eq!(report.notices_given, 0, "{report:?}");
}

#[tokio::test]
async fn an_access_review_is_heard_by_those_with_an_item_in_it_only() {
    let app = TestApp::new().await;
    let served = serve(&app).await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let (status, mut alices) = open(&served.url, Reader::Session(&alice), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(alices.next().await.unwrap().event, "ready");
    let (_, mut bobs) = open(&served.url, Reader::Session(&bob), None).await;
    assert_eq!(bobs.next().await.unwrap().event, "ready");

    let dave = app.login("dave").await;
    let body = json!({ "name": "Q4 access review", "due_at": app.now() + Duration::days(7) });
    let (status, campaign) = app.post(&dave, "/api/v1/campaigns", body).await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    let told = alices
        .next_change()
        .await
        .expect("alice owns identities: she has items");
    assert_eq!(told.event, "campaign.started");
    assert!(
        bobs.drain().await.is_empty(),
        "bob has nothing to answer in it"
    );
}

/// A GET at `base` (with `session`'s cookie when given): its status and the position its
/// answer says the live feed stood at (`x-stint-position`), if it says one.
async fn read_position(
    base: &str,
    session: Option<&Session>,
    path: &str,
) -> (StatusCode, Option<i64>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(format!("{base}{path}"));
    if let Some(session) = session {
        request = request.header(header::COOKIE, &session.cookie);
    }
    let response = client
        .request(request.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let position = response
        .headers()
        .get("x-stint-position")
        .map(|v| v.to_str().unwrap().parse::<i64>().unwrap());
    (response.status(), position)
}

/// The portal compares a read's position with the one its feed starts after (`ready`'s
/// id): a read at or past it holds every change before the feed opened, so the page need
/// not read again when it opens.
#[tokio::test]
async fn a_signed_in_read_says_where_the_feed_stood_and_nobody_else_learns_it() {
    let app = TestApp::new().await;
    let served = serve(&app).await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;

    // A feed opened after a read never starts before it; with nothing changed in between
    // they stand at one place. (This replica hears of the sign-ins above at its next look
    // at the trail: the pair is taken again until nothing moved between them.)
    let mut quiet = None;
    for _ in 0..20 {
        let (status, read_at) = read_position(&served.url, Some(&bob), "/api/v1/me").await;
        assert_eq!(status, StatusCode::OK);
        let read_at = read_at.expect("a signed-in read says where the feed stood");
        let (_, mut feed) = open(&served.url, Reader::Session(&bob), None).await;
        let ready = feed.next().await.unwrap();
        assert_eq!(ready.event, "ready");
        assert!(ready.id >= Some(read_at), "{:?} < {read_at}", ready.id);
        if ready.id == Some(read_at) {
            quiet = Some(feed);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let mut feed = quiet.expect("with nothing changed, a read and a feed stand at one place");

    // A change: a read begun once the feed has told of it stands at or past it.
    app.file(&alice, "ci-deployer", "payments-db", "read", 900)
        .await;
    let told = feed.next_change().await.expect("bob hears of it");
    let (_, read_at) = read_position(&served.url, Some(&bob), "/api/v1/requests").await;
    assert!(read_at >= told.id, "{read_at:?} is before {:?}", told.id);

    // Nobody else learns how long the trail is: no session, an ended one, a public call.
    assert_eq!(
        read_position(&served.url, None, "/api/v1/me").await,
        (StatusCode::UNAUTHORIZED, None)
    );
    let (status, _) = app
        .call(Some(&alice), Method::DELETE, "/api/v1/session", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        read_position(&served.url, Some(&alice), "/api/v1/me").await,
        (StatusCode::UNAUTHORIZED, None)
    );
    assert_eq!(
        read_position(&served.url, None, "/api/v1/oidc/providers").await,
        (StatusCode::OK, None)
    );
}
