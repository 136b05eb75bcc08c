//! The live portal: what others do reaches an open page without a reload, and a page
//! whose live feed dropped says so and catches up when the broker is back.

use chrono::Utc;
use fantoccini::Client;
use serde_json::json;
use stint_e2e::{Stack, api_reads, devtools, find, screenshot, sign_in, wait_text};

/// Marks the page, so a test can tell later that it was never reloaded.
async fn mark(c: &Client) {
    c.execute("window.stintNotReloaded = true; return true", vec![])
        .await
        .unwrap();
}

async fn still_marked(c: &Client) -> bool {
    c.execute("return window.stintNotReloaded === true", vec![])
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn a_new_request_reaches_the_approver_and_the_decision_the_requester_without_a_reload() {
    let stack = Stack::start().await;
    let bob = stack.browser().await;
    sign_in(&bob, &stack, "bob").await;
    bob.goto(&stack.url("/approvals")).await.unwrap();
    wait_text(&bob, "h1", "Approvals").await;
    mark(&bob).await;

    let task = "Replay the failed settlement batch";
    let id = stack.alices_request(task).await;
    wait_text(&bob, "[data-testid=approval-queue]", task).await;
    wait_text(&bob, "[data-testid=approvals-count]", "1").await;
    assert!(still_marked(&bob).await, "the queue was not reloaded");
    screenshot(&bob, "live-approvals").await;

    let requester = stack.browser().await;
    sign_in(&requester, &stack, "alice").await;
    requester
        .goto(&stack.url(&format!("/requests/{id}")))
        .await
        .unwrap();
    wait_text(&requester, "[data-testid=request-state]", "pending").await;
    mark(&requester).await;
    let approver = stack.user("bob").await;
    stack
        .store
        .approve(&approver, id, &Default::default(), Utc::now())
        .await
        .unwrap();
    wait_text(&requester, "[data-testid=request-state]", "approved").await;
    find(&requester, "[data-testid=grant-state]").await;
    assert!(
        still_marked(&requester).await,
        "the request page was not reloaded"
    );
    // The approver's queue empties as well.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while find(&bob, "[data-testid=approvals-page]")
        .await
        .text()
        .await
        .unwrap()
        .contains(task)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the decided request stayed in bob's queue"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bob.close().await.unwrap();
    requester.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn a_page_says_when_live_updates_drop_and_catches_up_after_the_restart() {
    let mut stack = Stack::start().await;
    let browser = stack.browser().await;
    sign_in(&browser, &stack, "alice").await;
    browser.goto(&stack.url("/requests")).await.unwrap();
    wait_text(&browser, "[data-testid=requests-page]", "No requests match").await;
    mark(&browser).await;

    let alice = stack.user("alice").await;
    let body = stack
        .request_body(
            &alice,
            "ci-deployer",
            "payments-db",
            "Filed while the broker was down",
        )
        .await;
    let store = stack.store.clone();
    // While the broker is down, the page says it cannot reach it and keeps what it shows;
    // meanwhile a request is filed straight into the database (as another replica would),
    // so only the feed's catch-up after its last event can bring it.
    let while_down = async {
        wait_text(&browser, "[data-testid=offline-banner]", "Reconnecting").await;
        screenshot(&browser, "live-reconnecting").await;
        store
            .file_request(&alice, &body, Utc::now(), chrono::Duration::hours(24))
            .await
            .unwrap();
    };
    stack.restart_broker(while_down).await;
    wait_text(&browser, "[data-testid=requests-page]", "ci-deployer").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(40);
    while browser
        .find(fantoccini::Locator::Css(
            "[data-testid=offline-banner], [data-testid=live-banner]",
        ))
        .await
        .is_ok()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a banner stayed after the feed was back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(still_marked(&browser).await, "the page was not reloaded");
    browser.close().await.unwrap();
}

/// How many times the page has read `path` so far, once nothing new has been read for a
/// second (the reads a change set off have all been answered).
async fn settled_reads_of(c: &Client, path: &str) -> usize {
    let mut last = None;
    loop {
        let count = api_reads(c, f64::MAX)
            .await
            .iter()
            .filter(|(p, _)| p == path)
            .count();
        if last == Some(count) {
            return count;
        }
        last = Some(count);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn a_change_elsewhere_has_the_dashboard_read_each_list_once() {
    let stack = Stack::start().await;
    let dave = stack.browser().await;
    sign_in(&dave, &stack, "dave").await;
    // A fresh load, as a signed-in admin opens the portal; his sign-in (a change the feed
    // streams) is long told of by now.
    dave.goto(&stack.url("/")).await.unwrap();
    // An admin's dashboard: the lists it reads depend on dave's roles.
    wait_text(&dave, "[data-testid=dashboard-coverage]", "JIT only").await;
    let coverage = "/api/v1/standing/coverage";
    let me = "/api/v1/me";
    let before = settled_reads_of(&dave, coverage).await;
    let me_before = settled_reads_of(&dave, me).await;
    // Nothing changed between the page's reads and its feed opening: read once, not again
    // when the feed opened.
    assert_eq!(before, 1);

    // A request dave may approve: his dashboard's lists and his counts (approvals waiting)
    // both change, and are each read again.
    stack.alices_request("Rotate the export key").await;
    let mut me_after = me_before;
    for _ in 0..100 {
        me_after = settled_reads_of(&dave, me).await;
        if me_after > me_before {
            break;
        }
    }
    assert!(me_after > me_before, "the counts were not read again");
    // Once: a new count is not a new role, so it does not read the lists a second time.
    assert_eq!(settled_reads_of(&dave, coverage).await, before + 1);
    dave.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn a_change_made_before_the_feed_opens_still_reaches_the_page() {
    let stack = Stack::start().await;
    let bob = stack.browser().await;
    sign_in(&bob, &stack, "bob").await;
    // The page reads its queue, but its feed cannot open yet.
    devtools(&bob, "Network.enable", json!({})).await;
    devtools(
        &bob,
        "Network.setBlockedURLs",
        json!({ "urls": ["*/api/v1/events*"] }),
    )
    .await;
    bob.goto(&stack.url("/approvals")).await.unwrap();
    wait_text(&bob, "[data-testid=approvals-page]", "All caught up").await;
    mark(&bob).await;

    // A request for bob, filed after the page read its queue and before the feed opens:
    // the feed will start after it and never tell of it.
    let task = "Rebuild the search index";
    stack.alices_request(task).await;
    devtools(&bob, "Network.setBlockedURLs", json!({ "urls": [] })).await;
    // Opening, the feed finds the queue was read before where it starts: the page reads
    // it again. The feed's next try may be up to 16 s away (it backs off while refused).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let queue = bob
            .find(fantoccini::Locator::Css("[data-testid=approvals-page]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap_or_default();
        if queue.contains(task) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the request filed before the feed opened never reached the queue"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(still_marked(&bob).await, "the queue was not reloaded");
    bob.close().await.unwrap();
}
