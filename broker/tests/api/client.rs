//! The `stint` client end to end: a child process asking a broker listening on loopback,
//! as a CI step would, while people decide over the API.

use crate::admin::save_payments_db;
use crate::grants::jwks;
use crate::helpers::*;
use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use std::process::Output;

/// A token for ci-deployer, minted by its owner alice.
pub(crate) async fn token(app: &TestApp) -> String {
    let alice = app.login("alice").await;
    let id = app.id_of(&alice, "identities", "ci-deployer").await;
    let (status, issued) = app
        .post(
            &alice,
            &format!("/api/v1/identities/{id}/tokens"),
            json!({ "name": "ci", "expires_in_secs": 86_400 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    issued["token"].as_str().unwrap().to_string()
}

/// `stint ARGS --broker URL --identity ci-deployer …` for read on payments-db, started.
pub(crate) fn stint(
    served: &Served,
    token: &str,
    command: &str,
    extra: &[&str],
) -> tokio::process::Child {
    let mut args = vec![command, "--identity", "ci-deployer"];
    args.extend(["--resource", "payments-db", "--privilege", "read"]);
    args.extend(["--duration", "15m", "--task", "Run the schema migration"]);
    args.extend(extra);
    stint_with(served, token, &args)
}

/// `stint COMMAND --broker URL ARGS…` with `token` in `STINT_TOKEN` (and no other broker
/// or workload token from this environment), started. The broker comes before the rest,
/// which may end with `-- command` for `exec`.
fn stint_with(served: &Served, token: &str, args: &[&str]) -> tokio::process::Child {
    let (command, rest) = args.split_first().expect("a command");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_stint"))
        .arg(command)
        .args(["--broker", &served.url])
        .args(rest)
        .env("STINT_TOKEN", token)
        .env_remove("STINT_BROKER")
        .env_remove("STINT_OIDC_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// The id of the request the client filed, once it has.
async fn filed_request(app: &TestApp) -> i64 {
    let pool = app.sql_pool().await;
    for _ in 0..400 {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM requests")
            .fetch_one(&pool)
            .await
            .unwrap();
        if let Some(id) = id {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the client filed no request");
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) async fn finished(child: tokio::process::Child) -> Output {
    tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the client ends")
        .unwrap()
}

#[tokio::test]
async fn request_waits_for_the_approval_and_prints_only_the_credential() {
    let app = TestApp::new().await;
    let served = serve(&app).await;
    let token = token(&app).await;
    let child = stint(&served, &token, "request", &["--wait", "--timeout", "1m"]);
    let id = filed_request(&app).await;
    let bob = app.login("bob").await;
    let (status, detail) = app
        .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");

    let out = finished(child).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("filed request {id}")), "{stderr}");
    assert!(!stderr.contains(&token), "the token never shows");
    let jwt = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "only the credential: {stdout}");
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let set = jwks(&app).await;
    let key = DecodingKey::from_jwk(set.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["payments-db"]);
    // The test clock is behind the wall clock jsonwebtoken checks `exp` with.
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "ci-deployer");
    assert_eq!(claims["scope"], "read");
}

#[tokio::test]
async fn a_denied_request_exits_2_and_one_left_pending_is_withdrawn_with_3() {
    let app = TestApp::new().await;
    let served = serve(&app).await;
    let token = token(&app).await;
    let child = stint(&served, &token, "request", &["--wait"]);
    let id = filed_request(&app).await;
    let bob = app.login("bob").await;
    let (status, _) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{id}/deny"),
            json!({ "comment": "use the read replica" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let out = finished(child).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("use the read replica"));
    assert!(out.stdout.is_empty());

    let child = stint(&served, &token, "request", &["--wait", "--timeout", "2s"]);
    let out = finished(child).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let alice = app.login("alice").await;
    let id = filed_request(&app).await;
    let (_, detail) = app.get(&alice, &format!("/api/v1/requests/{id}")).await;
    assert_eq!(
        detail["state"], "cancelled",
        "nobody approves what nobody waits for"
    );
}

#[tokio::test]
async fn exec_runs_the_command_with_the_credential_and_releases_the_grant_when_it_exits() {
    let app = TestApp::new().await;
    let (status, saved) = save_payments_db(&app, |p| {
        p["auto_approve"] = json!({
            "identity_kinds": ["ci_pipeline"], "privileges": ["read"], "max_duration_secs": 900,
        })
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let served = serve(&app).await;
    let token = token(&app).await;
    let seen = app.dir.path().join("credential");
    let script = format!(
        "test -n \"$STINT_GRANT_ID\" && test -z \"$STINT_TOKEN\" && printf %s \"$STINT_CREDENTIAL\" > {}",
        seen.display()
    );
    let child = stint(&served, &token, "exec", &["--", "sh", "-c", &script]);
    let out = finished(child).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let credential = std::fs::read_to_string(&seen).unwrap();
    assert!(credential.starts_with("eyJ"), "{credential}");
    // Access lived as long as the task: the grant ended when the command did.
    assert_eq!(app.introspect(&credential).await["active"], false);
    let alice = app.login("alice").await;
    let (_, grants) = app.get(&alice, "/api/v1/grants").await;
    assert_eq!(grants[0]["state"], "revoked");
    assert!(
        grants[0]["revoke_reason"]
            .as_str()
            .unwrap()
            .contains("completed"),
        "{grants}"
    );

    // A failing command: its exit code is stint's, and the release says it failed.
    let child = stint(&served, &token, "exec", &["--", "sh", "-c", "exit 7"]);
    let out = finished(child).await;
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let (_, grants) = app.get(&alice, "/api/v1/grants").await;
    let last = grants
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|g| g["id"].as_i64())
        .unwrap();
    assert_eq!(last["state"], "revoked");
    assert!(
        last["revoke_reason"].as_str().unwrap().contains("failed"),
        "{last}"
    );
}

#[tokio::test]
async fn without_a_token_or_with_another_identitys_the_client_says_why_and_exits_1() {
    let app = TestApp::new().await;
    let served = serve(&app).await;
    let out = finished(stint(&served, "", "request", &[])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("STINT_TOKEN"),
        "{}",
        text(&out.stderr)
    );

    let token = token(&app).await;
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stint"))
        .args([
            "request",
            "--broker",
            &served.url,
            "--identity",
            "billing-agent",
        ])
        .args(["--resource", "payments-db", "--privilege", "read"])
        .args(["--duration", "15m", "--task", "Reconcile"])
        .env("STINT_TOKEN", &token)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = finished(child).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("ci-deployer's, not billing-agent's"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(app.count("requests").await, 0);
}

#[tokio::test]
async fn a_pipeline_with_only_its_platforms_oidc_token_exchanges_it_and_runs_with_access() {
    let app = TestApp::new().await;
    let (status, _) = save_payments_db(&app, |p| {
        p["auto_approve"] = json!({
            "identity_kinds": ["ci_pipeline"], "privileges": ["read"], "max_duration_secs": 900,
        })
    })
    .await;
    assert_eq!(status, StatusCode::OK);
    let issuer = crate::issuer::TestIssuer::start().await;
    crate::federation::register(&app, &issuer).await;
    let claims = crate::federation::claims(&app, &issuer, "acme/payments");
    let oidc = app.dir.path().join("oidc-token");
    std::fs::write(&oidc, issuer.sign("rsa-1", &claims)).unwrap();
    let served = serve(&app).await;

    let oidc_arg = oidc.display().to_string();
    let child = stint(
        &served,
        "",
        "exec",
        &[
            "--oidc-token",
            &oidc_arg,
            "--",
            "sh",
            "-c",
            "test -n \"$STINT_CREDENTIAL\"",
        ],
    );
    let out = finished(child).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let alice = app.login("alice").await;
    let (_, grants) = app.get(&alice, "/api/v1/grants").await;
    assert_eq!(grants[0]["holder"]["name"], "identity:ci-deployer");
    assert_eq!(
        grants[0]["state"], "revoked",
        "released when the command ended"
    );

    // A token the issuer did not sign: the client says why and exits 1.
    std::fs::write(&oidc, "not.a.token").unwrap();
    let out = finished(stint(&served, "", "request", &["--oidc-token", &oidc_arg])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot be read"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn a_pipeline_extends_its_grant_and_waits_for_the_new_expiry() {
    let app = TestApp::new().await;
    let served = serve(&app).await;
    let token = token(&app).await;
    let child = stint(&served, &token, "request", &["--wait", "--timeout", "1m"]);
    let request = filed_request(&app).await;
    let bob = app.login("bob").await;
    let (status, approved) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{request}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(finished(child).await.status.code(), Some(0));
    let grant = approved["grant"]["id"].as_i64().unwrap();
    let before: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(approved["grant"]["expires_at"].clone()).unwrap();

    let grant_arg = grant.to_string();
    let child = stint_with(
        &served,
        &token,
        &[
            "extend",
            &grant_arg,
            "--duration",
            "30m",
            "--task",
            "The migration runs longer than planned",
            "--wait",
            "--timeout",
            "1m",
        ],
    );
    let mut extension = request;
    for _ in 0..400 {
        extension = filed_request(&app).await;
        if extension != request {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_ne!(extension, request, "the client asked for an extension");
    let (status, detail) = app
        .post(
            &bob,
            &format!("/api/v1/requests/{extension}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");

    let out = finished(child).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("extend grant {grant} by 30m")),
        "{stderr}"
    );
    let after: chrono::DateTime<chrono::Utc> = stdout.trim().parse().unwrap();
    assert_eq!(after, before + chrono::Duration::minutes(30));
}
