//! The grant lifecycle in a real browser: alice asks to extend her live grant, bob
//! approves, and her countdown moves on without her reloading the page.

use chrono::{DateTime, Duration, Utc};
use stint_e2e::{Stack, click, find, screenshot, sign_in, type_into, wait_text};

/// When the grant's countdown ends, as the page says.
async fn countdown_end(c: &fantoccini::Client) -> DateTime<Utc> {
    let at = find(c, "[data-testid=countdown]")
        .await
        .attr("datetime")
        .await
        .unwrap()
        .expect("a countdown says when it ends");
    DateTime::parse_from_rfc3339(&at).unwrap().to_utc()
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn alice_extends_a_grant_and_the_countdown_moves() {
    let stack = Stack::start().await;
    let alice_user = stack.user("alice").await;
    let bob_user = stack.user("bob").await;
    let request = stack
        .live_via_store(
            &alice_user,
            "ci-deployer",
            "payments-db",
            "Apply migration 44",
        )
        .await;
    let grant = stack
        .store
        .request_detail(&alice_user, request, Utc::now())
        .await
        .unwrap()
        .grant
        .expect("approved, so granted")
        .id;

    let alice = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    alice
        .goto(&stack.url(&format!("/requests/{request}")))
        .await
        .unwrap();
    wait_text(&alice, "[data-testid=countdown]", "left").await;
    let before = countdown_end(&alice).await;
    click(&alice, "[data-testid=extend]").await;
    type_into(
        &alice,
        "[data-testid=extend-task]",
        "The migration runs longer than planned",
    )
    .await;
    screenshot(&alice, "extend-grant").await;
    click(&alice, "[data-testid=submit-extend]").await;
    wait_text(
        &alice,
        "[data-testid=pending-extension]",
        "waits for approval",
    )
    .await;

    let extension = stack
        .store
        .grant(&alice_user, grant, Utc::now())
        .await
        .unwrap()
        .pending_extension_id
        .expect("the extension waits");
    stack
        .store
        .approve(&bob_user, extension, &Default::default(), Utc::now())
        .await
        .unwrap();

    // The live feed brings the news: the same grant, ending 15 minutes later.
    wait_text(&alice, "[data-testid=grant-extensions]", "extended once").await;
    assert_eq!(countdown_end(&alice).await, before + Duration::minutes(15));
    screenshot(&alice, "grant-extended").await;
    alice.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn alice_asks_for_a_change_window_and_its_grant_waits_for_it() {
    let stack = Stack::start().await;
    let bob_user = stack.user("bob").await;
    let alice = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    alice.goto(&stack.url("/requests/new")).await.unwrap();
    find(&alice, "[data-testid=identity]")
        .await
        .select_by_label("ci-deployer (CI pipeline)")
        .await
        .unwrap();
    type_into(
        &alice,
        "[data-testid=task]",
        "Deploy release 7.2 in the window",
    )
    .await;
    click(&alice, "[data-testid=start-later]").await;
    // Tomorrow at 02:00 in the browser's (this machine's) zone, as a person would pick it.
    let start = (chrono::Local::now() + Duration::days(1))
        .date_naive()
        .and_hms_opt(2, 0, 0)
        .unwrap()
        .and_local_timezone(chrono::Local)
        .earliest()
        .unwrap();
    let field = find(&alice, "[data-testid=starts-at]").await;
    alice
        .execute(
            "arguments[0].value = arguments[1];
             arguments[0].dispatchEvent(new Event('input', { bubbles: true }));",
            vec![
                serde_json::to_value(&field).unwrap(),
                serde_json::json!(start.format("%Y-%m-%dT%H:%M").to_string()),
            ],
        )
        .await
        .unwrap();
    // The window is previewed in the viewer's zone: from 02:00, one hour (the default).
    wait_text(&alice, "[data-testid=window-preview]", "02:00–03:00").await;
    screenshot(&alice, "request-window").await;
    click(&alice, "[data-testid=submit-request]").await;
    wait_text(&alice, "[data-testid=request-state]", "pending").await;
    wait_text(&alice, "[data-testid=request-window]", "02:00–03:00").await;
    let url = alice.current_url().await.unwrap();
    let request: i64 = url.path().rsplit('/').next().unwrap().parse().unwrap();

    stack
        .store
        .approve(&bob_user, request, &Default::default(), Utc::now())
        .await
        .unwrap();
    // Approved, the grant waits for its window: no credential, the start shown.
    wait_text(&alice, "[data-testid=grant-state]", "scheduled").await;
    wait_text(&alice, "[data-testid=grant-window]", "02:00–03:00").await;
    assert!(
        alice
            .find(fantoccini::Locator::Css("[data-testid=fetch-credential]"))
            .await
            .is_err(),
        "no credential before the start"
    );
    screenshot(&alice, "grant-scheduled").await;
    alice.goto(&stack.url("/")).await.unwrap();
    wait_text(&alice, "[data-testid=active-grants]", "scheduled").await;
    alice.close().await.unwrap();
}
