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
