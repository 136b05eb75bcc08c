//! What opening a link costs before the page can be used: the reads the first page needs
//! start with the page itself (`index.html` preloads them), not after the portal's code has
//! arrived, and the portal takes those answers instead of asking again.

use stint_e2e::{Stack, api_reads, find, performance_mark, sign_in};

#[tokio::test]
#[ignore = "needs chromium, chromedriver and the built portal; run by `cargo xtask test`"]
async fn a_request_link_reads_who_is_signed_in_and_the_request_once_from_the_start() {
    let stack = Stack::start().await;
    let alice = stack.user("alice").await;
    let request = stack
        .file_via_store(
            &alice,
            "ci-deployer",
            "payments-db",
            "Rotate the export key",
        )
        .await;
    let bob = stack.browser().await;
    sign_in(&bob, &stack, "bob").await;

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
