//! An identity's API tokens in a real browser: minted by its owner, shown once, revoked.

use stint_e2e::{Stack, click, find, screenshot, sign_in, type_into, wait_text};

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
    let shown = find(&alice, "[data-testid=new-token-value]").await;
    let token = shown.prop("value").await.unwrap().unwrap_or_default();
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
