//! Finding a past request by what it was for, with the search kept in the URL.

use stint_e2e::{Stack, click, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn alice_finds_a_past_request_by_a_word_of_its_task() {
    let stack = Stack::start().await;
    let alice = stack.user("alice").await;
    stack
        .file_via_store(
            &alice,
            "ci-deployer",
            "payments-db",
            "Rotate the ledger keys",
        )
        .await;
    let backfill = stack
        .file_via_store(
            &alice,
            "ci-deployer",
            "payments-db",
            "Backfill the ledger index",
        )
        .await;

    let browser = stack.browser().await;
    sign_in(&browser, &stack, "alice").await;
    browser.goto(&stack.url("/requests")).await.unwrap();
    wait_text(
        &browser,
        "[data-testid=request-table]",
        "Rotate the ledger keys",
    )
    .await;
    type_into(&browser, "[data-testid=search-q]", "BACKFILL").await;
    click(&browser, "[data-testid=search-apply]").await;
    wait_text(&browser, "[data-testid=requests-page]", "1 shown").await;
    let table = wait_text(
        &browser,
        "[data-testid=request-table]",
        "Backfill the ledger index",
    )
    .await;
    assert!(table.contains(&backfill.to_string()), "{table}");
    assert!(!table.contains("Rotate the ledger keys"), "{table}");
    // The search is a link: opened afresh, it finds the same.
    let url = browser.current_url().await.unwrap();
    assert!(url.as_str().contains("q=BACKFILL"), "{url}");
    browser.goto(url.as_str()).await.unwrap();
    wait_text(&browser, "[data-testid=requests-page]", "1 shown").await;
    screenshot(&browser, "requests-search").await;
    browser.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn carol_finds_a_break_glass_review_by_its_ticket() {
    let stack = Stack::start().await;
    let alice = stack.user("alice").await;
    for (task, ticket) in [
        (
            "Checkout fails: a stuck migration holds the ledger lock",
            "INC-501",
        ),
        (
            "Refunds fail: the payments queue consumer is wedged",
            "INC-502",
        ),
    ] {
        stack
            .break_glass_via_store(&alice, task, Some(ticket))
            .await;
    }

    let browser = stack.browser().await;
    sign_in(&browser, &stack, "carol").await;
    browser.goto(&stack.url("/reviews")).await.unwrap();
    wait_text(&browser, "[data-testid=review-table]", "queue consumer").await;
    type_into(&browser, "[data-testid=review-ticket]", "inc-501").await;
    click(&browser, "[data-testid=review-search]").await;
    let mut url = browser.current_url().await.unwrap();
    for _ in 0..100 {
        if url.as_str().contains("ticket=inc-501") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        url = browser.current_url().await.unwrap();
    }
    assert!(
        url.as_str().contains("ticket=inc-501"),
        "the search is in the URL: {url}"
    );
    let table = wait_text(&browser, "[data-testid=review-table]", "stuck migration").await;
    assert!(!table.contains("queue consumer"), "{table}");
    // The search is a link: opened afresh, it finds the same.
    browser.goto(url.as_str()).await.unwrap();
    let table = wait_text(&browser, "[data-testid=review-table]", "stuck migration").await;
    assert!(!table.contains("queue consumer"), "{table}");
    screenshot(&browser, "reviews-search").await;
    browser.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn a_search_link_with_a_wrong_filter_says_which_filter_is_wrong() {
    let stack = Stack::start().await;
    let browser = stack.browser().await;
    sign_in(&browser, &stack, "alice").await;
    // A link edited by hand: the portal reads it as the broker would, and says so the
    // same way, naming the filter, instead of showing an unfiltered list.
    browser
        .goto(&stack.url("/requests?state=lost&q=ledger"))
        .await
        .unwrap();
    let page = wait_text(
        &browser,
        "[data-testid=requests-page]",
        "unknown state `lost`",
    )
    .await;
    assert!(!page.contains("shown"), "{page}");
    screenshot(&browser, "requests-wrong-filter").await;
    // The filter put right, the list is read again.
    browser
        .goto(&stack.url("/requests?state=pending&q=ledger"))
        .await
        .unwrap();
    wait_text(&browser, "[data-testid=requests-page]", "No requests match").await;
    browser.close().await.unwrap();
}
