//! Standing credentials in a real browser: an admin imports a scanner's report and maps a
//! finding; coverage and the approver's warning follow.

use fantoccini::Locator;
use std::time::Duration;
use stint_e2e::{Stack, click, file_request, find, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn dave_imports_a_report_maps_a_finding_to_payments_db_and_bob_is_warned() {
    let stack = Stack::start().await;
    let dave = stack.browser().await;

    sign_in(&dave, &stack, "dave").await;
    dave.goto(&stack.url("/secrets")).await.unwrap();
    wait_text(
        &dave,
        "tr[data-resource=payments-db] [data-testid=coverage]",
        "JIT only",
    )
    .await;
    wait_text(&dave, "[data-testid=coverage-share]", "100%").await;
    screenshot(&dave, "secrets-empty").await;

    click(&dave, "[data-testid=import-report]").await;
    let report = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../broker/tests/fixtures/gitleaks-report.json")
        .canonicalize()
        .unwrap();
    // A file input takes the path of the file to upload as its keys.
    type_into(&dave, "[data-testid=report-file]", report.to_str().unwrap()).await;
    type_into(&dave, "[data-testid=report-source]", "acme/payments").await;
    click(&dave, "[data-testid=import-submit]").await;
    wait_text(&dave, "[data-testid=import-result]", "2 new").await;
    let queue = wait_text(&dave, "[data-testid=triage-queue]", "deploy/payments.env:1").await;
    assert!(
        !queue.contains("AKIAIOSFODNN7EXAMPLE"),
        "the raw secret is on the page: {queue}"
    );
    screenshot(&dave, "secrets-imported").await;

    let finding = dave
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(
            "//li[@data-testid='standing-item'][.//code[text()='deploy/payments.env:1']]",
        ))
        .await
        .unwrap();
    finding
        .find(Locator::Css("[data-testid=map-finding]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    find(&dave, "[data-testid=map-identity]")
        .await
        .select_by_label("ci-deployer")
        .await
        .unwrap();
    find(&dave, "[data-testid=map-resource]")
        .await
        .select_by_label("payments-db")
        .await
        .unwrap();
    screenshot(&dave, "secrets-mapping").await;
    click(&dave, "[data-testid=map-submit]").await;
    wait_text(
        &dave,
        "tr[data-resource=payments-db] [data-testid=coverage]",
        "standing path exists (1)",
    )
    .await;
    wait_text(
        &dave,
        "tr[data-resource=prod-cluster] [data-testid=coverage]",
        "JIT only",
    )
    .await;
    wait_text(&dave, "[data-testid=coverage-share]", "50%").await;
    wait_text(
        &dave,
        "[data-testid=standing-paths]",
        "ci-deployer → payments-db",
    )
    .await;
    screenshot(&dave, "secrets-mapped").await;

    // The other finding is an example key: resolved with a reason, in a dialog.
    click(
        &dave,
        "[data-testid=triage-queue] [data-testid=mark-false-positive]",
    )
    .await;
    type_into(
        &dave,
        "[data-testid=resolve-dialog-reason]",
        "A documentation example, never a working key",
    )
    .await;
    screenshot(&dave, "secrets-resolve-dialog").await;
    click(&dave, "[data-testid=resolve-dialog-confirm]").await;
    wait_text(
        &dave,
        "[data-testid=unmapped-count]",
        "No finding waits for triage",
    )
    .await;
    wait_text(&dave, "details.resolved summary", "Resolved (1)").await;
    dave.close().await.unwrap();

    let alice = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    let id = file_request(
        &alice,
        &stack,
        "ci-deployer (CI pipeline)",
        "payments-db",
        "Rotate the ledger encryption keys",
    )
    .await;
    alice.close().await.unwrap();

    let bob = stack.browser().await;
    sign_in(&bob, &stack, "bob").await;
    bob.goto(&stack.url("/approvals")).await.unwrap();
    let warning = wait_text(
        &bob,
        &format!("[data-request-id='{id}'] [data-testid=standing-warning]"),
        "already gives ci-deployer access to payments-db",
    )
    .await;
    assert!(
        warning.contains("1 standing credential outside Stint"),
        "{warning}"
    );
    screenshot(&bob, "approvals-standing-warning").await;
    bob.goto(&stack.url(&format!("/requests/{id}")))
        .await
        .unwrap();
    wait_text(
        &bob,
        "[data-testid=standing-warning]",
        "Standing access already exists",
    )
    .await;
    bob.close().await.unwrap();
}
