//! The approvals queue, worked from the keyboard alone.

use stint_e2e::{Stack, file_request, find, press, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn bob_works_the_approvals_queue_from_the_keyboard() {
    let stack = Stack::start().await;
    let alice = stack.browser().await;
    let bob = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    file_request(
        &alice,
        &stack,
        "ci-deployer (CI pipeline)",
        "payments-db",
        "Rebuild the nightly ledger index",
    )
    .await;
    file_request(
        &alice,
        &stack,
        "billing-agent (AI agent)",
        "payments-db",
        "Reconcile the October invoices",
    )
    .await;

    sign_in(&bob, &stack, "bob").await;
    bob.goto(&stack.url("/approvals")).await.unwrap();
    wait_text(
        &bob,
        "[data-testid=approval-queue]",
        "Rebuild the nightly ledger index",
    )
    .await;
    // Newest first: the billing-agent request is selected; j moves to the next one.
    wait_text(
        &bob,
        "[data-testid=approval-queue] li[aria-current=true]",
        "billing-agent",
    )
    .await;
    press(&bob, 'j').await;
    wait_text(
        &bob,
        "[data-testid=approval-queue] li[aria-current=true]",
        "ci-deployer",
    )
    .await;
    press(&bob, 'k').await;
    wait_text(
        &bob,
        "[data-testid=approval-queue] li[aria-current=true]",
        "billing-agent",
    )
    .await;
    screenshot(&bob, "approvals-keyboard").await;

    // `a` asks first, naming the request it will approve.
    press(&bob, 'a').await;
    wait_text(
        &bob,
        "[data-testid=queue-approve-dialog][open]",
        "billing-agent → payments-db (read)",
    )
    .await;
    find(&bob, "[data-testid=queue-approve-dialog-confirm]")
        .await
        .click()
        .await
        .unwrap();
    wait_text(&bob, ".toasts", "approved").await;
    wait_text(
        &bob,
        "[data-testid=approval-queue] li[aria-current=true]",
        "ci-deployer",
    )
    .await;
    press(&bob, 'd').await;
    wait_text(
        &bob,
        "[data-testid=queue-deny-dialog][open]",
        "ci-deployer → payments-db (read)",
    )
    .await;
    type_into(
        &bob,
        "[data-testid=queue-deny-dialog-reason]",
        "Wait for the freeze to end",
    )
    .await;
    find(&bob, "[data-testid=queue-deny-dialog-confirm]")
        .await
        .click()
        .await
        .unwrap();
    wait_text(&bob, ".toasts", "denied").await;
    wait_text(&bob, "[data-testid=empty]", "All caught up").await;

    alice.close().await.unwrap();
    bob.close().await.unwrap();
}
