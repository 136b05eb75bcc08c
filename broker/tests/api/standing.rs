//! Standing credentials: scanner imports, triage, mapping rules, coverage, and leaked
//! Stint credentials revoked on sight.

use crate::helpers::{Session, TestApp};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Duration;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

pub(crate) const GITLEAKS: &str = include_str!("../fixtures/gitleaks-report.json");
const TRUFFLEHOG: &str = include_str!("../fixtures/trufflehog.jsonl");
const BASELINE: &str = include_str!("../fixtures/detect-secrets-baseline.json");
/// Every raw secret planted in the fixtures.
const RAW_SECRETS: [&str; 5] = [
    "AKIAIOSFODNN7EXAMPLE",
    "5f2b9c1e7a4d8f3b6e0c9a2d7f1b4e8c",
    "AKIAQYLPMN5HHHFPZAM2",
    "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",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
];

impl TestApp {
    /// Posts `report` to the import endpoint with `query` (`source=…&…`).
    pub(crate) async fn import(
        &self,
        session: &Session,
        query: &str,
        report: &str,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/standing/import?{query}"))
            .header("x-stint-csrf", "1")
            .header(header::COOKIE, &session.cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(report.to_string()))
            .unwrap();
        let (status, _, body) = self.send(request).await;
        (status, body)
    }

    pub(crate) async fn standing(&self, session: &Session) -> Vec<Value> {
        let (status, list) = self.get(session, "/api/v1/standing").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list.as_array().unwrap().clone()
    }

    async fn coverage_of(&self, session: &Session, resource: &str) -> u64 {
        let (status, coverage) = self.get(session, "/api/v1/standing/coverage").await;
        assert_eq!(status, StatusCode::OK, "{coverage}");
        coverage["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"]["name"] == resource)
            .unwrap()["standing_paths"]
            .as_u64()
            .unwrap()
    }

    /// Every byte SQLite has written for this database (the file, its WAL and index).
    pub(crate) fn database_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            bytes.extend(std::fs::read(entry.path()).unwrap());
        }
        bytes
    }
}

fn finding<'a>(list: &'a [Value], location: &str) -> &'a Value {
    list.iter()
        .find(|f| f["location"] == location)
        .unwrap_or_else(|| panic!("no finding at {location} in {list:?}"))
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn imported_reports_become_unmapped_findings_that_hold_no_secret() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let mut answers = String::new();
    for (query, report, new) in [
        ("source=acme/payments", GITLEAKS, 2),
        ("source=acme/payments", TRUFFLEHOG, 2),
        ("source=acme/payments&format=detect-secrets", BASELINE, 3),
    ] {
        let (status, summary) = app.import(&dave, query, report).await;
        assert_eq!(status, StatusCode::OK, "{summary}");
        assert_eq!(summary["new"], new, "{summary}");
        answers.push_str(&summary.to_string());
    }
    let list = app.standing(&dave).await;
    assert_eq!(list.len(), 7);
    let aws = finding(&list, "deploy/payments.env:1");
    assert_eq!(aws["tool"], "gitleaks");
    assert_eq!(aws["status"], "unmapped");
    assert_eq!(aws["source"], "acme/payments");
    assert_eq!(aws["secret_type"], "AWS Access Token");
    assert!(aws["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    let baseline_line = finding(&list, "deploy/payments.env:2");
    assert_eq!(
        baseline_line["secret_type"],
        "AWS Access Key, Base64 High Entropy String, Secret Keyword"
    );
    answers.push_str(&Value::Array(list).to_string());
    let (_, trail) = app.get(&dave, "/api/v1/audit?limit=500").await;
    answers.push_str(&trail.to_string());
    let database = app.database_bytes();
    for secret in RAW_SECRETS {
        assert!(!answers.contains(secret), "{secret} in an API answer");
        assert!(!contains(&database, secret), "{secret} in the database");
    }
    assert_eq!(
        app.events_about("standing_import").await,
        vec![("dave".to_string(), "standing.imported".to_string()); 3]
    );
}

#[tokio::test]
async fn reimporting_is_idempotent_and_a_newer_full_scan_marks_what_it_no_longer_finds() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    app.import(&dave, "source=acme/payments", GITLEAKS).await;
    let first_seen =
        finding(&app.standing(&dave).await, "deploy/payments.env:1")["first_seen"].clone();

    app.advance(Duration::minutes(10));
    let (status, again) = app.import(&dave, "source=acme/payments", GITLEAKS).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (again["new"].as_u64(), again["seen_again"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(app.count("standing_credentials").await, 2);
    let list = app.standing(&dave).await;
    let aws = finding(&list, "deploy/payments.env:1");
    assert_eq!(aws["first_seen"], first_seen);
    assert_ne!(aws["last_seen"], first_seen);

    // The same report for another source is another scan's findings.
    app.import(&dave, "source=acme/ledger", GITLEAKS).await;
    assert_eq!(app.count("standing_credentials").await, 4);

    let only_aws = {
        let mut items: Vec<Value> = serde_json::from_str(GITLEAKS).unwrap();
        items.truncate(1);
        Value::Array(items).to_string()
    };
    app.advance(Duration::minutes(10));
    let (_, partial) = app
        .import(&dave, "source=acme/payments&partial=true", &only_aws)
        .await;
    assert_eq!(partial["not_seen"], 0, "a partial scan marks nothing");
    let (_, full) = app.import(&dave, "source=acme/payments", &only_aws).await;
    assert_eq!(full["not_seen"], 1, "{full}");
    let list = app.standing(&dave).await;
    let gone = list
        .iter()
        .find(|f| {
            f["location"] == "services/ledger/config.toml:7" && f["source"] == "acme/payments"
        })
        .unwrap();
    assert!(gone["not_seen_since"].is_string(), "{gone}");
    let ledger = list
        .iter()
        .find(|f| f["location"] == "services/ledger/config.toml:7" && f["source"] == "acme/ledger")
        .unwrap();
    assert!(
        ledger["not_seen_since"].is_null(),
        "other sources are untouched"
    );

    app.import(&dave, "source=acme/payments", GITLEAKS).await;
    let back = app
        .standing(&dave)
        .await
        .into_iter()
        .find(|f| f["id"] == gone["id"])
        .unwrap();
    assert!(back["not_seen_since"].is_null(), "seen again: {back}");
}

/// A scanner's report is far larger than any other body the API takes (16 KiB): the import
/// has a limit of its own.
#[tokio::test]
async fn a_report_of_a_megabyte_is_imported_whole() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let report = format!("{GITLEAKS}{}", " ".repeat(1024 * 1024));
    let (status, summary) = app.import(&dave, "source=acme/payments", &report).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["new"], 2, "{summary}");
}

#[tokio::test]
async fn reports_that_cannot_be_read_whole_import_nothing() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let events_before = app.count("audit_events").await;
    let oversized = format!("[{}]", " ".repeat(9 * 1024 * 1024));
    let cases: [(&str, &str, &str, StatusCode); 7] = [
        (
            "source=x",
            &GITLEAKS[..GITLEAKS.len() / 2],
            "report",
            StatusCode::BAD_REQUEST,
        ),
        (
            "source=x",
            &TRUFFLEHOG[..TRUFFLEHOG.len() - 40],
            "report",
            StatusCode::BAD_REQUEST,
        ),
        (
            "source=x",
            "<html>not a report</html>",
            "report",
            StatusCode::BAD_REQUEST,
        ),
        (
            "source=x&format=gitleaks",
            BASELINE,
            "report",
            StatusCode::BAD_REQUEST,
        ),
        (
            "source=x",
            &oversized,
            "report",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "source=x&format=nessus",
            GITLEAKS,
            "format",
            StatusCode::BAD_REQUEST,
        ),
        (
            "format=gitleaks",
            GITLEAKS,
            "source",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (query, report, field, status) in cases {
        let (got, error) = app.import(&dave, query, report).await;
        assert_eq!(got, status, "{query}: {error}");
        assert_eq!(error["error"]["field"], field, "{query}: {error}");
    }
    let alice = app.login("alice").await;
    assert_eq!(
        app.import(&alice, "source=x", GITLEAKS).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.count("standing_credentials").await, 0);
    // Only alice's refused call was recorded (besides the logins).
    let events: Vec<(String, String)> = app.events_about("standing_import").await;
    assert!(events.is_empty(), "{events:?}");
    assert!(app.count("audit_events").await <= events_before + 3);
}

#[tokio::test]
async fn mapping_rules_map_matching_findings_on_import() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let deployer = app.id_of(&dave, "identities", "ci-deployer").await;
    let payments = app.id_of(&dave, "resources", "payments-db").await;
    let rule = |pattern: &str| {
        json!({
            "tool": "gitleaks",
            "path_pattern": pattern,
            "identity_id": deployer,
            "resource_id": payments,
            "privilege": "write",
        })
    };
    let (status, error) = app.post(&dave, "/api/v1/standing/rules", rule("[")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "path_pattern");
    let mut bad = rule("deploy/*");
    bad["privilege"] = json!("root");
    let (_, error) = app.post(&dave, "/api/v1/standing/rules", bad).await;
    assert_eq!(error["error"]["field"], "privilege");
    let alice = app.login("alice").await;
    assert_eq!(
        app.post(&alice, "/api/v1/standing/rules", rule("deploy/*"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, created) = app
        .post(&dave, "/api/v1/standing/rules", rule("deploy/*.env"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    let (_, summary) = app.import(&dave, "source=acme/payments", GITLEAKS).await;
    assert_eq!(summary["mapped_by_rule"], 1);
    let list = app.standing(&dave).await;
    let mapped = finding(&list, "deploy/payments.env:1");
    assert_eq!(mapped["status"], "mapped");
    assert_eq!(mapped["identity"]["name"], "ci-deployer");
    assert_eq!(mapped["resource"]["name"], "payments-db");
    assert_eq!(mapped["mapped_by_rule"], created["id"]);
    assert_eq!(
        finding(&list, "services/ledger/config.toml:7")["status"],
        "unmapped"
    );
    // Another tool's findings at the same path do not match a gitleaks rule.
    app.import(&dave, "source=acme/payments", BASELINE).await;
    assert_eq!(app.coverage_of(&dave, "payments-db").await, 1);

    // A retired rule maps nothing new.
    let path = format!("/api/v1/standing/rules/{}", created["id"]);
    let (status, _) = app.call(Some(&dave), Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.import(&dave, "source=acme/other", GITLEAKS).await;
    let (_, rules) = app.get(&dave, "/api/v1/standing/rules").await;
    assert_eq!(rules, json!([]));
    assert_eq!(app.coverage_of(&dave, "payments-db").await, 1);
}

#[tokio::test]
async fn triage_maps_and_resolves_findings_and_coverage_and_approvers_follow() {
    let app = TestApp::new().await;
    let dave = app.login("dave").await;
    let alice = app.login("alice").await;
    app.import(&dave, "source=acme/payments", GITLEAKS).await;
    let list = app.standing(&alice).await;
    assert_eq!(list.len(), 2, "owners see the unmapped queue");
    let aws = finding(&list, "deploy/payments.env:1")["id"]
        .as_i64()
        .unwrap();
    let ledger = finding(&list, "services/ledger/config.toml:7")["id"]
        .as_i64()
        .unwrap();
    let payments = app.id_of(&alice, "resources", "payments-db").await;
    let map_to = |identity: i64| {
        json!({ "action": "map", "identity_id": identity, "resource_id": payments,
                "privilege": "read" })
    };
    let triage = |id: i64| format!("/api/v1/standing/{id}/triage");

    let orphan = app.id_of(&alice, "identities", "report-cron").await;
    assert_eq!(
        app.post(&alice, &triage(aws), map_to(orphan)).await.0,
        StatusCode::FORBIDDEN,
        "alice does not own report-cron"
    );
    let fp = json!({ "action": "false_positive", "reason": "a documentation example key" });
    assert_eq!(
        app.post(&alice, &triage(ledger), fp.clone()).await.0,
        StatusCode::FORBIDDEN,
        "nobody answers for an unmapped finding but admins"
    );
    let deployer = app.id_of(&alice, "identities", "ci-deployer").await;
    let (status, mapped) = app.post(&alice, &triage(aws), map_to(deployer)).await;
    assert_eq!(status, StatusCode::OK, "{mapped}");
    assert_eq!(mapped["status"], "mapped");
    assert_eq!(app.coverage_of(&alice, "payments-db").await, 1);
    assert_eq!(app.coverage_of(&alice, "prod-cluster").await, 0);
    let (_, coverage) = app.get(&alice, "/api/v1/standing/coverage").await;
    assert_eq!(coverage["unmapped"], 1);
    assert_eq!(coverage["oldest_unresolved"]["id"], aws);
    // Bob owns nothing: the figures are his to read, the finding behind them is not.
    let bob = app.login("bob").await;
    let (_, coverage) = app.get(&bob, "/api/v1/standing/coverage").await;
    assert_eq!(coverage["unmapped"], 1);
    assert!(coverage["oldest_unresolved"].is_null(), "{coverage}");
    let (status, _) = app.get(&bob, &format!("/api/v1/standing/{aws}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let rotated_by_bob = json!({ "action": "rotated", "reason": "not bob's to decide" });
    assert_eq!(
        app.post(&bob, &triage(aws), rotated_by_bob).await.0,
        StatusCode::NOT_FOUND
    );
    let now = coverage["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (now["jit_only"].as_u64(), now["resources"].as_u64()),
        (Some(1), Some(2))
    );

    // The approver of a request for the same identity and resource is warned.
    let request = app
        .file(&alice, "ci-deployer", "payments-db", "read", 600)
        .await;
    let (_, detail) = app.get(&bob, &format!("/api/v1/requests/{request}")).await;
    assert_eq!(detail["standing_paths"], 1);
    let other = app
        .file(&alice, "ci-deployer", "prod-cluster", "deploy", 600)
        .await;
    let (_, detail) = app.get(&bob, &format!("/api/v1/requests/{other}")).await;
    assert_eq!(detail["standing_paths"], 0);
    // The identity's page lists it beside its grants.
    let (_, identity) = app
        .get(&alice, &format!("/api/v1/identities/{deployer}"))
        .await;
    assert_eq!(identity["standing"][0]["id"], aws);

    let short = json!({ "action": "rotated", "reason": "done" });
    let (status, error) = app.post(&alice, &triage(aws), short).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "reason");
    let rotated = json!({ "action": "rotated", "reason": "rotated in the AWS console today" });
    let (status, done) = app.post(&alice, &triage(aws), rotated.clone()).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["resolved_by"]["name"], "alice");
    assert_eq!(app.coverage_of(&alice, "payments-db").await, 0);
    let (_, detail) = app.get(&bob, &format!("/api/v1/requests/{request}")).await;
    assert_eq!(detail["standing_paths"], 0);
    assert_eq!(
        app.post(&alice, &triage(aws), rotated).await.0,
        StatusCode::CONFLICT
    );
    let (status, _) = app.post(&dave, &triage(ledger), fp).await;
    assert_eq!(status, StatusCode::OK);
    let (_, coverage) = app.get(&alice, "/api/v1/standing/coverage").await;
    assert_eq!(coverage["unmapped"], 0);
    assert!(coverage["oldest_unresolved"].is_null());
    assert_eq!(
        app.events_about(&format!("standing_credential {aws}"))
            .await,
        vec![
            ("alice".to_string(), "standing.mapped".to_string()),
            ("alice".to_string(), "standing.rotated".to_string()),
        ]
    );
    // Bob owns nothing: he sees no findings once none is unmapped.
    assert!(app.standing(&bob).await.is_empty());
}

#[tokio::test]
async fn owners_and_admins_record_standing_credentials_by_hand() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let body = app
        .request_body(&alice, "ci-deployer", "payments-db", "read", 60)
        .await;
    let record = json!({
        "identity_id": body["identity_id"],
        "resource_id": body["resource_id"],
        "privilege": "write",
        "location": "CI variable PAYMENTS_DB_PASSWORD in acme/payments",
        "secret_type": "database password",
        "description": "vendor connector key, kept for the nightly export",
    });
    let bob = app.login("bob").await;
    assert_eq!(
        app.post(&bob, "/api/v1/standing", record.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let mut blank = record.clone();
    blank["location"] = json!("  ");
    let (status, error) = app.post(&alice, "/api/v1/standing", blank).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "location");
    let (status, created) = app.post(&alice, "/api/v1/standing", record).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["tool"], "manual");
    assert_eq!(created["status"], "mapped");
    assert!(created["fingerprint"].is_null());
    assert_eq!(
        created["owner"]["name"], "alice",
        "whoever records it answers for it"
    );
    assert_eq!(app.coverage_of(&alice, "payments-db").await, 1);
}

/// A trufflehog line reporting `raw` at `file:line`.
pub(crate) fn trufflehog_line(file: &str, line: u32, raw: &str) -> String {
    json!({
        "SourceMetadata": { "Data": { "Filesystem": { "file": file, "line": line } } },
        "SourceID": 1, "SourceType": 15, "SourceName": "trufflehog - filesystem",
        "DetectorType": 1000, "DetectorName": "JSONWebToken", "DecoderName": "PLAIN",
        "Verified": false, "Raw": raw, "RawV2": "", "Redacted": "",
    })
    .to_string()
}

#[tokio::test]
async fn a_report_containing_a_stint_credential_revokes_its_grant_at_once() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let dave = app.login("dave").await;
    let grant = app.active_grant(&alice, 3600).await;
    let (_, credential) = app.credential(&alice, grant).await;
    let token = credential["token"].as_str().unwrap().to_string();
    assert_eq!(app.introspect(&token).await["active"], true);

    let report = trufflehog_line("ci/debug.log", 812, &token);
    let (status, summary) = app.import(&dave, "source=acme/payments", &report).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["revoked_grants"], json!([grant]));
    assert_eq!(app.introspect(&token).await, json!({ "active": false }));
    let (_, revoked) = app.get(&alice, &format!("/api/v1/grants/{grant}")).await;
    assert_eq!(revoked["state"], "revoked");
    let reason = revoked["revoke_reason"].as_str().unwrap();
    assert!(reason.contains("ci/debug.log:812"), "{reason}");
    let leaked = &app.standing(&alice).await[0];
    assert_eq!(leaked["status"], "leaked_stint_credential");
    assert_eq!(leaked["grant_id"], grant);
    assert_eq!(leaked["identity"]["name"], "ci-deployer");
    assert_eq!(
        app.events_about(&format!("grant {grant}"))
            .await
            .last()
            .unwrap(),
        &("stint".to_string(), "grant.revoked".to_string())
    );
    assert!(!contains(&app.database_bytes(), &token));

    // detect-secrets hashes only the signed part of a JWT; that is recognised too.
    let second = app.active_grant(&alice, 3600).await;
    let (_, credential) = app.credential(&alice, second).await;
    let token = credential["token"].as_str().unwrap();
    let signed = format!("{}.", token.rsplit_once('.').unwrap().0);
    let baseline = json!({
        "version": "1.5.0",
        "results": { "notes/token.txt": [{
            "type": "JSON Web Token", "filename": "notes/token.txt",
            "hashed_secret": hex::encode(Sha1::digest(signed.as_bytes())),
            "is_verified": false, "line_number": 1,
        }]},
    });
    let (_, summary) = app
        .import(&dave, "source=laptop-scan", &baseline.to_string())
        .await;
    assert_eq!(summary["revoked_grants"], json!([second]));
    assert_eq!(app.introspect(token).await["active"], false);
}

#[tokio::test]
async fn the_command_line_imports_a_report_without_printing_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("gitleaks.json");
    std::fs::write(&report, GITLEAKS).unwrap();
    // SQLite's file is created, PostgreSQL's database migrated, by the import itself.
    let database = crate::helpers::fresh_database(dir.path()).await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_stint"))
            .args(["standing", "import", "--database", &database])
            .args(args)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap()
    };
    let out = run(&[report.to_str().unwrap(), "--source", "acme/payments"]);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{printed}");
    assert!(printed.contains("2 new"), "{printed}");
    for secret in RAW_SECRETS {
        assert!(!printed.contains(secret), "{secret} printed");
    }
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &GITLEAKS[..100]).unwrap();
    let out = run(&[truncated.to_str().unwrap(), "--source", "acme/payments"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was imported"));
}

/// detect-secrets itself, from PyPI, scanning a tree with planted secrets and a credential
/// Stint just issued. `cargo xtask test` installs it and names it in STINT_DETECT_SECRETS.
#[tokio::test]
#[ignore = "needs detect-secrets; `cargo xtask test` installs it and runs this"]
async fn a_real_detect_secrets_baseline_is_imported_and_its_stint_credential_revoked() {
    let scanner = std::env::var("STINT_DETECT_SECRETS")
        .expect("STINT_DETECT_SECRETS names the detect-secrets executable");
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let dave = app.login("dave").await;
    let grant = app.active_grant(&alice, 3600).await;
    let (_, credential) = app.credential(&alice, grant).await;
    let token = credential["token"].as_str().unwrap();

    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("deploy")).unwrap();
    std::fs::write(
        tree.path().join("deploy/payments.env"),
        format!(
            "PAYMENTS_DB_USER=ledger\nAWS_SECRET_ACCESS_KEY=\"{}\"\n",
            RAW_SECRETS[4]
        ),
    )
    .unwrap();
    std::fs::write(
        tree.path().join("deploy/debug.log"),
        format!("GET /ledger authorization: Bearer {token}\n"),
    )
    .unwrap();
    let out = std::process::Command::new(&scanner)
        .args(["scan", "--all-files", "."])
        .current_dir(tree.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let baseline = String::from_utf8(out.stdout).unwrap();

    let (status, summary) = app.import(&dave, "source=acme/payments", &baseline).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["tool"], "detect-secrets");
    assert_eq!(summary["revoked_grants"], json!([grant]), "{summary}");
    assert_eq!(app.introspect(token).await["active"], false);
    let list = app.standing(&dave).await;
    let planted = finding(&list, "deploy/payments.env:2");
    assert_eq!(planted["status"], "unmapped");
    assert!(
        planted["secret_type"]
            .as_str()
            .unwrap()
            .contains("AWS Access Key")
    );
    assert_eq!(
        finding(&list, "deploy/debug.log:1")["status"],
        "leaked_stint_credential"
    );
    let (status, again) = app.import(&dave, "source=acme/payments", &baseline).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["new"], 0);
    assert!(!contains(&app.database_bytes(), RAW_SECRETS[4]));
}

/// One HTTP/1.1 call over a fresh connection; the status line, headers and body as text.
fn http(addr: &str, method: &str, path: &str, cookie: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nx-stint-csrf: 1\r\nCookie: {cookie}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn the_serving_broker_logs_no_secret_of_a_report_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let log_path = dir.path().join("broker.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let database = format!("sqlite://{}", dir.path().join("stint.db").display());
    let mut broker = std::process::Command::new(env!("CARGO_BIN_EXE_stint"))
        .args([
            "serve",
            "--demo",
            "--listen",
            &addr,
            "--database",
            &database,
        ])
        .env("RUST_LOG", "trace")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the broker never listened"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let login = http(
        &addr,
        "POST",
        "/api/v1/session",
        "",
        r#"{"username":"dave","password":"stint-demo"}"#,
    );
    let cookie = login
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].trim())
        })
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie: {login}"))
        .to_string();
    let misplaced =
        r#"[{"RuleID":"aws","File":"a","StartLine":"AKIAIOSFODNN7EXAMPLE","Secret":"x"}]"#;
    let mut answers = String::new();
    for report in [GITLEAKS, TRUFFLEHOG, misplaced] {
        answers.push_str(&http(
            &addr,
            "POST",
            "/api/v1/standing/import?source=acme%2Fpayments",
            &cookie,
            report,
        ));
    }
    answers.push_str(&http(&addr, "GET", "/api/v1/standing", &cookie, ""));
    broker.kill().unwrap();
    broker.wait().unwrap();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(answers.contains("HTTP/1.1 200"), "{answers}");
    assert!(
        answers.contains("HTTP/1.1 400"),
        "the misplaced report is refused"
    );
    assert!(
        logged.contains("/api/v1/standing/import"),
        "the calls were logged: {logged}"
    );
    for secret in RAW_SECRETS {
        assert!(!logged.contains(secret), "{secret} in the broker's log");
        assert!(!answers.contains(secret), "{secret} in an answer");
    }
}
