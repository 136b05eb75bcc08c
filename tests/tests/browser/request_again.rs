//! A task that recurs is not retyped: alice asks again for the access a past grant gave,
//! from its request's page, adjusts the task and files it.

use chrono::Utc;
use stint_e2e::{Stack, click, find, screenshot, sign_in, type_into, value_of, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn alice_requests_a_past_grant_again_with_the_form_filled_in() {
    let stack = Stack::start().await;
    let alice = stack.user("alice").await;
    // Not the form's defaults (read, one hour), so the copy shows in every field.
    let mut body = stack
        .request_body(
            &alice,
            "ci-deployer",
            "payments-db",
            "Rotate the ledger keys",
        )
        .await;
    body.privilege = "write".into();
    body.duration_secs = 1800;
    let past = stack
        .store
        .file_request(&alice, &body, Utc::now(), chrono::Duration::hours(24))
        .await
        .unwrap();
    let bob = stack.user("bob").await;
    stack
        .store
        .approve(&bob, past, &Default::default(), Utc::now())
        .await
        .unwrap();
    let grant = stack
        .store
        .request_detail(&alice, past, Utc::now())
        .await
        .unwrap()
        .grant
        .unwrap();
    stack
        .store
        .revoke(&alice, grant.id, "Keys rotated", Utc::now())
        .await
        .unwrap();

    let browser = stack.browser().await;
    sign_in(&browser, &stack, "alice").await;
    browser
        .goto(&stack.url(&format!("/requests/{past}")))
        .await
        .unwrap();
    find(&browser, "[data-testid=request-again]").await;
    screenshot(&browser, "request-again-from-detail").await;
    click(&browser, "[data-testid=request-again]").await;
    wait_text(&browser, "h1", "Request again").await;
    assert_eq!(
        value_of(&browser, "[data-testid=task]").await,
        "Rotate the ledger keys"
    );
    assert_eq!(value_of(&browser, "[data-testid=ticket]").await, "OPS-1");
    assert_eq!(value_of(&browser, "[data-testid=privilege]").await, "write");
    assert_eq!(
        value_of(&browser, "[data-testid=duration-minutes]").await,
        "30"
    );
    type_into(&browser, "[data-testid=task]", " for the new quarter").await;
    screenshot(&browser, "request-again").await;
    click(&browser, "[data-testid=submit-request]").await;
    wait_text(&browser, "[data-testid=request-state]", "pending").await;
    let url = browser.current_url().await.unwrap();
    let again: i64 = url.path().rsplit('/').next().unwrap().parse().unwrap();
    browser.close().await.unwrap();

    assert_ne!(again, past);
    let (old, new) = (
        stack
            .store
            .request_detail(&alice, past, Utc::now())
            .await
            .unwrap()
            .request,
        stack
            .store
            .request_detail(&alice, again, Utc::now())
            .await
            .unwrap()
            .request,
    );
    assert_eq!(new.identity, old.identity);
    assert_eq!(new.resource, old.resource);
    assert_eq!(new.privilege, old.privilege);
    assert_eq!(new.duration_secs, old.duration_secs);
    assert_eq!(new.justification.ticket, old.justification.ticket);
    assert_eq!(
        new.justification.task,
        "Rotate the ledger keys for the new quarter"
    );
}
