//! Fuzzing what takes outside input, with proptest (the stable toolchain has no
//! `cargo fuzz`): scanners' reports, the connectors file, JSON bodies, tokens at
//! introspection and at token exchange. Arbitrary bytes and inputs shaped like the real
//! thing: nothing panics, nothing answers 5xx, a refused body changes nothing.
//! `PROPTEST_CASES` sets how many cases each runs (`cargo xtask fuzz` runs many); a case
//! that fails is kept by proptest in `proptest-regressions/` and rerun first from then on.

use crate::helpers::TestApp;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use serde_json::{Value, json};
use stint_broker::connectors::config;
use stint_broker::scan_report;
use stint_core::standing::SecretSource;

fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Any JSON value, a few levels deep, with the strings and numbers parsers trip on.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        prop_oneof![Just(""), Just("0"), Just("-1"), Just("9999999999999999999")]
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_]{1,12}",
                    Just("results".to_string()),
                    Just("type".to_string()),
                    Just("hashed_secret".to_string()),
                    Just("line_number".to_string()),
                    Just("Secret".to_string()),
                    Just("File".to_string()),
                    Just("StartLine".to_string()),
                    Just("RuleID".to_string()),
                    Just("SourceMetadata".to_string()),
                    Just("DetectorName".to_string()),
                    Just("Raw".to_string()),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A report in the shape of one scanner's, with anything in its fields.
fn report_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // detect-secrets: {"results": {file: [finding, …]}}
        prop::collection::btree_map(
            "[a-z./]{1,16}",
            prop::collection::vec(json_value(), 0..4),
            0..3
        )
        .prop_map(|files| json!({ "version": "1.5.0", "results": files }).to_string()),
        // gitleaks: [finding, …]
        prop::collection::vec(json_value(), 0..5).prop_map(|list| Value::from(list).to_string()),
        // trufflehog: one finding per line
        prop::collection::vec(json_value(), 0..5).prop_map(|lines| {
            lines
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        }),
        json_value().prop_map(|v| v.to_string()),
    ]
}

fn tools() -> impl Strategy<Value = Option<SecretSource>> {
    prop_oneof![
        Just(None),
        Just(Some(SecretSource::DetectSecrets)),
        Just(Some(SecretSource::Gitleaks)),
        Just(Some(SecretSource::Trufflehog)),
        Just(Some(SecretSource::Manual)),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn a_report_of_any_bytes_is_read_or_refused_never_a_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        tool in tools(),
    ) {
        let _ = scan_report::parse(&bytes, tool);
    }

    #[test]
    fn a_report_shaped_like_a_scanners_is_read_or_refused_with_a_reason(
        text in report_text(),
        tool in tools(),
    ) {
        if let Err(e) = scan_report::parse(text.as_bytes(), tool) {
            prop_assert!(!e.0.is_empty());
        }
    }

    #[test]
    fn a_connectors_file_of_any_text_is_read_or_refused_naming_a_line(text in ".{0,400}") {
        if let Err(e) = config::parse(&text, &|_| Some("secret".into())) {
            prop_assert!(e.line >= 1);
        }
    }

    #[test]
    fn a_connectors_file_shaped_like_one_is_read_or_refused_naming_a_line(
        name in prop_oneof!["[a-z-]{1,12}", ".{0,12}"],
        kind in prop_oneof![Just("postgres"), Just("webhook"), Just("ldap"), Just("")],
        lines in prop::collection::vec(
            ("[a-z_]{1,14}", prop_oneof![
                ".{0,30}".prop_map(|s| format!("{s:?}")),
                any::<i64>().prop_map(|n| n.to_string()),
                Just("[\"read\", 1]".to_string()),
                Just("{ read = [\"GRANT {role} TO x\"] }".to_string()),
            ]),
            0..6,
        ),
    ) {
        let mut text = format!("[connectors.{name:?}]\nkind = {kind:?}\n");
        for (key, value) in &lines {
            text.push_str(&format!("{key} = {value}\n"));
        }
        if let Err(e) = config::parse(&text, &|_| Some("secret".into())) {
            prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1));
        }
    }

    #[test]
    fn a_providers_file_of_any_text_is_read_or_refused_naming_a_line(text in ".{0,400}") {
        if let Err(e) = stint_broker::oidc::config::parse(&text, &|_| Some("secret".into())) {
            prop_assert!(e.line >= 1);
        }
    }
}

/// A demo broker and the runtime its calls are driven on, for the HTTP properties.
fn broker() -> (tokio::runtime::Runtime, TestApp) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Limits far above any run's cases: a throttled call would be refused before the
    // token is even read, and prove nothing.
    let app = runtime.block_on(TestApp::with_config(|c| {
        c.introspection_per_minute = std::num::NonZeroU32::MAX;
        c.exchanges_per_minute = std::num::NonZeroU32::MAX;
    }));
    (runtime, app)
}

/// A JWT's shape: base64url(JSON).base64url(JSON).signature, with anything inside.
fn jwt_like() -> impl Strategy<Value = String> {
    (json_value(), json_value(), "[A-Za-z0-9_-]{0,86}").prop_map(|(header, claims, sig)| {
        format!(
            "{}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    })
}

fn token_like() -> impl Strategy<Value = String> {
    prop_oneof![jwt_like(), ".{0,200}", "stint_[A-Za-z0-9_.-]{0,120}"]
}

/// Anything, or a moment as RFC 3339 writes it, from year 0 to 9999.
fn moment_or_any() -> impl Strategy<Value = Value> {
    prop_oneof![
        json_value(),
        "[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-][0-2][0-9]:[0-5][0-9])"
            .prop_map(Value::String),
    ]
}

/// A request's body with one field, or all of it, replaced by anything (a start, often by
/// a moment from any century).
fn request_body(valid: Value) -> impl Strategy<Value = Value> {
    const FIELDS: [&str; 8] = [
        "identity_id",
        "resource_id",
        "privilege",
        "duration_secs",
        "justification",
        "task",
        "ticket",
        "starts_at",
    ];
    let field_and_value = prop::sample::select(&FIELDS[..]).prop_flat_map(|field| {
        let value = if field == "starts_at" {
            moment_or_any().boxed()
        } else {
            json_value().boxed()
        };
        (Just(field), value)
    });
    prop_oneof![
        json_value(),
        field_and_value.prop_map(move |(field, value)| {
            let mut body = valid.clone();
            match field {
                "task" | "ticket" => body["justification"][field] = value,
                _ => body[field] = value,
            }
            body
        }),
    ]
}

#[test]
fn any_json_body_is_answered_without_a_5xx_and_only_a_valid_one_files() {
    let (runtime, app) = broker();
    let alice = runtime.block_on(app.login("alice"));
    let valid =
        runtime.block_on(app.request_body(&alice, "ci-deployer", "payments-db", "read", 600));
    let before = runtime.block_on(app.count("requests"));
    let filed = std::cell::Cell::new(0);
    proptest!(config(64), |(body in request_body(valid.clone()))| {
        let (status, answer) = runtime.block_on(app.post(&alice, "/api/v1/requests", body));
        prop_assert!(!status.is_server_error(), "{status} {answer}");
        if status.is_success() {
            filed.set(filed.get() + 1);
        } else {
            prop_assert!(answer["error"]["message"].is_string(), "{answer}");
        }
    });
    assert_eq!(
        runtime.block_on(app.count("requests")),
        before + filed.get(),
        "a request for each body accepted, none for one refused"
    );
}

#[test]
fn any_json_body_asking_to_extend_a_grant_is_answered_without_a_5xx() {
    let (runtime, app) = broker();
    let alice = runtime.block_on(app.login("alice"));
    let grant = runtime.block_on(app.active_grant(&alice, 3600));
    let valid = json!({
        "duration_secs": 600,
        "justification": { "task": "The migration runs longer than planned", "ticket": "OPS-1" },
    });
    let before = runtime.block_on(app.count("requests"));
    let filed = std::cell::Cell::new(0);
    proptest!(config(64), |(body in request_body(valid.clone()))| {
        let (status, answer) = runtime.block_on(app.post(
            &alice,
            &format!("/api/v1/grants/{grant}/extend"),
            body,
        ));
        prop_assert!(!status.is_server_error(), "{status} {answer}");
        if status.is_success() {
            filed.set(filed.get() + 1);
        } else {
            prop_assert!(answer["error"]["message"].is_string(), "{answer}");
        }
    });
    // One extension waits at a time: any later valid body is refused as such.
    assert!(filed.get() <= 1);
    assert_eq!(
        runtime.block_on(app.count("requests")),
        before + filed.get()
    );
}

#[test]
fn any_token_at_introspection_is_inactive() {
    let (runtime, app) = broker();
    let dave = runtime.block_on(app.login("dave"));
    proptest!(config(64), |(token in token_like())| {
        let (status, answer) = runtime.block_on(
            app.post(&dave, "/api/v1/introspect", json!({ "token": token })),
        );
        prop_assert_eq!(status.as_u16(), 200, "{}", answer);
        prop_assert_eq!(&answer["active"], &json!(false));
    });
}

#[test]
fn any_token_offered_for_exchange_is_refused_as_a_client_error() {
    let (runtime, app) = broker();
    proptest!(config(64), |(token in token_like())| {
        let (status, _, answer) = runtime.block_on(app.send(
            axum::http::Request::post("/api/v1/token")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(json!({
                    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                    "subject_token": token,
                    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                }).to_string()))
                .unwrap(),
        ));
        prop_assert!(status.is_client_error(), "{status} {answer}");
    });
}

/// Any callback a browser could be sent to, with any flow cookie: the login page again (or
/// a 400 for a query that cannot be read), never a session and never a 5xx.
#[test]
fn any_callback_goes_back_to_the_login_page_without_a_session() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A provider nobody answers for: no callback here gets as far as asking it anything.
    let file = stint_broker::oidc::config::parse(
        "[providers.corp]\nissuer = \"http://127.0.0.1:9\"\nclient_id = \"stint\"\n",
        &|_| None,
    )
    .unwrap();
    let app = runtime.block_on(TestApp::with_config(|c| c.oidc = file));
    let pair = (
        prop_oneof![
            Just("code".to_string()),
            Just("state".to_string()),
            Just("error".to_string()),
            Just("iss".to_string()),
            "[a-z_]{1,8}",
        ],
        ".{0,40}",
    );
    proptest!(config(64), |(
        pairs in prop::collection::vec(pair, 0..5),
        cookie in prop::option::of("[A-Za-z0-9_-]{0,44}"),
    )| {
        let query = serde_urlencoded::to_string(&pairs).unwrap();
        let mut request = axum::http::Request::get(format!("/api/v1/oidc/corp/callback?{query}"));
        if let Some(cookie) = &cookie {
            request = request.header("cookie", format!("stint_sso={cookie}"));
        }
        let (status, headers, _) =
            runtime.block_on(app.send(request.body(axum::body::Body::empty()).unwrap()));
        prop_assert!(status == 303 || status == 400, "{status}");
        if status == 303 {
            let to = headers["location"].to_str().unwrap();
            prop_assert!(to.starts_with("/login?sso_error="), "{to}");
        }
        let sets_session = headers
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("stint_session="));
        prop_assert!(!sets_session);
    });
}

/// Every byte that is not a letter or digit, percent-encoded for a URL's query.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn any_period_zone_or_format_of_the_evidence_report_is_answered_without_a_5xx() {
    let (runtime, app) = broker();
    let dave = runtime.block_on(app.login("dave"));
    let param = prop_oneof![
        moment_or_any().prop_map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string())),
        ".{0,40}",
    ];
    proptest!(config(32), |(since in param.clone(), until in param.clone(), tz in ".{0,20}", format in "(json|html|.{0,6})")| {
        let path = format!(
            "/api/v1/reports/evidence?since={}&until={}&tz={}&format={}",
            query_value(&since), query_value(&until), query_value(&tz), query_value(&format)
        );
        let (status, answer) = runtime.block_on(app.get(&dave, &path));
        prop_assert!(!status.is_server_error(), "{path}: {status} {answer}");
        if !status.is_success() {
            prop_assert!(answer["error"]["field"].is_string(), "{path}: {answer}");
        }
    });
}

#[test]
fn any_campaign_or_decision_body_is_answered_without_a_5xx() {
    let (runtime, app) = broker();
    let dave = runtime.block_on(app.login("dave"));
    let valid =
        json!({ "name": "Q4 access review", "due_at": app.now() + chrono::Duration::days(7) });
    let field = prop::sample::select(&["name", "due_at", "scope"][..]);
    let started = std::cell::Cell::new(0);
    proptest!(config(32), |(body in prop_oneof![
        json_value(),
        (field, moment_or_any()).prop_map({
            let valid = valid.clone();
            move |(field, value)| { let mut b = valid.clone(); b[field] = value; b }
        }),
    ])| {
        let (status, answer) = runtime.block_on(app.post(&dave, "/api/v1/campaigns", body));
        prop_assert!(!status.is_server_error(), "{status} {answer}");
        if status.is_success() {
            started.set(started.get() + 1);
        }
    });
    assert_eq!(runtime.block_on(app.count("campaigns")), started.get());

    // Decisions on one of dave's items: any body, each recorded at most once.
    let (_, campaign) = runtime.block_on(app.post(&dave, "/api/v1/campaigns", valid.clone()));
    let item = campaign["item_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["can_decide"] == true)
        .unwrap()["id"]
        .clone();
    let path = format!("/api/v1/campaigns/{}/items/{item}/decide", campaign["id"]);
    let decided = std::cell::Cell::new(0);
    let decision = json!({ "decision": "change", "comment": "narrow it to read only", "link": "https://tickets.example/1" });
    let field = prop::sample::select(&["decision", "comment", "link"][..]);
    proptest!(config(32), |(body in prop_oneof![
        json_value(),
        (field, json_value()).prop_map({
            let decision = decision.clone();
            move |(field, value)| { let mut b = decision.clone(); b[field] = value; b }
        }),
    ])| {
        let (status, answer) = runtime.block_on(app.post(&dave, &path, body));
        prop_assert!(!status.is_server_error(), "{status} {answer}");
        if status.is_success() {
            decided.set(decided.get() + 1);
        }
    });
    assert!(decided.get() <= 1, "an item is decided once");
    // Whether a fuzzed body was valid or not, the valid one is then recorded, once.
    let (status, _) = runtime.block_on(app.post(&dave, &path, decision.clone()));
    let (_, after) =
        runtime.block_on(app.get(&dave, &format!("/api/v1/campaigns/{}", campaign["id"])));
    assert_eq!(after["decided"], 1, "{status}");
}
