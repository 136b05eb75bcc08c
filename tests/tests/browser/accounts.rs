//! Accounts in a real browser: an admin resets a password and its user must choose a new
//! one before anything else; an admin confirms someone's takeover of an orphaned identity.

use stint_e2e::{Stack, click, find, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn dave_resets_alices_password_and_she_must_choose_her_own_before_anything_else() {
    let stack = Stack::start().await;
    let dave = stack.browser().await;
    sign_in(&dave, &stack, "dave").await;
    dave.goto(&stack.url("/admin/users")).await.unwrap();
    click(&dave, "tr[data-user=alice] [data-testid=reset-password]").await;
    wait_text(&dave, "[data-testid=reset-dialog]", "signed out everywhere").await;
    type_into(
        &dave,
        "[data-testid=temporary-password]",
        "temporary passphrase 42",
    )
    .await;
    screenshot(&dave, "reset-password-dialog").await;
    click(&dave, "[data-testid=reset-dialog-confirm]").await;
    wait_text(&dave, ".toast", "choose a new one at their next sign-in").await;
    dave.close().await.unwrap();

    let alice = stack.browser().await;
    alice.goto(&stack.url("/")).await.unwrap();
    type_into(&alice, "[data-testid=username]", "alice").await;
    type_into(&alice, "[data-testid=password]", "temporary passphrase 42").await;
    click(&alice, "[data-testid=sign-in]").await;
    // Nothing but the password form until she has chosen her own.
    wait_text(
        &alice,
        "[data-testid=password-form]",
        "An admin reset your password",
    )
    .await;
    assert!(
        alice
            .find(fantoccini::Locator::Css("nav.sidenav"))
            .await
            .is_err()
    );
    screenshot(&alice, "forced-password-change").await;
    type_into(
        &alice,
        "[data-testid=current-password]",
        "temporary passphrase 42",
    )
    .await;
    type_into(
        &alice,
        "[data-testid=new-password]",
        "alice's own long passphrase",
    )
    .await;
    type_into(
        &alice,
        "[data-testid=repeat-password]",
        "alice's own long passphrase",
    )
    .await;
    click(&alice, "[data-testid=change-password]").await;
    wait_text(&alice, "main h1", "Hello, ").await;
    find(&alice, "nav.sidenav").await;
    alice.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn dave_confirms_alices_takeover_of_report_cron_on_its_page() {
    let stack = Stack::start().await;
    let alice = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    alice.goto(&stack.url("/identities")).await.unwrap();
    click(&alice, "tr[data-identity=report-cron] a").await;
    type_into(
        &alice,
        "[data-testid=statement]",
        "I run the nightly revenue report and answer for its database access.",
    )
    .await;
    click(&alice, "[data-testid=declare]").await;
    wait_text(
        &alice,
        "[data-testid=takeover-pending]",
        "Your takeover awaits",
    )
    .await;
    let page = alice.current_url().await.unwrap();
    screenshot(&alice, "identity-takeover-pending").await;
    alice.close().await.unwrap();

    let dave = stack.browser().await;
    sign_in(&dave, &stack, "dave").await;
    dave.goto(page.as_str()).await.unwrap();
    wait_text(
        &dave,
        "[data-testid=takeover-pending]",
        "alice took this identity over",
    )
    .await;
    screenshot(&dave, "identity-takeover-confirm").await;
    click(&dave, "[data-testid=confirm-takeover]").await;
    wait_text(
        &dave,
        "[data-testid=declarations]",
        "Takeover confirmed by dave",
    )
    .await;
    assert!(
        dave.find(fantoccini::Locator::Css("[data-testid=takeover-pending]"))
            .await
            .is_err()
    );
    dave.close().await.unwrap();
}
