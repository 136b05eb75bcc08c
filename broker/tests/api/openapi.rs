//! The API's OpenAPI description: committed as `openapi.json` and kept in step with the
//! code, served, rendered, and held to by the broker's answers (schemathesis).

use crate::helpers::*;
use axum::http::{Method, StatusCode};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn committed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.json")
}

/// The description the code makes, parsed.
fn described() -> Value {
    serde_json::from_str(&stint_broker::http::api_description_json()).unwrap()
}

#[test]
fn the_committed_description_is_the_one_the_code_makes() {
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    let made = stint_broker::http::api_description_json() + "\n";
    if committed != made {
        let line = committed
            .lines()
            .zip(made.lines())
            .position(|(a, b)| a != b)
            .map_or(committed.lines().count().min(made.lines().count()), |i| i);
        panic!(
            "openapi.json is not what the code describes (first difference at line {}: `{}` \
             here, `{}` in the code). Run `cargo xtask openapi` and commit the result.",
            line + 1,
            committed.lines().nth(line).unwrap_or("").trim(),
            made.lines().nth(line).unwrap_or("").trim(),
        );
    }
}

#[test]
fn the_description_names_each_call_once_with_its_types() {
    let spec = described();
    assert_eq!(spec["openapi"], "3.1.0");
    let operations: Vec<(&str, &str, &Value)> = operations(&spec).collect();
    assert!(operations.len() >= 80, "{} operations", operations.len());
    let mut ids: Vec<&str> = operations
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap())
        .collect();
    ids.sort();
    let count = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique");
    // The handler's real types: approving takes ApproveBody and answers the request.
    let approve = &spec["paths"]["/api/v1/requests/{id}/approve"]["post"];
    assert_eq!(
        approve["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ApproveBody"
    );
    assert_eq!(
        approve["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/RequestDetail"
    );
    assert_eq!(approve["parameters"][0]["schema"]["type"], "integer");
    // Links, as OpenAPI spells them, from filing to approving to the credential.
    let filed = &spec["paths"]["/api/v1/requests"]["post"]["responses"]["201"]["links"];
    assert_eq!(filed["approve"]["operationId"], "requests_approve");
    assert_eq!(filed["approve"]["parameters"]["id"], "$response.body#/id");
    let approved = &approve["responses"]["200"]["links"]["credential"];
    assert_eq!(approved["operationId"], "grants_credential");
    // A refusal's shape names the field at fault; token exchange refuses as RFC 6749 says.
    let refused = &approve["responses"]["default"]["content"]["application/json"]["schema"];
    assert_eq!(refused["$ref"], "#/components/schemas/ErrorBody");
    let error = &spec["components"]["schemas"]["ErrorDetail"];
    assert!(error["properties"]["field"].is_object());
    let exchange = &spec["paths"]["/api/v1/token"]["post"]["responses"]["4XX"];
    assert_eq!(
        exchange["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/OAuthErrorBody"
    );
    // The list calls' query parameters, as the handlers read them.
    let names = |path: &str| -> Vec<String> {
        spec["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let requests = names("/api/v1/requests");
    for name in [
        "state",
        "mine",
        "awaiting_me",
        "cursor",
        "limit",
        "q",
        "ticket",
        "since",
    ] {
        assert!(
            requests.contains(&name.to_string()),
            "{name} in {requests:?}"
        );
    }
    let export = names("/api/v1/audit/export");
    assert!(export.contains(&"format".to_string()) && !export.contains(&"cursor".to_string()));
    // Machines authenticate otherwise than people.
    let introspect = &spec["paths"]["/api/v1/introspect"]["post"]["security"];
    assert_eq!(introspect[0]["introspection_client"], Value::Array(vec![]));
}

fn operations(spec: &Value) -> impl Iterator<Item = (&str, &str, &Value)> {
    spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .map(move |(method, op)| (method.as_str(), path.as_str(), op))
        })
}

/// The broker serves the committed description, and every call in it that a browser makes
/// and that changes something is behind the CSRF guard: built from one table, the routes
/// keep the layers they had.
#[tokio::test]
async fn the_broker_serves_its_description_and_guards_every_browser_write() {
    let app = TestApp::new().await;
    let (status, served) = app
        .call(None, Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(committed_path()).unwrap()).unwrap();
    assert_eq!(served, committed);
    let mut guarded = 0;
    for (method, path, op) in operations(&served) {
        // Machines call with their own credentials, never a cookie: no CSRF to guard against.
        let machine = op["tags"][0] == "machines";
        if method == "get" || machine {
            continue;
        }
        let path = path
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        let request = axum::http::Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from("{}"))
            .unwrap();
        let (status, _, answer) = app.send(request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "csrf", "{method} {path}: {answer}");
        guarded += 1;
    }
    assert!(guarded >= 40, "{guarded} calls checked");
}

#[tokio::test]
async fn the_reference_page_is_the_description_to_read_and_runs_nothing() {
    let app = TestApp::new().await;
    let (status, headers, body) = app
        .send(
            axum::http::Request::get("/api/v1/docs")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.starts_with("default-src 'none'; style-src 'sha256-"),
        "{policy}"
    );
    assert!(
        !policy.contains("script-src") && !policy.contains("unsafe"),
        "{policy}"
    );
    let page = body.as_str().unwrap();
    assert!(!page.contains("<script"));
    assert!(page.contains("/api/v1/requests/{id}/approve"));
    assert!(page.contains("id=\"schema-ApproveBody\""));
    assert!(page.contains("href=\"#schema-RequestDetail\""));
}

/// schemathesis (PyPI) against the live broker with the served description, signed in as
/// each role: no server error, and every answer has a documented status, content type and
/// schema. First, the description's links are followed through the core loop (file, approve
/// as someone else, fetch the credential, release it). `cargo xtask test` installs
/// schemathesis, names its `st` in STINT_SCHEMATHESIS and shows this test's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs schemathesis; `cargo xtask test` installs it and runs this"]
async fn schemathesis_finds_every_answer_as_described() {
    let st = PathBuf::from(
        std::env::var("STINT_SCHEMATHESIS")
            .expect("STINT_SCHEMATHESIS names schemathesis' st executable"),
    );
    let python = st.with_file_name("python");
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis");
    let app = TestApp::new().await;
    let served = serve(&app).await;
    let alice = app.login("alice").await.cookie;
    let bob = app.login("bob").await.cookie;

    // Each run's every call and answer, for reading a failure afterwards.
    let report_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("schemathesis");
    let _ = std::fs::remove_dir_all(&report_dir);
    // schemathesis keeps a cache where it runs: there, not in the source tree.
    std::fs::create_dir_all(&report_dir).unwrap();

    let url = served.url.clone();
    let links = tokio::task::spawn_blocking({
        let dir = report_dir.clone();
        move || {
            std::process::Command::new(python)
                .current_dir(dir)
                .arg(scripts.join("links.py"))
                .arg(&url)
                .env("STINT_COOKIE", alice)
                .env("STINT_DECIDER_COOKIE", bob)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&links.stdout);
    println!("{said}");
    assert!(
        links.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&links.stderr)
    );

    // An admin last: what they change (disabling someone, resetting a password) would
    // shut the others out.
    let mut totals = (0, 0);
    for (role, username) in [
        ("requester and owner", "alice"),
        ("approver", "bob"),
        ("reviewer", "carol"),
        ("admin and auditor", "dave"),
    ] {
        let cookie = app.login(username).await.cookie;
        let report = report_dir.join(username);
        let (st, url, report_to) = (st.clone(), served.url.clone(), report.clone());
        let run = tokio::task::spawn_blocking(move || {
            std::process::Command::new(st)
                .current_dir(report_to.parent().unwrap())
                .arg("run")
                .arg(format!("{url}/api/v1/openapi.json"))
                .args(["--url", &url])
                .args(["-H", &format!("Cookie: {cookie}"), "-H", "x-stint-csrf: 1"])
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,\
                     response_schema_conformance,response_headers_conformance",
                    // Signing out would end the run's own session; the live feed is a
                    // stream that ends only when the caller hangs up (tests/api/live.rs).
                    "--exclude-path",
                    "/api/v1/session",
                    "--exclude-path",
                    "/api/v1/events",
                    "--phases",
                    "examples,coverage,fuzzing,stateful",
                    "--max-examples",
                    "10",
                    "--seed",
                    "1",
                    // One: CPython 3.11 before 3.11.8 can raise a SystemError compiling
                    // from several threads (gh-106905), which schemathesis then reports.
                    "--workers",
                    "1",
                    // A slow answer is not what this measures (a debug build on two cores).
                    "--request-timeout",
                    "30",
                    "--no-color",
                    "--report",
                    "ndjson",
                ])
                .arg("--report-dir")
                .arg(report_to)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let out = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "schemathesis as {username} ({role}):\n{out}{}\n(every call: {})",
            String::from_utf8_lossy(&run.stderr),
            report.display()
        );
        let (tested, cases) = summary(&out);
        println!("schemathesis as {username} ({role}): {tested} operations, {cases} test cases");
        totals = (totals.0 + tested, totals.1 + cases);
    }
    println!(
        "schemathesis: {} operation runs, {} test cases, each answer checked five ways",
        totals.0, totals.1
    );
}

/// How many operations a run tested and how many cases it generated, from its summary
/// (`Tested: 80` under "API Operations", and the line after "Test cases:").
fn summary(out: &str) -> (u64, u64) {
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let first_number = |text: &str| {
        text.split(|c: char| !c.is_ascii_digit())
            .find(|part| !part.is_empty())
            .and_then(|n| n.parse().ok())
    };
    let tested = lines
        .iter()
        .find_map(|line| line.strip_prefix("Tested:").and_then(first_number));
    let cases = lines
        .iter()
        .position(|line| *line == "Test cases:")
        .and_then(|i| lines.get(i + 1))
        .and_then(|line| first_number(line));
    match (tested, cases) {
        (Some(tested), Some(cases)) => (tested, cases),
        _ => panic!("schemathesis' summary has no counts:\n{out}"),
    }
}
