//! An access review in a real browser: dave starts it, alice answers her item (stepping
//! down from an identity she co-owns), dave closes it and finds it in the evidence report.

use stint_e2e::{Stack, click, find, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn dave_starts_a_review_alice_answers_and_dave_reports_it() {
    let stack = Stack::start().await;
    let alice_user = stack.user("alice").await;
    stack
        .live_via_store(
            &alice_user,
            "ci-deployer",
            "payments-db",
            "Rotate the ledger keys",
        )
        .await;

    let dave = stack.browser().await;
    sign_in(&dave, &stack, "dave").await;
    click(&dave, "nav a[href='/campaigns']").await;
    click(&dave, "[data-testid=start-campaign] summary").await;
    type_into(
        &dave,
        "[data-testid=campaign-name]",
        "December access review",
    )
    .await;
    screenshot(&dave, "campaign-start").await;
    click(&dave, "[data-testid=campaign-start]").await;
    wait_text(
        &dave,
        "[data-testid=campaign-name]",
        "December access review",
    )
    .await;
    wait_text(&dave, "[data-testid=campaign-progress]", "0 of").await;

    let alice = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    // The dashboard says what waits for her, and the navigation counts it.
    wait_text(
        &alice,
        "[data-testid=access-review-waiting]",
        "wait for your answers",
    )
    .await;
    find(&alice, "[data-testid=review-items-count]").await;
    click(&alice, "nav a[href='/campaigns']").await;
    wait_text(&alice, "[data-testid=campaign-table]", "to answer").await;
    click(&alice, "[data-testid=campaign-table] a").await;
    // Her grant is for someone else to certify; she answers for her declarations.
    let owns = "form[aria-label='alice answers for billing-agent']";
    find(&alice, owns).await;
    click(&alice, &format!("{owns} [data-testid$='-revoke']")).await;
    type_into(
        &alice,
        &format!("{owns} textarea"),
        "erin runs the agent now",
    )
    .await;
    wait_text(&alice, &format!("{owns} button[type=submit]"), "step down").await;
    screenshot(&alice, "campaign-answer").await;
    click(&alice, &format!("{owns} button[type=submit]")).await;
    wait_text(&alice, "[data-testid=campaign-progress]", "1 of").await;
    wait_text(&alice, "[data-testid=campaign-items]", "revoke").await;

    // Dave closes the review (confirmed), then reads it in the evidence report.
    dave.refresh().await.unwrap();
    wait_text(&dave, "[data-testid=campaign-progress]", "1 of").await;
    click(&dave, "[data-testid=close-campaign]").await;
    click(&dave, "[data-testid=close-campaign-dialog-confirm]").await;
    wait_text(&dave, "[data-testid=campaign-progress]", "closed").await;
    screenshot(&dave, "campaign-closed").await;
    click(&dave, "nav a[href='/reports/evidence']").await;
    let section = wait_text(
        &dave,
        "[data-testid=evidence-access_reviews]",
        "1 access review started (1 closed)",
    )
    .await;
    assert!(section.contains("1 access revoked"), "{section}");
    alice.close().await.unwrap();
    dave.close().await.unwrap();
}
