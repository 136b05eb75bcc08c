//! What opening a link costs before the page can be used: the reads the first page needs
//! start with the page itself (`index.html` preloads them), not after the portal's code has
//! arrived, and the portal takes those answers instead of asking again.

use fantoccini::Client;
use stint_e2e::{Stack, api_reads, code_files, find, performance_mark, sign_in, wait_text};

#[tokio::test]
#[ignore = "needs chromium, chromedriver and the built portal; run by `cargo xtask test`"]
async fn a_request_link_reads_who_is_signed_in_and_the_request_once_from_the_start() {
    let stack = Stack::start().await;
    let (bob, request) = bob_signed_in_with_a_request_to_decide(&stack).await;

    // A fresh load of the link, as from a chat message.
    bob.goto(&stack.url(&format!("/requests/{request}")))
        .await
        .unwrap();
    find(&bob, "[data-testid=approve]").await;
    // Until Approve was usable; the feed, once open, has pages read again (what changed
    // before it opened), which is not what this is about.
    let usable = performance_mark(&bob, "stint:approve-ready").await;
    let me = "/api/v1/me".to_string();
    let detail = format!("/api/v1/requests/{request}");
    let reads = api_reads(&bob, usable).await;
    for path in [&me, &detail] {
        let made: Vec<_> = reads.iter().filter(|(p, _)| p == path).collect();
        // One read each, begun by the page's preload: the portal's own fetch took its
        // answer rather than asking the broker a second time.
        assert_eq!(
            made,
            [&(path.clone(), "link".to_string())],
            "reads of {path}: {reads:?}"
        );
    }

    // Any other page reads who is signed in from the start too, and nothing for a request.
    bob.goto(&stack.url("/")).await.unwrap();
    find(&bob, "main h1").await;
    let reads = api_reads(&bob, f64::MAX).await;
    assert_eq!(
        reads.iter().find(|(p, _)| *p == me),
        Some(&(me.clone(), "link".to_string())),
        "{reads:?}"
    );
    assert!(
        !reads
            .iter()
            .any(|(p, _)| p.strip_prefix("/api/v1/requests/").is_some()),
        "the dashboard read a request it does not show: {reads:?}"
    );
    bob.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium, chromedriver and the built portal; run by `cargo xtask test`"]
async fn a_split_page_opened_by_its_link_fetches_its_code_with_the_main_part() {
    let stack = Stack::start().await;
    let (bob, request) = bob_signed_in_with_a_request_to_decide(&stack).await;

    // A page whose code is a file of its own, opened by its link: index.html preloads
    // that file (and the parts it shares with other groups) with the main part, and the
    // portal takes each once.
    bob.goto(&stack.url("/account")).await.unwrap();
    wait_text(&bob, "main h1", "Your account").await;
    let files = code_files(&bob).await;
    let split: Vec<_> = files
        .iter()
        .filter(|(name, _)| !name.starts_with("/stint-portal-"))
        .collect();
    assert!(
        split
            .iter()
            .any(|(name, _)| name.starts_with("/split_identities-")),
        "the account page's own file: {files:?}"
    );
    for (name, began_by) in &split {
        assert_eq!(
            began_by, "link",
            "{name} waited for the main part: {files:?}"
        );
        let fetched = files.iter().filter(|(other, _)| other == name).count();
        assert_eq!(fetched, 1, "{name} fetched again by the portal: {files:?}");
    }

    // A request link needs the main part only: nothing else is fetched before Approve.
    bob.goto(&stack.url(&format!("/requests/{request}")))
        .await
        .unwrap();
    find(&bob, "[data-testid=approve]").await;
    let files = code_files(&bob).await;
    assert!(
        files
            .iter()
            .all(|(name, _)| name.starts_with("/stint-portal-")),
        "a request link fetched split code: {files:?}"
    );
    bob.close().await.unwrap();
}

/// Bob (an approver) signed in, and the id of alice's request waiting for him.
async fn bob_signed_in_with_a_request_to_decide(stack: &Stack) -> (Client, i64) {
    let request = stack.alices_request("Rotate the export key").await;
    let bob = stack.browser().await;
    sign_in(&bob, stack, "bob").await;
    (bob, request)
}
