//! The approver's context in a real browser: bob opens a pending request and, before he
//! decides, sees who answers for the identity, a standing path to the resource, and that
//! its last grant there was never used; the approvals queue says the same in a line.

use chrono::Utc;
use stint_core::standing::NewStandingBody;
use stint_e2e::{Stack, screenshot, sign_in, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn bob_sees_what_bears_on_a_request_before_deciding_it() {
    let stack = Stack::start().await;
    let alice = stack.user("alice").await;
    let bob_user = stack.user("bob").await;
    // A grant here that ended unused, and a static secret that reaches the same place.
    let past = stack
        .live_via_store(
            &alice,
            "ci-deployer",
            "payments-db",
            "Rotate the ledger keys",
        )
        .await;
    let grant = stack
        .store
        .request_detail(&alice, past, Utc::now())
        .await
        .unwrap()
        .grant
        .expect("approved, so granted")
        .id;
    stack
        .store
        .revoke(&bob_user, grant, "the rotation was called off", Utc::now())
        .await
        .unwrap();
    let (identity_id, resource_id) = stack.ids(&alice, "ci-deployer", "payments-db").await;
    stack
        .store
        .record_standing(
            &alice,
            &NewStandingBody {
                identity_id,
                resource_id,
                privilege: Some("read".into()),
                location: "CI variable PAYMENTS_DB_PASSWORD in acme/payments".into(),
                secret_type: "database password".into(),
                description: String::new(),
                owner_id: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let pending = stack
        .file_via_store(&alice, "ci-deployer", "payments-db", "Apply migration 43")
        .await;

    let bob = stack.browser().await;
    sign_in(&bob, &stack, "bob").await;
    bob.goto(&stack.url(&format!("/requests/{pending}")))
        .await
        .unwrap();
    wait_text(&bob, "[data-testid=approver-context]", "Before you decide").await;
    wait_text(&bob, "[data-testid=context-owners]", "alice").await;
    wait_text(&bob, "[data-testid=context-standing]", "1 static secret").await;
    wait_text(&bob, "[data-testid=context-history]", "never used").await;
    screenshot(&bob, "approver-context").await;
    // In the queue, the request selected says what should give him pause.
    bob.goto(&stack.url("/approvals")).await.unwrap();
    wait_text(
        &bob,
        "[data-testid=queue-context]",
        "its last grant here was never used",
    )
    .await;
    screenshot(&bob, "approvals-context").await;
    bob.close().await.unwrap();
}
