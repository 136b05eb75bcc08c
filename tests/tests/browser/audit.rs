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
    // Details are labelled fields, the user's text shown as typed.
    let task = wait_text(
        &dave,
        "[data-testid=audit-table] tr[data-action='request.filed'] .details-list",
        "Task",
    )
    .await;
    assert!(
        task.contains("Fix <script>window.pwned=1</script> in the ledger"),
        "{task}"
    );
    // The target is a link to what it names.
    let target = find(
        &dave,
        "[data-testid=audit-table] tr[data-action='request.filed'] a[href^='/requests/']",
    )
    .await;
    let (text, href) = (
        target.text().await.unwrap(),
        target.attr("href").await.unwrap().unwrap(),
    );
    assert_eq!(
        href,
        format!("/requests/{}", text.trim_start_matches("request ")),
        "{text}"
    );
    screenshot(&dave, "audit-grant-story").await;

    // A moment in the URL (UTC) is shown in a date-time picker, in the viewer's zone.
    dave.goto(&stack.url("/audit?since=2026-11-22T09:30:00Z"))
        .await
        .unwrap();
    let since = find(&dave, "[data-testid=audit-filter-since]").await;
    assert_eq!(
        since.attr("type").await.unwrap().as_deref(),
        Some("datetime-local")
    );
    let shown = since.prop("value").await.unwrap().unwrap_or_default();
    assert!(shown.starts_with("2026-11-2"), "{shown}");

    // Alice (a requester) opening the trail by URL is told it is not for her role.
    alice.goto(&stack.url("/audit")).await.unwrap();
    wait_text(
        &alice,
        "[data-testid=not-for-your-role]",
        "auditors and admins",
    )
    .await;

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
