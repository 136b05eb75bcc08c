//! A connector in a real browser: an admin links payments-db to a webhook connector in the
//! policy editor, and the grant card tells its holder when the access downstream is made
//! and when it is taken away.

use stint_broker::connectors::config;
use stint_core::connectors::RetryPolicy;
use stint_e2e::{Receiver, Stack, click, find, screenshot, sign_in, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn an_admin_links_a_resource_and_the_grant_card_follows_its_access_downstream() {
    let hook = Receiver::start(false).await;
    let port = hook.port;
    let text = format!(
        "[connectors.deploy-hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{port}/hook\"\n\
         secret_env = \"HOOK_KEY\"\n"
    );
    let connectors =
        config::parse(&text, &|var| (var == "HOOK_KEY").then(|| "k".to_string())).unwrap();
    let stack = Stack::start_with(|c| {
        c.connectors = connectors;
        // Flagged at the first failure, and retried within moments.
        c.connector_retry = RetryPolicy {
            base_ms: 200,
            cap_ms: 400,
            alert_after: 1,
        };
    })
    .await;

    let dave = stack.browser().await;
    sign_in(&dave, &stack, "dave").await;
    dave.goto(&stack.url("/admin/resources")).await.unwrap();
    click(&dave, "[data-testid=edit-payments-db]").await;
    find(&dave, "[data-testid=resource-connector]")
        .await
        .select_by_label("deploy-hook (webhook)")
        .await
        .unwrap();
    wait_text(&dave, "[data-testid=widening-note]", "deploy-hook").await;
    screenshot(&dave, "resource-connector").await;
    click(&dave, "[data-testid=save-resource]").await;
    // Linking a connector widens access: it applies once grace, a second admin, approves.
    wait_text(&dave, "[role=status]", "waits for a second admin").await;
    stack.approve_proposals_as("grace").await;
    dave.refresh().await.unwrap();
    wait_text(
        &dave,
        "[data-resource=payments-db] [data-testid=resource-connector]",
        "deploy-hook",
    )
    .await;
    dave.close().await.unwrap();

    let alice_user = stack.user("alice").await;
    let request = stack
        .live_via_store(
            &alice_user,
            "ci-deployer",
            "payments-db",
            "Deploy the invoicing fix",
        )
        .await;
    let alice = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    alice
        .goto(&stack.url(&format!("/requests/{request}")))
        .await
        .unwrap();
    // The worker makes the access within moments; the page shows it once reloaded.
    let mut shown = String::new();
    for _ in 0..50 {
        shown = find(&alice, "[data-testid=grant-access]")
            .await
            .text()
            .await
            .unwrap();
        if shown.contains("made in deploy-hook") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        alice.refresh().await.unwrap();
    }
    assert!(shown.contains("The access made in deploy-hook"), "{shown}");
    assert_eq!(hook.taken(), 1, "grant.activated was sent once");
    screenshot(&alice, "grant-access-ready").await;

    // The system refuses to take the access away: the admin's dashboard flags it, and the
    // broker keeps trying.
    hook.refuse(true);
    click(&alice, "[data-testid=revoke]").await;
    find(&alice, "[data-testid=revoke-dialog-reason]")
        .await
        .send_keys("The fix is deployed")
        .await
        .unwrap();
    click(&alice, "[data-testid=revoke-dialog-confirm]").await;
    let dave = stack.browser().await;
    sign_in(&dave, &stack, "dave").await;
    let flagged = wait_text(
        &dave,
        "[data-testid=failing-revocations]",
        "the system their access was made in keeps refusing",
    )
    .await;
    assert!(
        flagged.contains("Taking the access away in deploy-hook"),
        "{flagged}"
    );
    assert!(flagged.contains("the webhook answered 503"), "{flagged}");
    screenshot(&dave, "dashboard-revocation-failing").await;
    hook.refuse(false);
    let mut ended = String::new();
    for _ in 0..50 {
        alice.refresh().await.unwrap();
        ended = find(&alice, "[data-testid=grant-access]")
            .await
            .text()
            .await
            .unwrap();
        if ended.contains("taken away") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        ended.contains("The access taken away in deploy-hook"),
        "{ended}"
    );
    assert_eq!(hook.taken(), 2, "grant.ended was sent once");
    // The story says it in words.
    wait_text(
        &alice,
        "[data-testid=timeline]",
        "made the access in deploy-hook",
    )
    .await;
    wait_text(
        &alice,
        "[data-testid=timeline]",
        "took the access away in deploy-hook",
    )
    .await;
    screenshot(&alice, "grant-access-revoked").await;
    alice.close().await.unwrap();
    // Once it is taken away, the flag goes from the dashboard that showed it, at its next
    // refresh (every 5 s), without a reload.
    let mut flag_gone = false;
    for _ in 0..60 {
        if dave
            .find(fantoccini::Locator::Css(
                "[data-testid=failing-revocations]",
            ))
            .await
            .is_err()
        {
            flag_gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        flag_gone,
        "the dashboard still flags a revocation that succeeded"
    );
    dave.close().await.unwrap();
}
