//! An identity's API tokens in a real browser: minted by its owner, shown once, revoked.

use stint_e2e::{Stack, click, find, screenshot, sign_in, type_into, value_of, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn alice_mints_a_token_for_ci_deployer_sees_it_once_and_revokes_it() {
    let stack = Stack::start().await;
    let alice = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    alice.goto(&stack.url("/identities")).await.unwrap();
    wait_text(&alice, "[data-testid=identity-table]", "ci-deployer").await;
    click(&alice, "tr[data-identity=ci-deployer] a").await;
    wait_text(&alice, "[data-testid=no-tokens]", "No tokens yet").await;

    type_into(&alice, "[data-testid=token-name]", "github-actions").await;
    click(&alice, "[data-testid=mint-token]").await;
    let token = value_of(&alice, "[data-testid=new-token-value]").await;
    assert!(token.starts_with("stint_"), "{token}");
    let row = wait_text(&alice, "[data-testid=token-row]", "github-actions").await;
    assert!(row.contains("never used"), "{row}");
    screenshot(&alice, "identity-tokens").await;

    // Shown once: after a reload the token is listed, its secret nowhere.
    alice.refresh().await.unwrap();
    wait_text(&alice, "[data-testid=token-row]", "github-actions").await;
    let page = find(&alice, "body").await.text().await.unwrap();
    assert!(!page.contains(&token));
    assert!(
        alice
            .find(fantoccini::Locator::Css("[data-testid=new-token]"))
            .await
            .is_err()
    );

    click(&alice, "[data-testid=revoke-token]").await;
    click(&alice, "[data-testid=revoke-token-dialog-confirm]").await;
    wait_text(&alice, "[data-testid=token-row]", "revoked").await;
    alice.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn dave_registers_github_actions_as_a_trusted_issuer() {
    let stack = Stack::start().await;
    let dave = stack.browser().await;
    sign_in(&dave, &stack, "dave").await;
    dave.goto(&stack.url("/admin/federation")).await.unwrap();
    wait_text(&dave, "[data-testid=empty]", "No trusted issuers yet").await;
    click(&dave, "[data-testid=new-issuer]").await;
    type_into(&dave, "[data-testid=issuer-name]", "github-actions").await;
    type_into(
        &dave,
        "[data-testid=issuer-iss]",
        "https://token.actions.githubusercontent.com",
    )
    .await;
    // Saying too little is caught before anything is sent: a rule must name its identity.
    type_into(
        &dave,
        "[data-testid=issuer-jwks]",
        "https://token.actions.githubusercontent.com/.well-known/jwks",
    )
    .await;
    type_into(
        &dave,
        "[data-testid=rule-0-claims]",
        "repository = acme/payments\nref = refs/heads/main",
    )
    .await;
    click(&dave, "[data-testid=save-issuer]").await;
    wait_text(
        &dave,
        "[data-field='rules.identity_id']",
        "Choose the identity",
    )
    .await;
    find(&dave, "[data-testid=rule-0-identity]")
        .await
        .select_by_label("ci-deployer")
        .await
        .unwrap();
    screenshot(&dave, "federation-new-issuer").await;
    click(&dave, "[data-testid=save-issuer]").await;
    let rules = wait_text(
        &dave,
        "[data-issuer=github-actions] [data-testid=issuer-rules]",
        "ci-deployer",
    )
    .await;
    assert!(rules.contains("repository = acme/payments"), "{rules}");
    wait_text(&dave, "#activity-title", "Last exchanges").await;
    screenshot(&dave, "federation").await;
    dave.close().await.unwrap();
}
