use crate::helpers::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// The actions of the audit page `query` returns, oldest first.
async fn actions(app: &TestApp, query: &str) -> Vec<(String, String, String)> {
    let dave = app.login("dave").await;
    let (status, page) = app.get(&dave, &format!("/api/v1/audit?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut events: Vec<(String, String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (s("actor"), s("action"), s("target"))
        })
        .collect();
    events.reverse();
    events
}

/// Raw SQL as someone with the database file would run it, triggers dropped first.
pub(crate) async fn tamper(app: &TestApp, sql: &str) {
    let pool = app.sql_pool().await;
    crate::helpers::drop_append_only_guards(&pool).await;
    for statement in sql.split(';') {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

async fn verify(app: &TestApp) -> Value {
    let dave = app.login("dave").await;
    let (status, v) = app.get(&dave, "/api/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK);
    v
}

/// A trail with a full core loop in it (events 15 to 21 after the 14 of the demo seed);
/// returns the grant id.
async fn core_loop(app: &TestApp) -> i64 {
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 600).await;
    app.credential(&alice, grant).await;
    app.post(
        &alice,
        &format!("/api/v1/grants/{grant}/revoke"),
        json!({ "reason": "done" }),
    )
    .await;
    grant
}

#[tokio::test]
async fn each_step_of_the_core_loop_is_one_event_with_its_actor_and_target() {
    let app = TestApp::new().await;
    let (status, _, _) = app.login_raw("alice", "nope", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let grant = core_loop(&app).await;
    let story = actions(&app, &format!("grant_id={grant}")).await;
    let expected = [
        ("alice", "request.filed", "request 1"),
        ("bob", "request.approved", "request 1"),
        ("bob", "grant.activated", "grant 1"),
        ("alice", "credential.issued", "grant 1"),
        ("alice", "grant.revoked", "grant 1"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(story, expected);
    let sessions = actions(&app, "action=session").await;
    assert!(sessions.contains(&(
        "anonymous:alice".into(),
        "session.login_failed".into(),
        "user".into()
    )));
    assert_eq!(
        sessions
            .iter()
            .filter(|(a, act, _)| a == "bob" && act == "session.login")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_clean_trail_verifies() {
    let app = TestApp::new().await;
    core_loop(&app).await;
    let v = verify(&app).await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["count"].as_i64().unwrap() > 20);
    assert_eq!(v["head_seq"], v["count"]);
    assert_eq!(v["head_hash"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn the_database_refuses_to_edit_or_delete_events() {
    let app = TestApp::new().await;
    let pool = app.sql_pool().await;
    for sql in [
        "UPDATE audit_events SET actor_name = 'x' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 1",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }
}

#[tokio::test]
async fn tampering_is_found_at_the_first_bad_event() {
    let cases = [
        (
            "edited details",
            "UPDATE audit_events SET details = '{\"task\":\"nothing to see\"}' WHERE seq = 20",
            20,
            "changed",
        ),
        (
            "edited actor",
            "UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 21",
            21,
            "changed",
        ),
        (
            "deleted row",
            "DELETE FROM audit_events WHERE seq = 18",
            18,
            "missing",
        ),
        (
            "reordered rows",
            "UPDATE audit_events SET seq = -1 WHERE seq = 16;
             UPDATE audit_events SET seq = 16 WHERE seq = 19;
             UPDATE audit_events SET seq = 19 WHERE seq = -1",
            16,
            "previous event",
        ),
    ];
    for (name, sql, bad, reason) in cases {
        let app = TestApp::new().await;
        core_loop(&app).await;
        tamper(&app, sql).await;
        let v = verify(&app).await;
        assert_eq!(v["ok"], false, "{name}: {v}");
        assert_eq!(v["first_bad_seq"], bad, "{name}: {v}");
        assert!(
            v["reason"].as_str().unwrap().contains(reason),
            "{name}: {v}"
        );
        assert_eq!(v["count"], bad - 1, "{name}");
    }
}

#[tokio::test]
async fn a_failed_audit_write_rolls_the_change_back() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let pool = app.sql_pool().await;
    let failing_trigger: &[&str] = if crate::helpers::on_postgres() {
        &[
            "CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.action = 'request.filed' THEN RAISE EXCEPTION 'disk full'; END IF;
               RETURN NEW;
             END $$",
            "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events
             FOR EACH ROW EXECUTE FUNCTION fail_audit()",
        ]
    } else {
        &["CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events WHEN NEW.action = 'request.filed'
           BEGIN SELECT RAISE(ABORT, 'disk full'); END"]
    };
    for statement in failing_trigger {
        sqlx::query(*statement).execute(&pool).await.unwrap();
    }
    let (status, error) = app.post(&alice, "/api/v1/requests", body).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        !error.to_string().contains("disk full"),
        "causes stay in the log: {error}"
    );
    assert_eq!(
        app.count("requests").await,
        0,
        "no request without its event"
    );
}

#[tokio::test]
async fn only_auditors_and_admins_verify_the_trail() {
    let app = TestApp::new().await;
    for who in ["alice", "bob", "carol"] {
        let s = app.login(who).await;
        assert_eq!(
            app.get(&s, "/api/v1/audit/verify").await.0,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    let (status, _) = app.call(None, Method::GET, "/api/v1/audit", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_trail_filters_and_pages() {
    let app = TestApp::new().await;
    core_loop(&app).await;
    let dave = app.login("dave").await;
    let (_, found) = app
        .get(&dave, "/api/v1/audit?q=Rotate%20the%20ledger")
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["action"], "request.filed");
    // LIKE wildcards in the search text match only themselves.
    let (_, none) = app.get(&dave, "/api/v1/audit?q=%25").await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    let (_, first) = app.get(&dave, "/api/v1/audit?limit=5").await;
    let cursor = first["next_cursor"].as_i64().unwrap();
    let (_, second) = app
        .get(&dave, &format!("/api/v1/audit?limit=5&cursor={cursor}"))
        .await;
    assert_eq!(second["items"][0]["seq"], cursor - 1);
    let (_, tail) = app.get(&dave, "/api/v1/audit?after_seq=3&limit=2").await;
    let seqs: Vec<i64> = tail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [4, 5]);
    let (status, error) = app.get(&dave, "/api/v1/audit?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["field"], "since");
}

#[tokio::test]
async fn the_cli_verifies_and_exports_the_trail() {
    let app = TestApp::new().await;
    core_loop(&app).await;
    let stint = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_stint"))
            .args(args)
            .args(["--database", &app.db_url])
            .output()
            .unwrap()
    };
    let ok = stint(&["audit", "verify"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("OK: "));

    let ndjson = stint(&["audit", "export", "--format", "ndjson"]);
    let lines: Vec<Value> = String::from_utf8(ndjson.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as i64, app.count("audit_events").await);
    assert_eq!(lines[0]["seq"], 1);
    let csv = stint(&["audit", "export", "--format", "csv"]);
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.starts_with("seq,at,actor,action,target,details,source_ip,user_agent,actor_id\n"));
    assert_eq!(
        csv.lines().count() as i64,
        app.count("audit_events").await + 1
    );

    tamper(&app, "UPDATE audit_events SET details = '{}' WHERE seq = 7").await;
    let bad = stint(&["audit", "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("FAILED at event 7"));
}

#[tokio::test]
async fn signed_checkpoints_verify_offline_against_the_jwks() {
    use base64::Engine;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let app = TestApp::new().await;
    core_loop(&app).await;
    let taken = app
        .broker
        .checkpoint_now()
        .await
        .unwrap()
        .expect("a checkpoint");
    assert!(
        app.broker.checkpoint_now().await.unwrap().is_none(),
        "nothing new to sign"
    );
    let dave = app.login("dave").await;
    let (_, listed) = app.get(&dave, "/api/v1/audit/checkpoints").await;
    assert_eq!(listed[0]["head_seq"], taken.head_seq);

    // What a copy kept off the host can check with nothing but the published key.
    let (_, jwks) = app
        .call(None, Method::GET, "/.well-known/jwks.json", None)
        .await;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let x: [u8; 32] = b64
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let signature = Signature::from_slice(&b64.decode(&taken.signature).unwrap()).unwrap();
    let message =
        stint_broker::credential::checkpoint_message(taken.head_seq, &taken.head_hash, taken.at);
    VerifyingKey::from_bytes(&x)
        .unwrap()
        .verify(message.as_bytes(), &signature)
        .unwrap();
}

#[tokio::test]
async fn cutting_the_tail_after_a_checkpoint_is_detected() {
    let app = TestApp::new().await;
    core_loop(&app).await;
    // Signed in before the cut, so no new event lands after it.
    let dave = app.login("dave").await;
    let head = app.broker.checkpoint_now().await.unwrap().unwrap().head_seq;
    let cut = format!("DELETE FROM audit_events WHERE seq > {}", head - 3);
    tamper(&app, &cut).await;
    let (_, v) = app.get(&dave, "/api/v1/audit/verify").await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["count"], head - 3, "{v}");
    assert_eq!(v["first_bad_seq"], head - 2, "the first event missing: {v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains("removed from its end"), "{v}");
}

#[tokio::test]
async fn a_forged_checkpoint_is_detected() {
    let app = TestApp::new().await;
    core_loop(&app).await;
    tamper(
        &app,
        "INSERT INTO audit_checkpoints (at, head_seq, head_hash, kid, signature)
         VALUES (0, 5, (SELECT hash FROM audit_events WHERE seq = 5), 'k', 'AAAA')",
    )
    .await;
    let v = verify(&app).await;
    assert_eq!(v["ok"], false);
    assert!(v["reason"].as_str().unwrap().contains("not signed"), "{v}");
}

#[tokio::test]
async fn refused_calls_are_recorded_with_who_what_and_why() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let id = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let path = format!("/api/v1/requests/{id}/approve");
    assert_eq!(
        app.post(&alice, &path, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    let dave = app.login("dave").await;
    let (_, page) = app.get(&dave, "/api/v1/audit?action=authz.refused").await;
    let refusal = &page["items"][0];
    assert_eq!(refusal["actor"], "alice");
    assert_eq!(refusal["details"]["method"], "POST");
    assert_eq!(refusal["details"]["path"], path);
    assert!(
        refusal["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("approver")
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(verify(&app).await["ok"], true);
}

#[tokio::test]
async fn events_record_where_the_call_came_from() {
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::{Request, header};
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let mut request = Request::post("/api/v1/requests")
        .header(header::COOKIE, &alice.cookie)
        .header("x-stint-csrf", "1")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "deploy-bot/2.1")
        .body(Body::from(body.to_string()))
        .unwrap();
    let peer: std::net::SocketAddr = "127.0.0.7:50123".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::CREATED);
    let dave = app.login("dave").await;
    let (_, page) = app.get(&dave, "/api/v1/audit?action=request.filed").await;
    assert_eq!(page["items"][0]["source_ip"], "127.0.0.7");
    assert_eq!(page["items"][0]["user_agent"], "deploy-bot/2.1");
    // The origin is covered by the chain like every other field.
    assert_eq!(verify(&app).await["ok"], true);
    tamper(
        &app,
        "UPDATE audit_events SET source_ip = '10.0.0.1' WHERE action = 'request.filed'",
    )
    .await;
    assert_eq!(verify(&app).await["ok"], false);
}

#[tokio::test]
async fn owners_read_only_the_events_of_their_own_identities() {
    let app = TestApp::new().await;
    core_loop(&app).await;
    let erin = app.login("erin").await;
    let theirs = app
        .file(&erin, "billing-agent", "payments-db", "read", 600)
        .await;
    let alice = app.login("alice").await;
    let (status, page) = app.get(&alice, "/api/v1/audit").await;
    assert_eq!(status, StatusCode::OK);
    let events = page["items"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["target"] == "request 1"),
        "her ci-deployer request"
    );
    assert!(
        events
            .iter()
            .any(|e| e["target"] == format!("request {theirs}")),
        "billing-agent is hers too"
    );
    assert!(
        events
            .iter()
            .all(|e| !e["action"].as_str().unwrap().starts_with("session")),
        "nobody's logins: {page}"
    );
    let bob = app.login("bob").await;
    let (_, none) = app.get(&bob, "/api/v1/audit").await;
    assert_eq!(
        none["items"].as_array().unwrap().len(),
        0,
        "bob owns nothing"
    );
}

#[tokio::test]
async fn auditors_download_the_trail_as_csv_or_ndjson() {
    use axum::body::Body;
    use axum::http::{Request, header};
    let app = TestApp::new().await;
    let grant = core_loop(&app).await;
    let dave = app.login("dave").await;
    let download = |query: String| {
        Request::get(format!("/api/v1/audit/export?{query}"))
            .header(header::COOKIE, &dave.cookie)
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, body) = app
        .send(download(format!("format=csv&grant_id={grant}")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("stint-audit.csv")
    );
    let csv = body.as_str().unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 5,
        "header and the grant's five events: {csv}"
    );
    assert!(csv.lines().nth(1).unwrap().contains("request.filed"));

    // In the viewer's zone: each row also carries its wall-clock time there.
    let (status, _, body) = app
        .send(download(format!(
            "format=csv&grant_id={grant}&tz=Asia%2FTokyo"
        )))
        .await;
    assert_eq!(status, StatusCode::OK);
    let zoned = body.as_str().unwrap();
    assert!(
        zoned
            .lines()
            .next()
            .unwrap()
            .ends_with(",actor_id,at_local")
    );
    assert!(zoned.lines().nth(1).unwrap().ends_with("+09:00"), "{zoned}");
    let (status, _, error) = app
        .send(download("format=csv&tz=Nowhere%2FAtAll".into()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["field"], "tz");

    let (_, _, body) = app.send(download("format=ndjson".into())).await;
    let lines = body.as_str().unwrap().lines().count() as i64;
    assert!(
        lines >= app.count("audit_events").await - 1,
        "the whole trail"
    );
    let (status, _, error) = app.send(download("format=xml".into())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["field"], "format");
    let alice = app.login("alice").await;
    let mut refused = download("format=csv".into());
    refused
        .headers_mut()
        .insert(header::COOKIE, alice.cookie.parse().unwrap());
    assert_eq!(app.send(refused).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_running_broker_streams_each_committed_event_as_a_json_line() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 60).await;
    let stream = app.dir.path().join("audit.ndjson");
    let mut config = app.config();
    config.sweep_interval = std::time::Duration::from_millis(20);
    config.audit_stream = Some(stream.clone());
    let broker = stint_broker::Broker::open(config, app.clock.clone())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(broker.serve(listener, async {
        let _ = stopped.await;
    }));
    // The sweeper's expiry is the next event; the stream must carry it, and only it.
    app.advance(chrono::Duration::seconds(61));
    let read = || -> Vec<Value> {
        std::fs::read_to_string(&stream)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let events = |lines: &[Value]| -> Vec<Value> {
        lines
            .iter()
            .filter(|l| l.get("checkpoint").is_none())
            .cloned()
            .collect()
    };
    let mut lines = Vec::new();
    for _ in 0..500 {
        lines = events(&read());
        if !lines.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["action"], "grant.expired");
    assert_eq!(lines[0]["target"], format!("grant {grant}"));
    // The broker's last checkpoint, of the head as it stopped, ends the stream.
    let all = read();
    let last = all.last().unwrap();
    assert_eq!(last["checkpoint"]["head_seq"], lines[0]["seq"], "{all:?}");
}
