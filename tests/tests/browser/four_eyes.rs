//! Four eyes in a real browser: dave lowers prod-cluster's approvals, which the editor says
//! will wait for a second admin; he cannot approve it himself; grace approves it and it
//! applies.

use stint_e2e::{Stack, click, find, screenshot, sign_in, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn dave_proposes_fewer_approvals_and_grace_approves_it() {
    let stack = Stack::start().await;
    let browser = stack.browser().await;
    sign_in(&browser, &stack, "dave").await;
    browser.goto(&stack.url("/admin/resources")).await.unwrap();
    click(&browser, "[data-testid=edit-prod-cluster]").await;
    let approvals = find(&browser, "#approvals-required").await;
    approvals.clear().await.unwrap();
    approvals.send_keys("1").await.unwrap();
    // Said before saving, with the same rule the broker applies.
    wait_text(
        &browser,
        "[data-testid=widening-note]",
        "requires 1 approval instead of 2",
    )
    .await;
    browser
        .execute(
            "document.querySelector('[data-testid=widening-note]').scrollIntoView({block: 'center'})",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&browser, "four-eyes-editor").await;
    click(&browser, "[data-testid=save-resource]").await;
    wait_text(&browser, "[role=status]", "waits for a second admin").await;
    assert_eq!(
        stack
            .resource("prod-cluster")
            .await
            .policy
            .approvals_required,
        2,
        "nothing changes while it waits"
    );

    browser.goto(&stack.url("/admin/proposals")).await.unwrap();
    wait_text(
        &browser,
        "[data-testid=pending-proposals]",
        "requires 1 approval instead of 2",
    )
    .await;
    wait_text(
        &browser,
        "[data-testid=cannot-approve]",
        "a second admin must approve it",
    )
    .await;
    screenshot(&browser, "four-eyes-own-proposal").await;
    click(&browser, "[data-testid=sign-out]").await;

    sign_in(&browser, &stack, "grace").await;
    wait_text(&browser, "[data-testid=proposals-count]", "1").await;
    browser.goto(&stack.url("/admin/proposals")).await.unwrap();
    click(&browser, "[data-testid=approve-proposal]").await;
    wait_text(&browser, "[data-testid=approve-dialog]", "applies at once").await;
    screenshot(&browser, "four-eyes-approve").await;
    click(&browser, "[data-testid=approve-dialog-confirm]").await;
    wait_text(&browser, "[role=status]", "applies now").await;
    wait_text(
        &browser,
        "[data-testid=decided-proposals]",
        "approved by grace",
    )
    .await;
    assert_eq!(
        stack
            .resource("prod-cluster")
            .await
            .policy
            .approvals_required,
        1
    );
    browser.close().await.unwrap();
}
