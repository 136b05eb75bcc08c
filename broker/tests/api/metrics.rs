//! `/metrics` on its own listener: after a core loop, the series an operator alerts on say
//! what happened, and the public listener does not serve them.

use crate::helpers::{Http, TestApp, serve_with};
use serde_json::json;

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_tell_what_the_broker_did_on_their_own_listener() {
    let app = TestApp::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let served = serve_with(&app, |c| {
        c.metrics_listen = Some(format!("127.0.0.1:{port}").parse().unwrap());
    })
    .await;
    let base = served.url.clone();
    let metrics = tokio::task::spawn_blocking(move || {
        let http = Http(base.clone());
        let alice = http.login("alice");
        let request = http.file(&alice, "ci-deployer", "payments-db", 600);
        let bob = http.login("bob");
        let approved = http.call(
            &bob,
            "POST",
            &format!("/api/v1/requests/{}/approve", request["id"]),
            None,
        );
        http.call(
            &alice,
            "POST",
            &format!("/api/v1/grants/{}/credential", approved["grant"]["id"]),
            None,
        );
        let refused = ureq::post(format!("{base}/api/v1/session"))
            .header("x-stint-csrf", "1")
            .header("content-type", "application/json")
            .send(json!({ "username": "alice", "password": "not her password" }).to_string());
        assert!(refused.is_err(), "a wrong password is refused");
        let public = ureq::get(format!("{base}/metrics"))
            .call()
            .map(|r| r.into_body().read_to_string().unwrap())
            .unwrap_or_default();
        assert!(!public.contains("# TYPE"), "not on the public listener");
        ureq::get(format!("http://127.0.0.1:{port}/metrics"))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap()
    })
    .await
    .unwrap();

    let calls = |route: &str, method: &str, status: u16| {
        value(
            &metrics,
            &format!(
                "stint_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(calls("/api/v1/requests", "POST", 201), 1.0);
    assert_eq!(calls("/api/v1/requests/{id}/approve", "POST", 200), 1.0);
    assert_eq!(calls("/api/v1/session", "POST", 401), 1.0);
    assert_eq!(value(&metrics, "stint_sign_ins_refused_total"), 1.0);
    assert_eq!(value(&metrics, "stint_grants_active"), 1.0);
    assert_eq!(value(&metrics, "stint_requests_pending"), 0.0);
    assert_eq!(value(&metrics, "stint_sweep_lag_seconds"), 0.0);
    assert_eq!(value(&metrics, "stint_live_readers"), 0.0);
    assert!(value(&metrics, "stint_audit_events_total") >= 4.0);
    let approvals_timed = value(
        &metrics,
        "stint_http_request_duration_seconds_count{route=\"/api/v1/requests/{id}/approve\",method=\"POST\"}",
    );
    assert_eq!(approvals_timed, 1.0);
    assert!(metrics.trim_end().ends_with("# EOF"));
    drop(served);
}
