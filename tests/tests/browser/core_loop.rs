//! The core loop in a real browser: file, approve, fetch a credential, deny.

use fantoccini::Locator;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use stint_e2e::{
    Stack, click, file_request, find, screenshot, sign_in, type_into, value_of, wait_text,
};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn alice_files_bob_approves_and_alices_credential_verifies_against_the_jwks() {
    let stack = Stack::start().await;
    let alice = stack.browser().await;
    let bob = stack.browser().await;

    sign_in(&alice, &stack, "alice").await;
    alice.goto(&stack.url("/requests/new")).await.unwrap();
    find(&alice, "[data-testid=resource]")
        .await
        .select_by_label("prod-cluster")
        .await
        .unwrap();
    // The policy preview comes from stint-core, as the broker will apply it.
    wait_text(
        &alice,
        "[data-testid=policy-summary]",
        "Needs 2 approvals from: bob, erin · at most 2 h",
    )
    .await;
    let id = file_request(
        &alice,
        &stack,
        "ci-deployer (CI pipeline)",
        "payments-db",
        "Apply migration 42 to the ledger schema",
    )
    .await;
    screenshot(&alice, "request-pending").await;

    sign_in(&bob, &stack, "bob").await;
    wait_text(&bob, "[data-testid=approvals-count]", "1").await;
    screenshot(&bob, "dashboard-bob").await;
    bob.goto(&stack.url("/approvals")).await.unwrap();
    let queue = wait_text(&bob, "[data-testid=approval-queue]", "Apply migration 42").await;
    assert!(queue.contains("by alice"), "{queue}");
    screenshot(&bob, "approvals").await;
    bob.goto(&stack.url(&format!("/requests/{id}")))
        .await
        .unwrap();
    wait_text(&bob, "[data-testid=requester]", "alice").await;
    click(&bob, "[data-testid=approve]").await;
    wait_text(&bob, "[data-testid=request-state]", "approved").await;

    // alice's page follows the decision without her reloading it.
    wait_text(&alice, "[data-testid=request-state]", "approved").await;
    wait_text(&alice, "[data-testid=grant-state]", "active").await;
    wait_text(&alice, "[data-testid=countdown]", "left").await;
    wait_text(&alice, "[data-testid=grant-usage]", "Never used").await;
    click(&alice, "[data-testid=fetch-credential]").await;
    let token = value_of(&alice, "[data-testid=credential-token]").await;
    assert!(!token.is_empty(), "the token is shown");
    screenshot(&alice, "request-approved-credential").await;
    let timeline = wait_text(&alice, "[data-testid=timeline]", "alice fetched credential").await;
    assert!(timeline.contains("bob"), "{timeline}");
    // Each event credits whom the trail records: bob approved, his approval started it.
    assert!(
        timeline.contains("bob's approval started access"),
        "{timeline}"
    );

    // Verify it as a downstream service would: offline, against the published keys.
    alice
        .goto(&stack.url("/.well-known/jwks.json"))
        .await
        .unwrap();
    let jwks_text = find(&alice, "body").await.text().await.unwrap();
    let jwks: JwkSet = serde_json::from_str(&jwks_text).unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("stint-grant+jwt"));
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["payments-db"]);
    validation.set_issuer(&[stack.base.as_str()]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "ci-deployer");
    assert_eq!(claims["scope"], "read");

    alice.goto(&stack.url("/")).await.unwrap();
    wait_text(
        &alice,
        "[data-testid=active-grants]",
        "ci-deployer → payments-db",
    )
    .await;
    // The fetch is counted as a use (the broker writes its counts every second).
    for _ in 0..40 {
        let usage = find(
            &alice,
            "[data-testid=active-grants] [data-testid=grant-usage]",
        )
        .await
        .text()
        .await
        .unwrap();
        if usage.starts_with("Used once (0 introspections, 1 credential fetch), last") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        alice.refresh().await.unwrap();
    }
    wait_text(
        &alice,
        "[data-testid=active-grants] [data-testid=grant-usage]",
        "Used once (0 introspections, 1 credential fetch), last",
    )
    .await;
    screenshot(&alice, "dashboard-alice").await;
    alice.goto(&stack.url("/requests")).await.unwrap();
    find(&alice, "[data-testid=request-table]").await;
    screenshot(&alice, "requests").await;

    // The theme toggle goes system → light → dark, and the choice survives a reload.
    click(&alice, "[data-testid=theme-toggle]").await;
    click(&alice, "[data-testid=theme-toggle]").await;
    alice.refresh().await.unwrap();
    find(&alice, "[data-testid=request-table]").await;
    let theme = alice
        .execute("return document.documentElement.dataset.theme", vec![])
        .await
        .unwrap();
    assert_eq!(theme, "dark");
    screenshot(&alice, "requests-dark").await;
    alice.set_window_size(360, 800).await.unwrap();
    alice.goto(&stack.url("/")).await.unwrap();
    wait_text(
        &alice,
        "[data-testid=active-grants]",
        "ci-deployer → payments-db",
    )
    .await;
    screenshot(&alice, "dashboard-dark-360px").await;

    alice.close().await.unwrap();
    bob.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn erin_cannot_approve_a_request_she_filed() {
    let stack = Stack::start().await;
    let erin = stack.browser().await;
    sign_in(&erin, &stack, "erin").await;
    let id = file_request(
        &erin,
        &stack,
        "billing-agent (AI agent)",
        "payments-db",
        "Reconcile the October invoices",
    )
    .await;
    wait_text(&erin, "[data-testid=timeline]", "filed for billing-agent").await;
    let decide = erin
        .find_all(Locator::Css("[data-testid=decide]"))
        .await
        .unwrap();
    assert!(
        decide.is_empty(),
        "erin is offered a decision on her own request"
    );
    erin.goto(&stack.url("/approvals")).await.unwrap();
    wait_text(&erin, "[data-testid=empty]", "All caught up").await;
    erin.goto(&stack.url(&format!("/requests/{id}")))
        .await
        .unwrap();
    wait_text(&erin, "[data-testid=request-state]", "pending").await;
    erin.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn a_denied_request_shows_the_approvers_comment() {
    let stack = Stack::start().await;
    let alice = stack.browser().await;
    let bob = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    let id = file_request(
        &alice,
        &stack,
        "ci-deployer (CI pipeline)",
        "payments-db",
        "Bulk update of customer emails",
    )
    .await;

    sign_in(&bob, &stack, "bob").await;
    bob.goto(&stack.url(&format!("/requests/{id}")))
        .await
        .unwrap();
    click(&bob, "[data-testid=deny]").await;
    type_into(
        &bob,
        "[data-testid=deny-dialog-reason]",
        "Use the <b>batch</b> job instead",
    )
    .await;
    screenshot(&bob, "deny-dialog").await;
    click(&bob, "[data-testid=deny-dialog-confirm]").await;
    wait_text(&bob, "[data-testid=request-state]", "denied").await;

    let comment = wait_text(
        &alice,
        "[data-testid=decision-comment]",
        "Use the <b>batch</b> job instead",
    )
    .await;
    assert_eq!(
        comment, "Use the <b>batch</b> job instead",
        "user text is shown as text"
    );
    wait_text(&alice, "[data-testid=request-state]", "denied").await;
    wait_text(&alice, "[data-testid=timeline]", "denied the request").await;
    screenshot(&alice, "request-denied").await;
    alice.close().await.unwrap();
    bob.close().await.unwrap();
}
