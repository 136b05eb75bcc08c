//! The evidence report: its figures follow from the history the test makes (computed here
//! from the same steps, not read back from the report), it names a tampered event, it is
//! for auditors and admins, and its HTML escapes what it quotes.

use crate::helpers::{Session, TestApp, start_time, stint_cli};
use crate::standing::{GITLEAKS, trufflehog_line};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The figure `key` of section `section`.
fn figure(report: &Value, section: &str, key: &str) -> Option<i64> {
    let section = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == section)
        .unwrap_or_else(|| panic!("no section {section}"));
    let figure = section["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no figure {key} in {section}"));
    figure["value"].as_i64()
}

fn section<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn report(app: &TestApp, session: &Session, query: &str) -> (StatusCode, Value) {
    app.get(session, &format!("/api/v1/reports/evidence?{query}"))
        .await
}

/// The HTML report: its status, headers and text.
async fn html(app: &TestApp, session: &Session, query: &str) -> (StatusCode, HeaderMap, String) {
    let request = Request::builder()
        .uri(format!("/api/v1/reports/evidence?format=html&{query}"))
        .header(header::COOKIE, &session.cookie)
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = app.send(request).await;
    (
        status,
        headers,
        body.as_str().unwrap_or_default().to_string(),
    )
}

/// The nearest-rank percentile, as an auditor computes it by hand.
fn nearest_rank(values: &[i64], p: usize) -> i64 {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[(p * sorted.len()).div_ceil(100) - 1]
}

/// What the test did, for the expected figures.
struct History {
    waits: Vec<i64>,
    tickets: usize,
    filed: usize,
    denied: usize,
    grants: usize,
    break_glass: usize,
    orphan_gap: Duration,
    review_items: i64,
}

/// Requests with and without tickets approved after known waits, one denied; a leaked
/// credential; scanner findings mapped and rotated; two break-glass uses, one reviewed and
/// one left past its due time; billing-agent orphaned for a while. Ends a day later.
async fn make_history(app: &TestApp) -> History {
    let dave = app.login("dave").await;
    let alice = app.login("alice").await;

    // Scanner findings: one mapped to what it reaches, one rotated.
    app.crate_import(&dave, GITLEAKS).await;
    let list = app.standing(&dave).await;
    let at = |location: &str| {
        list.iter().find(|f| f["location"] == location).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (aws, ledger) = (
        at("deploy/payments.env:1"),
        at("services/ledger/config.toml:7"),
    );
    let ci = app.id_of(&alice, "identities", "ci-deployer").await;
    let payments = app.id_of(&alice, "resources", "payments-db").await;
    let map =
        json!({ "action": "map", "identity_id": ci, "resource_id": payments, "privilege": "read" });
    let (status, body) = app
        .post(&alice, &format!("/api/v1/standing/{aws}/triage"), map)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rotated = json!({ "action": "rotated", "reason": "rotated in the AWS console today" });
    let (status, body) = app
        .post(&dave, &format!("/api/v1/standing/{ledger}/triage"), rotated)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Requests: (ticket?, minutes until bob approves; None: he denies).
    let plan: [(bool, Option<i64>); 4] = [
        (true, Some(10)),
        (false, Some(30)),
        (true, Some(120)),
        (true, None),
    ];
    let mut waits = Vec::new();
    let mut leaked = None;
    for (ticket, wait) in plan {
        let (alice, bob) = (app.login("alice").await, app.login("bob").await);
        let mut body = app
            .request_body(&alice, "ci-deployer", "payments-db", "read", 3600)
            .await;
        if !ticket {
            body["justification"]["ticket"] = Value::Null;
        }
        let (status, created) = app.post(&alice, "/api/v1/requests", body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_i64().unwrap();
        match wait {
            Some(minutes) => {
                app.advance(Duration::minutes(minutes));
                // Sessions idle out over the longer waits.
                let bob = app.login("bob").await;
                let (status, detail) = app
                    .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
                    .await;
                assert_eq!(status, StatusCode::OK, "{detail}");
                waits.push(minutes * 60);
                leaked = Some(detail["grant"]["id"].as_i64().unwrap());
            }
            None => {
                let deny = json!({ "comment": "not this week" });
                let (status, body) = app
                    .post(&bob, &format!("/api/v1/requests/{id}/deny"), deny)
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        }
        app.sweep().await;
    }
    let (dave, alice, carol, erin) = (
        app.login("dave").await,
        app.login("alice").await,
        app.login("carol").await,
        app.login("erin").await,
    );
    // The grant of the third request is still live: its credential turns up in a scan.
    let grant = leaked.unwrap();
    let (status, credential) = app.credential(&alice, grant).await;
    assert_eq!(status, StatusCode::OK, "{credential}");
    let token = credential["token"].as_str().unwrap();
    let (status, summary) = app
        .import(
            &dave,
            "source=ci-logs",
            &trufflehog_line("ci/debug.log", 812, token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["revoked_grants"], json!([grant]));

    // Break-glass: one judged justified, one left until it is overdue.
    let mut reviews = Vec::new();
    for _ in 0..2 {
        let (status, taken) =
            crate::break_glass::take(app, &alice, "ci-deployer", "payments-db").await;
        assert_eq!(status, StatusCode::CREATED, "{taken}");
        reviews.push(taken["grant"]["review_id"].as_i64().unwrap());
    }
    let judged = json!({ "outcome": "justified", "notes": "the ledger lock was real" });
    let (status, body) = app
        .post(&carol, &format!("/api/v1/reviews/{}", reviews[0]), judged)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // billing-agent: both owners step down, and an hour and a half later erin takes it over.
    let billing = app.id_of(&alice, "identities", "billing-agent").await;
    for who in [&erin, &alice] {
        let (status, body) = app
            .post(
                who,
                &format!("/api/v1/identities/{billing}/ownership/step-down"),
                json!({ "reason": "moving teams" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let orphan_gap = Duration::minutes(90);
    app.advance(orphan_gap);
    let erin = app.login("erin").await;
    let declaration = json!({
        "statement": "I reconcile invoices with this agent and answer for what it touches.",
        "attest_until": app.now() + Duration::days(30),
    });
    let (status, body) = app
        .post(
            &erin,
            &format!("/api/v1/identities/{billing}/ownership"),
            declaration,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A day later every grant has ended and the second review is overdue.
    app.advance(Duration::hours(25));
    app.sweep().await;

    // An access review: alice keeps one of her items.
    let dave = app.login("dave").await;
    let body = json!({ "name": "November review", "due_at": app.now() + Duration::days(7) });
    let (status, campaign) = app.post(&dave, "/api/v1/campaigns", body).await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    let alice = app.login("alice").await;
    let (_, mine) = app
        .get(&alice, &format!("/api/v1/campaigns/{}", campaign["id"]))
        .await;
    let item = mine["item_list"][0]["id"].as_i64().unwrap();
    let (status, body) = app
        .post(
            &alice,
            &format!("/api/v1/campaigns/{}/items/{item}/decide", campaign["id"]),
            json!({ "decision": "keep" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.advance(Duration::minutes(1));
    History {
        filed: plan.len(),
        tickets: plan.iter().filter(|(t, _)| *t).count(),
        denied: plan.iter().filter(|(_, w)| w.is_none()).count(),
        grants: waits.len() + reviews.len(),
        waits,
        break_glass: reviews.len(),
        orphan_gap,
        review_items: campaign["items"].as_i64().unwrap(),
    }
}

impl TestApp {
    async fn crate_import(&self, session: &Session, report: &str) {
        let (status, body) = self.import(session, "source=acme/payments", report).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[tokio::test]
async fn the_figures_follow_from_the_history() {
    let app = TestApp::new().await;
    let h = make_history(&app).await;
    let dave = app.login("dave").await;
    let since = start_time();
    let (status, r) = report(&app, &dave, &format!("since={}", rfc3339(since))).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let until = app.now();
    assert_eq!(r["until"], rfc3339(until), "until defaults to now");

    // Requests, tickets, approval times.
    assert_eq!(figure(&r, "requests", "filed"), Some(h.filed as i64));
    assert_eq!(
        figure(&r, "requests", "with_ticket"),
        Some(h.tickets as i64)
    );
    assert_eq!(
        figure(&r, "requests", "ticket_share_percent"),
        Some((h.tickets * 100 / h.filed) as i64)
    );
    assert_eq!(
        figure(&r, "requests", "approved_by_people"),
        Some(h.waits.len() as i64)
    );
    assert_eq!(figure(&r, "requests", "denied"), Some(h.denied as i64));
    assert_eq!(
        figure(&r, "requests", "approval_p50_secs"),
        Some(nearest_rank(&h.waits, 50))
    );
    assert_eq!(
        figure(&r, "requests", "approval_p90_secs"),
        Some(nearest_rank(&h.waits, 90))
    );
    assert_eq!(
        figure(&r, "requests", "approval_max_secs"),
        h.waits.iter().max().copied()
    );

    // Grants: all began and have ended; one ended early, by the leak.
    assert_eq!(figure(&r, "grants", "started"), Some(h.grants as i64));
    assert_eq!(
        figure(&r, "grants", "break_glass"),
        Some(h.break_glass as i64)
    );
    assert_eq!(figure(&r, "grants", "credentials_issued"), Some(1));
    assert_eq!(figure(&r, "grants", "ended_early"), Some(1));
    assert_eq!(figure(&r, "grants", "expired"), Some(h.grants as i64 - 1));
    assert_eq!(figure(&r, "grants", "live_at_end"), Some(0));

    // Break-glass: one justified, one overdue and named.
    let bg = section(&r, "break_glass");
    assert_eq!(
        figure(&r, "break_glass", "taken"),
        Some(h.break_glass as i64)
    );
    assert_eq!(figure(&r, "break_glass", "justified"), Some(1));
    assert_eq!(figure(&r, "break_glass", "overdue"), Some(1));
    assert_eq!(bg["attention"], true);
    let overdue = bg["items"][0]["label"].as_str().unwrap();
    assert!(
        overdue.contains("alice for ci-deployer on payments-db"),
        "{overdue}"
    );

    // Ownership: report-cron orphaned all along; billing-agent for the gap.
    let whole = (until - since).num_seconds();
    assert_eq!(figure(&r, "ownership", "identities"), Some(3));
    assert_eq!(figure(&r, "ownership", "orphaned_in_period"), Some(2));
    assert_eq!(figure(&r, "ownership", "orphaned_at_end"), Some(1));
    assert_eq!(
        figure(&r, "ownership", "orphaned_secs_longest"),
        Some(whole)
    );
    assert_eq!(
        figure(&r, "ownership", "orphaned_secs_total"),
        Some(whole + h.orphan_gap.num_seconds())
    );
    assert_eq!(section(&r, "ownership")["items"][0]["label"], "report-cron");

    // Standing credentials and coverage: the mapped one still bypasses JIT to payments-db.
    assert_eq!(figure(&r, "standing", "found"), Some(2));
    assert_eq!(figure(&r, "standing", "resolved"), Some(1));
    assert_eq!(figure(&r, "standing", "rotated"), Some(1));
    assert_eq!(figure(&r, "standing", "open_at_end"), Some(1));
    assert_eq!(figure(&r, "standing", "mapped_at_end"), Some(1));
    assert_eq!(figure(&r, "coverage", "resources"), Some(2));
    assert_eq!(figure(&r, "coverage", "jit_only"), Some(1));
    assert_eq!(figure(&r, "coverage", "jit_share_end_percent"), Some(50));
    assert_eq!(section(&r, "coverage")["items"][0]["label"], "payments-db");

    // The access review: one started, one item of all answered.
    assert_eq!(figure(&r, "access_reviews", "campaigns"), Some(1));
    assert_eq!(figure(&r, "access_reviews", "items"), Some(h.review_items));
    assert_eq!(figure(&r, "access_reviews", "decided"), Some(1));
    assert_eq!(figure(&r, "access_reviews", "revoked"), Some(0));

    // The leak: found and revoked at once.
    assert_eq!(figure(&r, "leaks", "found"), Some(1));
    assert_eq!(figure(&r, "leaks", "revoked"), Some(1));
    // No connector in this broker: nothing to revoke downstream.
    assert_eq!(figure(&r, "revocations", "queued"), Some(0));

    // The chain verifies, and the audit section says how many events the period holds.
    assert_eq!(r["chain"]["verification"]["ok"], true);
    let (_, page) = app
        .get(
            &dave,
            &format!(
                "/api/v1/audit?since={}&until={}&limit=1000",
                rfc3339(since),
                rfc3339(until)
            ),
        )
        .await;
    let events = page["items"].as_array().unwrap().len() as i64;
    assert_eq!(figure(&r, "audit", "events"), Some(events));

    // Every section says what it gives evidence for; the matrix names every OWASP item.
    assert_eq!(section(&r, "ownership")["owasp_nhi"], json!(["NHI1"]));
    let owasp: Vec<&str> = r["owasp_nhi"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        owasp,
        (1..=10).map(|n| format!("NHI{n}")).collect::<Vec<_>>()
    );

    // The command line computes the same report from the database.
    let out = stint_cli(
        &app,
        &[
            "report",
            "evidence",
            "--since",
            &rfc3339(since),
            "--until",
            &rfc3339(until),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Its clock is the machine's, later than this test's: what is overdue may differ.
    let figures = |r: &Value| -> Vec<Value> {
        r["sections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["figures"].as_array().unwrap().clone())
            .filter(|f| f["key"] != "overdue")
            .collect()
    };
    assert_eq!(figures(&cli), figures(&r));
}

#[tokio::test]
async fn a_tampered_event_is_named_and_the_report_says_the_trail_does_not_verify() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    app.active_grant(&alice, 600).await;
    let pool = app.sql_pool().await;
    let seq: i64 =
        sqlx::query_scalar("SELECT MIN(seq) FROM audit_events WHERE action = 'request.approved'")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    crate::audit::tamper(
        &app,
        &format!("UPDATE audit_events SET details = '{{\"comment\":\"nothing to see\"}}' WHERE seq = {seq}"),
    )
    .await;
    let dave = app.login("dave").await;
    let (status, r) = report(&app, &dave, "").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["chain"]["verification"]["ok"], false);
    assert_eq!(r["chain"]["verification"]["first_bad_seq"], seq);
    let audit = section(&r, "audit");
    assert_eq!(audit["attention"], true);
    assert_eq!(audit["items"][0]["label"], format!("Event {seq}"));
    assert_eq!(figure(&r, "audit", "first_bad_seq"), Some(seq));

    let (status, headers, body) = html(&app, &dave, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.contains("does NOT verify"), "the HTML says so");
    assert!(body.contains(&format!("event {seq}")));
}

#[tokio::test]
async fn the_html_report_runs_nothing_and_escapes_what_it_quotes() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 600).await;
    let (_, credential) = app.credential(&alice, grant).await;
    let token = credential["token"].as_str().unwrap();
    // The scanner's file name is outside text: it reaches the report's leak section.
    let report_text = trufflehog_line("<script>alert(1)</script>", 1, token);
    let (status, body) = app.import(&dave, "source=ci", &report_text).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The period ends just before its end (`until` is exclusive): move past the import.
    app.advance(Duration::minutes(1));

    let (status, headers, html) = html(&app, &dave, "tz=Europe/Berlin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains("<script"),
        "no script, and none quoted: {html}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("script-src"), "{csp}");
    assert!(html.contains("NHI2 Secret Leakage"), "the framework matrix");
    assert!(
        html.contains("CET") || html.contains("CEST"),
        "times in the asked zone"
    );
}

#[tokio::test]
async fn only_auditors_and_admins_read_it_and_bad_periods_are_refused() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    assert_eq!(report(&app, &alice, "").await.0, StatusCode::FORBIDDEN);
    let dave = app.login("dave").await;
    let now = app.now();
    let cases = [
        ("format=pdf", StatusCode::BAD_REQUEST, "format"),
        ("since=yesterday", StatusCode::BAD_REQUEST, "since"),
        ("tz=Mars/Olympus", StatusCode::BAD_REQUEST, "tz"),
        (
            &format!("since={}", rfc3339(now + Duration::hours(1))) as &str,
            StatusCode::UNPROCESSABLE_ENTITY,
            "since",
        ),
        (
            &format!("since={}", rfc3339(now - Duration::days(400))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "since",
        ),
    ];
    for (query, status, field) in cases {
        let (got, error) = report(&app, &dave, query).await;
        assert_eq!(got, status, "{query}: {error}");
        assert_eq!(error["error"]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn requests_approved_by_a_rule_count_and_a_grant_begun_before_is_live_at_the_end() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    // A grant begun before the period, still live at its end.
    app.active_grant(&alice, 4 * 3600).await;
    app.advance(Duration::minutes(10));
    let since = app.now();
    let (status, saved) = crate::admin::save_payments_db(&app, |p| {
        p["auto_approve"] = json!({
            "identity_kinds": ["ci_pipeline"], "privileges": ["read"], "max_duration_secs": 900,
        })
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let alice = app.login("alice").await;
    app.file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    app.advance(Duration::minutes(1));
    let dave = app.login("dave").await;
    let (status, r) = report(&app, &dave, &format!("since={}", rfc3339(since))).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(figure(&r, "requests", "filed"), Some(1));
    assert_eq!(figure(&r, "requests", "auto_approved"), Some(1));
    assert_eq!(figure(&r, "requests", "approved_by_people"), Some(0));
    assert_eq!(figure(&r, "grants", "started"), Some(1), "the rule's grant");
    assert_eq!(figure(&r, "grants", "live_at_end"), Some(2), "both live");
}
