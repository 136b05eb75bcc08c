//! Ending access early from the portal: the owner revokes a live grant from its card.

use chrono::Utc;
use stint_core::api::{ApproveBody, NewRequestBody};
use stint_core::rules::Justification;
use stint_e2e::{Stack, click, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn alice_revokes_her_live_access_from_the_dashboard() {
    let stack = Stack::start().await;
    // Two live grants, so the dashboard holds two cards (and two revoke buttons).
    let store = stack.store.clone();
    let user = |name: &'static str| {
        let store = store.clone();
        async move { store.login_candidate(name).await.unwrap().unwrap().user }
    };
    let (alice, bob) = (user("alice").await, user("bob").await);
    let identities = stack.store.identities(&alice, Utc::now()).await.unwrap();
    let resources = stack.store.resources().await.unwrap();
    let deployer = identities.iter().find(|i| i.name == "ci-deployer").unwrap();
    let payments = resources.iter().find(|r| r.name == "payments-db").unwrap();
    for task in ["Rotate the ledger keys", "Backfill the ledger index"] {
        let body = NewRequestBody {
            identity_id: deployer.id,
            resource_id: payments.id,
            privilege: "read".into(),
            duration_secs: 3600,
            justification: Justification {
                task: task.into(),
                ticket: Some("OPS-1".into()),
            },
        };
        let now = Utc::now();
        let id = stack
            .store
            .file_request(&alice, &body, now, chrono::Duration::hours(1))
            .await
            .unwrap();
        stack
            .store
            .approve(&bob, id, &ApproveBody::default(), now)
            .await
            .unwrap();
    }

    let browser = stack.browser().await;
    sign_in(&browser, &stack, "alice").await;
    wait_text(&browser, "[data-testid=active-grants]", "payments-db").await;
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
            Some(stint_core::GrantState::Active),
            true,
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(live.len(), 1, "one of the two grants was revoked");
}
