//! Break-glass in a real browser: taken at once, judged afterwards by someone else.

use fantoccini::Locator;
use stint_e2e::{Stack, click, find, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn alice_takes_break_glass_and_carol_judges_it_unjustified() {
    let stack = Stack::start().await;
    let alice = stack.browser().await;
    let carol = stack.browser().await;

    sign_in(&alice, &stack, "alice").await;
    alice.goto(&stack.url("/break-glass")).await.unwrap();
    find(&alice, "[data-testid=break-glass-warning]").await;
    find(&alice, "[data-testid=identity]")
        .await
        .select_by_label("ci-deployer (CI pipeline)")
        .await
        .unwrap();
    find(&alice, "[data-testid=resource]")
        .await
        .select_by_label("payments-db")
        .await
        .unwrap();
    wait_text(
        &alice,
        "[data-testid=policy-summary]",
        "Break-glass: at most 1 h",
    )
    .await;
    find(&alice, "[data-testid=privilege]")
        .await
        .select_by_label("write")
        .await
        .unwrap();
    type_into(
        &alice,
        "[data-testid=task]",
        "Checkout fails: a stuck migration holds the ledger lock",
    )
    .await;
    type_into(
        &alice,
        "[data-testid=password]",
        stint_broker::demo::PASSWORD,
    )
    .await;
    click(&alice, "[data-testid=submit-request]").await;
    wait_text(
        &alice,
        "[data-testid=break-glass-dialog]",
        "without approval",
    )
    .await;
    screenshot(&alice, "break-glass-confirm").await;
    click(&alice, "[data-testid=break-glass-dialog-confirm]").await;
    // One numbering: the toast names the review as its page does.
    wait_text(&alice, ".toast", "review #1 is open").await;
    wait_text(&alice, "[data-testid=grant-state]", "active").await;
    find(&alice, "[data-testid=break-glass-badge]").await;
    // Nobody approved it, and the page does not say anyone did.
    assert!(
        alice
            .find(fantoccini::Locator::Css("[data-testid=request-state]"))
            .await
            .is_err(),
        "a break-glass request shows no `approved` badge"
    );
    click(&alice, "[data-testid=fetch-credential]").await;
    find(&alice, "[data-testid=credential-token]").await;
    screenshot(&alice, "break-glass-taken").await;

    sign_in(&carol, &stack, "carol").await;
    wait_text(&carol, "[data-testid=reviews-count]", "1").await;
    carol.goto(&stack.url("/reviews")).await.unwrap();
    let table = wait_text(
        &carol,
        "[data-testid=review-table]",
        "ci-deployer → payments-db (write)",
    )
    .await;
    assert!(table.contains("alice"), "{table}");
    screenshot(&carol, "reviews").await;
    find(&carol, "[data-testid=review-table] a")
        .await
        .click()
        .await
        .unwrap();
    wait_text(
        &carol,
        "[data-testid=review-justification]",
        "stuck migration",
    )
    .await;
    let timeline = wait_text(&carol, "[data-testid=timeline]", "alice fetched credential").await;
    assert!(timeline.contains("took break-glass access"), "{timeline}");
    let credentials = find(&carol, "[data-testid=issued-credentials]")
        .await
        .text()
        .await
        .unwrap();
    assert!(credentials.contains("to alice"), "{credentials}");
    let review_url = carol.current_url().await.unwrap();

    click(&carol, "[data-testid=outcome-unjustified]").await;
    let submit = find(&carol, "[data-testid=submit-review]").await;
    assert!(
        !submit.is_enabled().await.unwrap(),
        "unjustified needs notes first"
    );
    type_into(
        &carol,
        "[data-testid=review-notes-input]",
        "No incident was open; this should have been a request.",
    )
    .await;
    screenshot(&carol, "review-judge").await;
    click(&carol, "[data-testid=submit-review]").await;
    wait_text(&carol, "[data-testid=review-status]", "unjustified").await;
    wait_text(&carol, "[data-testid=review-notes]", "No incident was open").await;
    screenshot(&carol, "review-decided").await;
    carol.goto(&stack.url("/")).await.unwrap();
    find(&carol, "[data-testid=overdue-reviews]").await;
    screenshot(&carol, "dashboard-carol").await;

    // The taker can read the review of her access, but is never offered to judge it.
    alice.goto(review_url.as_str()).await.unwrap();
    wait_text(&alice, "[data-testid=review-status]", "unjustified").await;
    assert!(
        alice
            .find_all(Locator::Css("[data-testid=judge]"))
            .await
            .unwrap()
            .is_empty()
    );

    alice.close().await.unwrap();
    carol.close().await.unwrap();
}
