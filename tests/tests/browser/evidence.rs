//! The evidence report in a real browser: dave opens it from the navigation, reads the
//! period's figures and the chain's verification, and opens the HTML an auditor keeps.

use stint_e2e::{Stack, click, find, screenshot, sign_in, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn dave_opens_the_evidence_report_and_its_html() {
    let stack = Stack::start().await;
    let alice = stack.user("alice").await;
    stack
        .live_via_store(
            &alice,
            "ci-deployer",
            "payments-db",
            "Rotate the ledger keys",
        )
        .await;

    let dave = stack.browser().await;
    sign_in(&dave, &stack, "dave").await;
    click(&dave, "nav a[href='/reports/evidence']").await;
    wait_text(
        &dave,
        "[data-testid=evidence-chain]",
        "The audit trail verifies",
    )
    .await;
    let requests = wait_text(&dave, "[data-testid=evidence-requests]", "1 request filed").await;
    assert!(
        requests.contains("100 %"),
        "the one request named a ticket: {requests}"
    );
    let ownership = find(&dave, "[data-testid=evidence-ownership]").await;
    let text = ownership.text().await.unwrap();
    assert!(
        text.contains("report-cron"),
        "the demo's orphan is named: {text}"
    );
    // The orphan links to its identity; the section to the events behind it.
    find(
        &dave,
        "[data-testid=evidence-ownership] a[href^='/identities/']",
    )
    .await;
    find(
        &dave,
        "[data-testid=evidence-ownership] a[href^='/audit?action=ownership']",
    )
    .await;
    wait_text(&dave, "[data-testid=evidence-period]", "From").await;
    screenshot(&dave, "evidence-report").await;

    // The HTML an auditor downloads is the same report, in the viewer's zone.
    let href = find(&dave, "[data-testid=evidence-html]")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        href.contains("format=html") && href.contains("tz="),
        "{href}"
    );
    dave.goto(&stack.url(&href)).await.unwrap();
    wait_text(&dave, "h1", "Access evidence report").await;
    wait_text(&dave, "#requests", "1 request filed").await;
    screenshot(&dave, "evidence-report-html").await;

    // A requester is told the report is not for her role.
    let browser = stack.browser().await;
    sign_in(&browser, &stack, "alice").await;
    browser.goto(&stack.url("/reports/evidence")).await.unwrap();
    wait_text(
        &browser,
        "[data-testid=not-for-your-role]",
        "auditors and admins",
    )
    .await;
    browser.close().await.unwrap();
    dave.close().await.unwrap();
}
