//! Ownership and administration in a real browser: taking over an orphaned identity, and
//! an admin's policy change reaching the request form.

use stint_e2e::{Stack, click, file_request, find, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn alice_declares_accountability_for_report_cron_and_can_then_request_for_it() {
    let stack = Stack::start().await;
    let alice = stack.browser().await;

    sign_in(&alice, &stack, "alice").await;
    alice.goto(&stack.url("/identities")).await.unwrap();
    let table = wait_text(&alice, "[data-testid=identity-table]", "report-cron").await;
    // Orphaned identities come first.
    assert!(
        table.find("report-cron") < table.find("ci-deployer"),
        "{table}"
    );
    screenshot(&alice, "identities").await;
    click(&alice, "tr[data-identity=report-cron] a").await;
    wait_text(&alice, "[data-testid=orphaned-warning]", "Nobody answers").await;
    wait_text(
        &alice,
        "[data-testid=usage-signals]",
        "No grant of this identity ended",
    )
    .await;
    screenshot(&alice, "identity-orphaned").await;

    type_into(
        &alice,
        "[data-testid=statement]",
        "I run the nightly revenue report and answer for its database access.",
    )
    .await;
    click(&alice, "[data-testid=declare]").await;
    wait_text(&alice, "[data-testid=ownership-status]", "owned").await;
    wait_text(&alice, "[data-testid=owners]", "alice").await;
    let history = wait_text(&alice, "[data-testid=declarations]", "alice").await;
    assert!(history.contains("current"), "{history}");
    screenshot(&alice, "identity-owned").await;

    file_request(
        &alice,
        &stack,
        "report-cron (Workload)",
        "payments-db",
        "Backfill the October revenue report",
    )
    .await;
    alice.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn dave_makes_payments_db_need_two_approvals_and_the_request_form_says_so() {
    let stack = Stack::start().await;
    let dave = stack.browser().await;
    let alice = stack.browser().await;

    sign_in(&dave, &stack, "dave").await;
    dave.goto(&stack.url("/admin/resources")).await.unwrap();
    wait_text(
        &dave,
        "[data-resource=payments-db] [data-testid=resource-policy]",
        "Needs 1 approval from: bob, erin",
    )
    .await;
    screenshot(&dave, "admin-resources").await;
    click(&dave, "[data-testid=edit-payments-db]").await;
    let approvals = find(&dave, "[data-testid=approvals-required]").await;
    approvals.clear().await.unwrap();
    approvals.send_keys("2").await.unwrap();
    // The form previews the policy with stint-core before anything is saved.
    wait_text(
        &dave,
        "[data-testid=policy-preview]",
        "Needs 2 approvals from: bob, erin",
    )
    .await;
    screenshot(&dave, "admin-resource-edit").await;
    click(&dave, "[data-testid=save-resource]").await;
    wait_text(
        &dave,
        "[data-resource=payments-db] [data-testid=resource-policy]",
        "Needs 2 approvals",
    )
    .await;
    dave.goto(&stack.url("/admin/users")).await.unwrap();
    wait_text(&dave, "[data-testid=user-table]", "erin").await;
    screenshot(&dave, "admin-users").await;

    sign_in(&alice, &stack, "alice").await;
    alice.goto(&stack.url("/requests/new")).await.unwrap();
    find(&alice, "[data-testid=resource]")
        .await
        .select_by_label("payments-db")
        .await
        .unwrap();
    wait_text(
        &alice,
        "[data-testid=policy-summary]",
        "Needs 2 approvals from: bob, erin · at most 4 h",
    )
    .await;
    dave.close().await.unwrap();
    alice.close().await.unwrap();
}
