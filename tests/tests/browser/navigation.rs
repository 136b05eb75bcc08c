//! Moving on before a page has loaded: what the page left was reading is given up, so on a
//! slow link the next page does not wait behind it, and nothing reports the broker down.

use serde_json::json;
use std::time::Duration;
use stint_e2e::{Stack, click, devtools, find, screenshot, sign_in, type_into, wait_text};

/// Records, in the page, the URL of each fetch that ended by being given up (AbortError).
const WATCH_FETCHES: &str = "window.givenUp = [];
    const fetchOf = window.fetch.bind(window);
    window.fetch = (input, init) => {
        const url = typeof input === 'string' ? input : input.url;
        const answer = fetchOf(input, init);
        answer.catch((e) => { if (e.name === 'AbortError') window.givenUp.push(url); });
        return answer;
    };";

#[tokio::test]
#[ignore = "needs the built portal and chromium"]
async fn leaving_a_page_gives_up_what_it_was_reading() {
    let stack = Stack::start().await;
    let browser = stack.browser().await;
    sign_in(&browser, &stack, "bob").await;
    wait_text(&browser, "main h1", "Hello").await;
    browser.execute(WATCH_FETCHES, vec![]).await.unwrap();
    // Every answer now takes two seconds to come back.
    devtools(&browser, "Network.enable", json!({})).await;
    let latency = |ms: u64| json!({ "offline": false, "latency": ms, "downloadThroughput": -1, "uploadThroughput": -1 });
    devtools(&browser, "Network.emulateNetworkConditions", latency(2_000)).await;

    click(&browser, "nav a[href='/requests']").await;
    wait_text(&browser, "main h1", "Requests").await;
    // Its list is on the way when bob moves on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    click(&browser, "nav a[href='/approvals']").await;

    let mut given_up = Vec::new();
    for _ in 0..50 {
        given_up = browser
            .execute("return window.givenUp;", vec![])
            .await
            .unwrap()
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !given_up.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        given_up
            .iter()
            .any(|url| url.as_str().is_some_and(|u| u.contains("/api/v1/requests"))),
        "the requests page's list was not given up when bob left it: {given_up:?}"
    );

    devtools(&browser, "Network.emulateNetworkConditions", latency(0)).await;
    wait_text(&browser, "main h1", "Approvals").await;
    find(&browser, "[data-testid=approvals-page]").await;
    screenshot(&browser, "navigation-approvals-after-leaving").await;
    // A read given up is not the broker unreachable.
    assert!(
        browser
            .find(fantoccini::Locator::Css("[data-testid=offline-banner]"))
            .await
            .is_err(),
        "leaving a page reported the broker unreachable"
    );
    browser.close().await.unwrap();
}

/// A page kept whole for Back closed its live feed when it was left (so it held no
/// connection meanwhile); shown again, it reopens the feed and catches up on what changed.
#[tokio::test]
#[ignore = "needs the built portal and chromium"]
async fn a_page_shown_again_by_back_catches_up_on_what_changed_while_it_was_away() {
    let stack = Stack::start().await;
    let bob = stack.browser().await;
    sign_in(&bob, &stack, "bob").await;
    bob.goto(&stack.url("/approvals")).await.unwrap();
    wait_text(&bob, "main h1", "Approvals").await;
    bob.execute("window.stintNotReloaded = true;", vec![])
        .await
        .unwrap();

    bob.goto(&stack.url("/requests")).await.unwrap();
    wait_text(&bob, "main h1", "Requests").await;
    let task = "Rotate the settlement signing key";
    stack.alices_request(task).await;

    bob.back().await.unwrap();
    wait_text(&bob, "[data-testid=approval-queue]", task).await;
    let restored = bob
        .execute("return window.stintNotReloaded === true;", vec![])
        .await
        .unwrap();
    assert_eq!(
        restored,
        json!(true),
        "the approvals page was loaded anew, not shown again as it was left"
    );
    bob.close().await.unwrap();
}

/// A request link is read at boot beside who is signed in. Opened signed out, that read is
/// refused; once bob signs in, the page reads the request afresh rather than show the
/// refusal, and he can approve it there.
#[tokio::test]
#[ignore = "needs the built portal and chromium"]
async fn a_request_link_opened_signed_out_shows_the_request_once_signed_in() {
    let stack = Stack::start().await;
    let task = "Re-key the settlement export";
    let id = stack.alices_request(task).await;
    let bob = stack.browser().await;
    bob.goto(&stack.url(&format!("/requests/{id}")))
        .await
        .unwrap();
    type_into(&bob, "[data-testid=username]", "bob").await;
    type_into(&bob, "[data-testid=password]", stint_broker::demo::PASSWORD).await;
    click(&bob, "[data-testid=sign-in]").await;
    wait_text(&bob, "[data-testid=requester]", "alice").await;
    wait_text(&bob, "main", task).await;
    screenshot(&bob, "request-link-after-sign-in").await;
    click(&bob, "[data-testid=approve]").await;
    wait_text(&bob, "[data-testid=request-state]", "approved").await;
    bob.close().await.unwrap();
}
