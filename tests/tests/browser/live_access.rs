//! Live access in a real browser: in an incident dave narrows all live access to one
//! resource and ends it in one confirmed move, leaving the rest.

use chrono::Utc;
use stint_e2e::{Stack, click, find, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn dave_filters_live_access_to_payments_db_and_revokes_all_of_it() {
    let stack = Stack::start().await;
    let alice = stack.user("alice").await;
    for task in ["Rotate the ledger keys", "Backfill the ledger index"] {
        stack
            .live_via_store(&alice, "ci-deployer", "payments-db", task)
            .await;
    }
    // Access elsewhere, which the filter leaves alone: a deploy on prod-cluster (two
    // approvals).
    let mut body = stack
        .request_body(&alice, "ci-deployer", "prod-cluster", "Ship the release")
        .await;
    body.privilege = "deploy".into();
    let other = stack
        .store
        .file_request(&alice, &body, Utc::now(), chrono::Duration::hours(24))
        .await
        .unwrap();
    for approver in ["bob", "erin"] {
        let approver = stack.user(approver).await;
        stack
            .store
            .approve(&approver, other, &Default::default(), Utc::now())
            .await
            .unwrap();
    }

    let browser = stack.browser().await;
    sign_in(&browser, &stack, "dave").await;
    browser.goto(&stack.url("/live-access")).await.unwrap();
    wait_text(&browser, "[data-testid=live-counts]", "3 live grants").await;
    wait_text(&browser, "[data-testid=live-resource]", "payments-db").await;
    find(&browser, "[data-testid=live-resource]")
        .await
        .select_by_label("payments-db")
        .await
        .unwrap();
    click(&browser, "[data-testid=live-apply]").await;
    // The filter is in the URL: the view is a link another admin can open.
    wait_text(&browser, "[data-testid=live-counts]", "2 live grants").await;
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("resource_id=")
    );
    let table = wait_text(&browser, "[data-testid=live-table]", "payments-db").await;
    assert!(!table.contains("prod-cluster"), "{table}");
    screenshot(&browser, "live-access-filtered").await;

    click(&browser, "[data-testid=revoke-all-matching]").await;
    wait_text(
        &browser,
        "[data-testid=bulk-revoke-dialog]",
        "2 when the list was read",
    )
    .await;
    type_into(
        &browser,
        "[data-testid=bulk-revoke-dialog-reason]",
        "INC-42: payments-db credentials exposed",
    )
    .await;
    screenshot(&browser, "live-access-revoke-all").await;
    click(&browser, "[data-testid=bulk-revoke-dialog-confirm]").await;
    wait_text(&browser, "[role=status]", "Ended 2 grants").await;
    wait_text(&browser, "main", "No live access matches").await;
    browser.close().await.unwrap();

    let dave = stack.user("dave").await;
    let live = stack
        .store
        .live_access(&dave, &Default::default(), 1_000, Utc::now())
        .await
        .unwrap();
    let left: Vec<&str> = live
        .grants
        .iter()
        .map(|g| g.resource.name.as_str())
        .collect();
    assert_eq!(left, ["prod-cluster"]);
}
