//! Ending access early from the portal: the owner revokes a live grant from its card.

use chrono::Utc;
use stint_e2e::{Stack, click, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn alice_revokes_her_live_access_from_the_dashboard() {
    let stack = Stack::start().await;
    // Two live grants, so the dashboard holds two cards (and two revoke buttons).
    let alice = stack.user("alice").await;
    for task in ["Rotate the ledger keys", "Backfill the ledger index"] {
        stack
            .live_via_store(&alice, "ci-deployer", "payments-db", task)
            .await;
    }

    let browser = stack.browser().await;
    sign_in(&browser, &stack, "alice").await;
    // The two cards give the same access; their request and task tell them apart.
    let cards = wait_text(
        &browser,
        "[data-testid=active-grants]",
        "Rotate the ledger keys",
    )
    .await;
    assert!(cards.contains("Backfill the ledger index"), "{cards}");
    assert!(cards.contains("Request #"), "{cards}");
    click(&browser, "[data-testid=active-grants] [data-testid=revoke]").await;
    type_into(
        &browser,
        "[data-testid=revoke-dialog-reason]",
        "The key rotation finished early",
    )
    .await;
    screenshot(&browser, "revoke-dialog").await;
    click(&browser, "[data-testid=revoke-dialog-confirm]").await;
    wait_text(&browser, "[role=status]", "revoked").await;
    browser.close().await.unwrap();
    let live = stack
        .store
        .grants(
            &alice,
            &stint_broker::store::GrantFilter {
                state: Some(stint_core::GrantState::Active),
                mine: true,
                limit: 200,
                ..Default::default()
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(live.len(), 1, "one of the two grants was revoked");
}
