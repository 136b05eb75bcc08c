//! Notifications in a real browser: an admin adds a Slack sink on the Notifications page;
//! a request filed reaches the local receiver; while the receiver refuses, the sink is
//! flagged and each attempt is on its page, until a retry is delivered.

use stint_core::connectors::RetryPolicy;
use stint_e2e::{Receiver, Stack, click, find, screenshot, sign_in, type_into, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn an_admin_adds_a_sink_and_follows_its_deliveries() {
    let hook = Receiver::start(true).await;
    let port = hook.port;
    let stack = Stack::start_with(|c| {
        // Flagged at the second failure; retried within moments.
        c.connector_retry = RetryPolicy {
            base_ms: 300,
            cap_ms: 600,
            alert_after: 2,
        };
    })
    .await;

    let dave = stack.browser().await;
    sign_in(&dave, &stack, "dave").await;
    dave.goto(&stack.url("/admin/notifications")).await.unwrap();
    wait_text(&dave, "[data-testid=notifications-page]", "No sinks yet").await;
    screenshot(&dave, "notifications-empty").await;
    click(&dave, "[data-testid=new-sink]").await;
    type_into(&dave, "[data-testid=sink-name]", "approvers-channel").await;
    click(&dave, "[data-testid=sink-target-url]").await;
    type_into(
        &dave,
        "[data-testid=sink-url]",
        &format!("http://127.0.0.1:{port}/slack"),
    )
    .await;
    click(&dave, "[data-testid=sink-some-resources]").await;
    click(&dave, "[data-testid=resource-payments-db]").await;
    screenshot(&dave, "notifications-new-sink").await;
    click(&dave, "[data-testid=save-sink]").await;
    let card = wait_text(
        &dave,
        "[data-sink=approvers-channel]",
        "A request waits for approval",
    )
    .await;
    assert!(card.contains("payments-db"), "{card}");
    assert!(card.contains("http://127.0.0.1:"), "{card}");
    assert!(
        !card.contains("/slack"),
        "the URL's path is not shown: {card}"
    );

    // Alice files; the receiver refuses, again and again: the sink is flagged.
    let alice = stack.user("alice").await;
    stack
        .file_via_store(
            &alice,
            "ci-deployer",
            "payments-db",
            "Rotate the ledger keys",
        )
        .await;
    let mut flagged = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        dave.refresh().await.unwrap();
        find(&dave, "[data-sink=approvers-channel]").await;
        if dave
            .find(fantoccini::Locator::Css("[data-testid=sink-failing]"))
            .await
            .is_ok()
        {
            flagged = true;
            break;
        }
    }
    assert!(flagged, "the sink was never flagged");
    assert!(hook.refused() >= 2);
    click(&dave, "[data-testid=show-deliveries]").await;
    wait_text(&dave, "[data-testid=deliveries]", "answered 503").await;
    wait_text(&dave, "[data-testid=deliveries]", "retrying").await;
    screenshot(&dave, "notifications-failing").await;

    // It answers again: the next retry is delivered, and the flag goes.
    hook.refuse(false);
    let mut delivered = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        click(&dave, "[data-testid=refresh-deliveries]").await;
        delivered = find(&dave, "[data-testid=deliveries]")
            .await
            .text()
            .await
            .unwrap();
        if delivered.contains("delivered") {
            break;
        }
    }
    assert!(delivered.contains("answered 200"), "{delivered}");
    assert_eq!(hook.taken(), 1, "delivered once");
    dave.refresh().await.unwrap();
    wait_text(&dave, "[data-sink=approvers-channel]", "Healthy").await;
    click(&dave, "[data-testid=show-deliveries]").await;
    find(&dave, "[data-testid=deliveries]").await;
    screenshot(&dave, "notifications-delivered").await;

    // Removing it asks first.
    click(&dave, "[data-testid=remove-sink]").await;
    wait_text(
        &dave,
        "[data-testid=remove-sink-dialog]",
        "Remove approvers-channel?",
    )
    .await;
    screenshot(&dave, "notifications-remove").await;
    click(&dave, "[data-testid=remove-sink-dialog-confirm]").await;
    wait_text(&dave, "[data-testid=notifications-page]", "No sinks yet").await;
    dave.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn people_choose_what_they_are_named_in_on_their_account() {
    let stack = Stack::start().await;
    let bob = stack.browser().await;
    sign_in(&bob, &stack, "bob").await;
    bob.goto(&stack.url("/account")).await.unwrap();
    find(&bob, "[data-testid=choice-request\\.filed]").await;
    click(&bob, "[data-testid=choice-request\\.filed]").await;
    click(&bob, "[data-testid=save-choices]").await;
    wait_text(&bob, "body", "Notification choices saved").await;
    bob.refresh().await.unwrap();
    let filed = find(&bob, "[data-testid=choice-request\\.filed]").await;
    assert_eq!(
        filed.prop("checked").await.unwrap().as_deref(),
        Some("false"),
        "kept unticked"
    );
    bob.close().await.unwrap();

    let carol = stack.browser().await;
    sign_in(&carol, &stack, "carol").await;
    carol.goto(&stack.url("/account")).await.unwrap();
    let taken = find(&carol, "[data-testid=choice-break_glass\\.taken]").await;
    assert_eq!(
        taken.prop("checked").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(
        taken.prop("disabled").await.unwrap().as_deref(),
        Some("true"),
        "a reviewer's duty"
    );
    wait_text(
        &carol,
        "[data-testid=notification-choices]",
        "required for reviewers and admins",
    )
    .await;
    screenshot(&carol, "account-notification-choices").await;
    carol.close().await.unwrap();
}
