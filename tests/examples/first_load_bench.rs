//! How soon an approver who opens a request link can press Approve, on Chromium's emulated
//! "Slow 4G" (150 ms latency, 1.6 Mbit/s down, 750 kbit/s up): the `stint:approve-ready`
//! mark the portal sets, read from the Performance API (milliseconds since navigation began);
//! and, for a page whose code is a split file, how soon the approvals queue opened by its
//! link is on the page (`stint:approvals-rendered`).
//! Each run is a first visit (the browser's cache emptied) or a repeat visit (its cache kept);
//! bob is signed in already, as he is when he follows a link from a chat message.
//!
//! `cargo run -p stint-e2e --example first_load_bench -- [RUNS]`, with STINT_PORTAL_DIR
//! naming the built portal (`cargo xtask bench` does all this).

use fantoccini::Client;
use serde_json::json;
use stint_e2e::{Stack, devtools, find, performance_mark, sign_in};

#[tokio::main]
async fn main() {
    let runs = std::env::args()
        .nth(1)
        .map(|a| a.parse::<usize>().expect("a number"))
        .unwrap_or(7);
    let stack = Stack::start().await;
    let request = stack.alices_request("Rotate the nightly export key").await;
    let link = stack.url(&format!("/requests/{request}"));

    let bob = stack.browser().await;
    sign_in(&bob, &stack, "bob").await;
    devtools(&bob, "Network.enable", json!({})).await;
    devtools(
        &bob,
        "Network.emulateNetworkConditions",
        json!({
            "offline": false,
            "latency": 150,
            "downloadThroughput": 1_600_000 / 8,
            "uploadThroughput": 750_000 / 8,
        }),
    )
    .await;
    let pages = [
        (
            "Approve usable on a request link",
            link,
            "[data-testid=approve]",
            "stint:approve-ready",
        ),
        (
            "Approvals queue on its link",
            stack.url("/approvals"),
            "main h1",
            "stint:approvals-rendered",
        ),
    ];
    for (what, link, selector, mark) in pages {
        for (visit, empty_cache) in [("first visit", true), ("repeat visit", false)] {
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs {
                times.push(open(&bob, &link, empty_cache, selector, mark).await);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "| {what}, Slow 4G, {visit} | {runs} | {:.0} ms | {:.0}–{:.0} ms |",
                times[times.len() / 2],
                times[0],
                times[times.len() - 1]
            );
        }
    }
    bob.close().await.unwrap();
}

/// Opens `link` (with the browser's cache emptied first, or kept) and reads `mark` once
/// `selector` is on the page.
async fn open(bob: &Client, link: &str, empty_cache: bool, selector: &str, mark: &str) -> f64 {
    if empty_cache {
        devtools(bob, "Network.clearBrowserCache", json!({})).await;
    }
    bob.goto(link).await.unwrap();
    find(bob, selector).await;
    performance_mark(bob, mark).await
}
