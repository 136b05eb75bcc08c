//! Finding past requests by what they were for: task words, ticket, identity, resource,
//! requester and time, each narrowing, paginated, and only among what the viewer may see.

use crate::helpers::{Session, TestApp};
use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use stint_core::Role;

/// Files a request for `identity` on payments-db with this task and ticket; its id.
async fn file(app: &TestApp, who: &Session, identity: &str, task: &str, ticket: &str) -> i64 {
    let mut body = app
        .request_body(who, identity, "payments-db", "read", 600)
        .await;
    body["justification"] = json!({ "task": task, "ticket": ticket });
    let (status, created) = app.post(who, "/api/v1/requests", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_i64().unwrap()
}

async fn found(app: &TestApp, who: &Session, query: &str) -> Vec<i64> {
    let (status, page) = app.get(who, &format!("/api/v1/requests?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    ids(&page)
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn requests_are_found_by_task_words_ticket_and_time_among_what_the_viewer_may_see() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let (frank_id, _) = app.seed_user("frank", &[Role::Requester], &[]).await;
    let keys = file(
        &app,
        &alice,
        "ci-deployer",
        "Rotate the ledger encryption keys",
        "OPS-77",
    )
    .await;
    let backfill = file(
        &app,
        &alice,
        "ci-deployer",
        "Backfill the ledger index (100% of rows)",
        "INC-9",
    )
    .await;
    app.advance(Duration::hours(2));
    let later = app.now();
    // Sessions idle out over those hours: everyone signs in again.
    let (alice, frank, dave) = (
        app.login("alice").await,
        app.login("frank").await,
        app.login("dave").await,
    );
    let billing = file(
        &app,
        &alice,
        "billing-agent",
        "Reconcile November invoices",
        "ops-77",
    )
    .await;

    // Task words, in any case and any order, each somewhere in the task or the ticket.
    assert_eq!(found(&app, &alice, "q=LEDGER").await, vec![backfill, keys]);
    assert_eq!(found(&app, &alice, "q=keys%20ledger").await, vec![keys]);
    assert_eq!(
        found(&app, &alice, "q=ledger%20inc-9").await,
        vec![backfill]
    );
    // A wildcard typed is a character searched for, not a pattern.
    assert_eq!(found(&app, &alice, "q=100%25").await, vec![backfill]);
    assert_eq!(found(&app, &alice, "q=l_dger").await, Vec::<i64>::new());
    assert_eq!(found(&app, &alice, "q=ledger%25").await, Vec::<i64>::new());
    // The ticket, exactly and in any case.
    assert_eq!(
        found(&app, &alice, "ticket=OPS-77").await,
        vec![billing, keys]
    );
    assert_eq!(found(&app, &alice, "ticket=OPS-7").await, Vec::<i64>::new());
    // Identity, resource, requester and the time filed narrow further.
    let ci = app.id_of(&alice, "identities", "ci-deployer").await;
    let payments = app.id_of(&alice, "resources", "payments-db").await;
    assert_eq!(
        found(&app, &alice, &format!("ticket=ops-77&identity_id={ci}")).await,
        vec![keys]
    );
    assert_eq!(
        found(&app, &alice, &format!("resource_id={payments}&q=reconcile")).await,
        vec![billing]
    );
    let since = later.to_rfc3339().replace('+', "%2B");
    assert_eq!(
        found(&app, &alice, &format!("since={since}")).await,
        vec![billing]
    );
    assert_eq!(
        found(&app, &alice, &format!("until={since}")).await,
        vec![backfill, keys]
    );
    // Paginated: the cursor goes on where the page ended.
    let (_, first) = app.get(&alice, "/api/v1/requests?q=ledger&limit=1").await;
    assert_eq!(ids(&first), vec![backfill]);
    let cursor = first["next_cursor"].as_i64().unwrap();
    assert_eq!(
        found(&app, &alice, &format!("q=ledger&limit=1&cursor={cursor}")).await,
        vec![keys]
    );

    // Someone who neither filed them nor owns their identities finds none of them; an
    // admin finds them all, and by requester.
    assert_eq!(found(&app, &frank, "q=ledger").await, Vec::<i64>::new());
    assert_eq!(
        found(&app, &frank, "ticket=OPS-77").await,
        Vec::<i64>::new()
    );
    assert_eq!(found(&app, &dave, "q=ledger").await, vec![backfill, keys]);
    let alice_id = app.get(&alice, "/api/v1/me").await.1["user"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        found(
            &app,
            &dave,
            &format!("requester_id={alice_id}&ticket=ops-77")
        )
        .await,
        vec![billing, keys]
    );
    assert_eq!(
        found(&app, &dave, &format!("requester_id={frank_id}")).await,
        Vec::<i64>::new()
    );

    // A filter it cannot read is refused by name.
    for (query, field) in [
        ("since=yesterday", "since"),
        ("identity_id=x", "identity_id"),
        ("q=a%20b%20c%20d%20e%20f%20g%20h%20i", "q"),
    ] {
        let (status, error) = app.get(&alice, &format!("/api/v1/requests?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {error}");
        assert_eq!(error["error"]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn grants_are_found_by_the_task_and_ticket_they_were_asked_for() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let mut grants = Vec::new();
    for (task, ticket) in [
        ("Rotate the ledger encryption keys", "OPS-77"),
        ("Reconcile November invoices", "INC-9"),
    ] {
        let id = file(&app, &alice, "ci-deployer", task, ticket).await;
        let (status, detail) = app
            .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        grants.push(detail["grant"]["id"].as_i64().unwrap());
    }
    let grants_found = |who: Session, query: &'static str| {
        let app = &app;
        async move {
            let (status, list) = app.get(&who, &format!("/api/v1/grants?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {list}");
            list.as_array()
                .unwrap()
                .iter()
                .map(|g| g["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        grants_found(alice.clone(), "q=ledger").await,
        vec![grants[0]]
    );
    assert_eq!(
        grants_found(alice.clone(), "ticket=inc-9").await,
        vec![grants[1]]
    );
    assert_eq!(
        grants_found(alice.clone(), "q=invoices&state=active").await,
        vec![grants[1]]
    );
    // Only among what the viewer may see.
    let (_, frank) = app.seed_user("frank", &[Role::Requester], &[]).await;
    assert_eq!(grants_found(frank, "q=ledger").await, Vec::<i64>::new());
    let (status, error) = app.get(&alice, "/api/v1/grants?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["field"], "limit");

    // A page at a time: each full page names where the next starts, in the list's order
    // (both grants end at the same moment here, so the order falls to their ids).
    let page = |cursor: String| {
        let (app, alice) = (&app, &alice);
        async move {
            let (status, headers, list) = app
                .call_raw(alice, &format!("/api/v1/grants?limit=1&cursor={cursor}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{list}");
            let ids: Vec<i64> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["id"].as_i64().unwrap())
                .collect();
            let next = headers["stint-next-cursor"].to_str().unwrap().to_string();
            (ids, next)
        }
    };
    let (first, next) = page(String::new()).await;
    assert_eq!(first, vec![grants[0]]);
    let (second, next) = page(next).await;
    assert_eq!(second, vec![grants[1]]);
    let (third, next) = page(next).await;
    assert_eq!((third, next), (Vec::<i64>::new(), String::new()), "no more");
    let (status, error) = app.get(&alice, "/api/v1/grants?cursor=last").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["field"], "cursor");
}

/// alice takes break-glass on `resource` for this task and ticket.
async fn take_break_glass(
    app: &TestApp,
    alice: &Session,
    resource: &str,
    task: &str,
    ticket: &str,
) {
    let mut body = app
        .request_body(alice, "ci-deployer", resource, "write", 1800)
        .await;
    body["privilege"] = json!(if resource == "prod-cluster" {
        "deploy"
    } else {
        "write"
    });
    body["justification"] = json!({ "task": task, "ticket": ticket });
    body["password"] = json!("stint-demo");
    let (status, taken) = app.post(alice, "/api/v1/break-glass", body).await;
    assert_eq!(status, StatusCode::CREATED, "{taken}");
}

#[tokio::test]
async fn reviews_are_found_by_what_the_break_glass_was_for() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    take_break_glass(
        &app,
        &alice,
        "payments-db",
        "Restore the ledger after the storage outage",
        "INC-501",
    )
    .await;
    take_break_glass(
        &app,
        &alice,
        "prod-cluster",
        "Roll back the broken deploy of the API gateway",
        "INC-502",
    )
    .await;
    let carol = app.login("carol").await;
    let tasks = |page: &Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|r| r["justification"]["task"].as_str().unwrap().to_string())
            .collect()
    };
    let search = |query: &'static str| {
        let (app, carol) = (&app, &carol);
        async move {
            let (status, page) = app.get(carol, &format!("/api/v1/reviews?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {page}");
            page
        }
    };
    assert_eq!(tasks(&search("").await).len(), 2);
    assert_eq!(
        tasks(&search("q=LEDGER+outage").await),
        ["Restore the ledger after the storage outage"]
    );
    assert_eq!(
        tasks(&search("ticket=inc-502").await),
        ["Roll back the broken deploy of the API gateway"]
    );
    let payments = app.id_of(&carol, "resources", "payments-db").await;
    let by_resource = app
        .get(
            &carol,
            &format!("/api/v1/reviews?resource_id={payments}&state=open"),
        )
        .await
        .1;
    assert_eq!(
        tasks(&by_resource),
        ["Restore the ledger after the storage outage"]
    );
    assert_eq!(
        tasks(&search("q=nothing+like+it").await),
        Vec::<String>::new()
    );
    assert_eq!(tasks(&search("limit=1").await).len(), 1);
    let (status, error) = app.get(&carol, "/api/v1/reviews?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["field"], "since");
}
