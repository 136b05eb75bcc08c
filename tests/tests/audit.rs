//! The audit trail in a real browser: one grant's whole story, user text shown as text.

use serde_json::Value;
use stint_e2e::{Stack, click, find, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn dave_filters_the_trail_to_one_grant_and_reads_its_story() {
    let stack = Stack::start().await;
    let alice = stack.browser().await;
    let bob = stack.browser().await;
    let dave = stack.browser().await;

    sign_in(&alice, &stack, "alice").await;
    alice.goto(&stack.url("/requests/new")).await.unwrap();
    find(&alice, "[data-testid=identity]")
        .await
        .select_by_label("ci-deployer (CI pipeline)")
        .await
        .unwrap();
    type_into(
        &alice,
        "[data-testid=task]",
        "Fix <script>window.pwned=1</script> in the ledger",
    )
    .await;
    click(&alice, "[data-testid=submit-request]").await;
    wait_text(&alice, "[data-testid=request-state]", "pending").await;
    let request_url = alice.current_url().await.unwrap();
    // The page shows the text as typed.
    wait_text(
        &alice,
        "[data-testid=task-text]",
        "Fix <script>window.pwned=1</script> in the ledger",
    )
    .await;

    sign_in(&bob, &stack, "bob").await;
    bob.goto(request_url.as_str()).await.unwrap();
    click(&bob, "[data-testid=approve]").await;
    wait_text(&bob, "[data-testid=request-state]", "approved").await;
    wait_text(&alice, "[data-testid=grant-state]", "active").await;
    click(&alice, "[data-testid=fetch-credential]").await;
    find(&alice, "[data-testid=credential-token]").await;

    sign_in(&dave, &stack, "dave").await;
    find(&dave, "[data-testid=unjustified-reviews]").await;
    screenshot(&dave, "dashboard-dave").await;
    dave.goto(&stack.url("/audit")).await.unwrap();
    wait_text(&dave, "[data-testid=chain-status]", "chain verified").await;
    type_into(&dave, "[data-testid=audit-filter-grant_id]", "1").await;
    click(&dave, "[data-testid=audit-apply]").await;
    let story = wait_text(&dave, "[data-testid=audit-table]", "credential.issued").await;
    for action in ["request.filed", "request.approved", "grant.activated"] {
        assert!(story.contains(action), "{action} missing from: {story}");
    }
    assert!(
        !story.contains("session.login"),
        "only the grant's story: {story}"
    );
    assert!(
        story.contains("task: Fix <script>window.pwned=1</script> in the ledger"),
        "{story}"
    );
    screenshot(&dave, "audit-grant-story").await;

    for browser in [&alice, &dave] {
        let pwned = browser
            .execute("return window.pwned === undefined", vec![])
            .await
            .unwrap();
        assert_eq!(pwned, Value::Bool(true), "user text ran as a script");
    }
    alice.close().await.unwrap();
    bob.close().await.unwrap();
    dave.close().await.unwrap();
}
