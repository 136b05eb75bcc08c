//! Time from navigation to the approvals queue on the page, in headless Chromium, with
//! PENDING requests waiting for bob: the `stint:approvals-rendered` mark the portal sets,
//! read from the Performance API (milliseconds since navigation start). Median of RUNS.
//!
//! `cargo run -p stint-e2e --example approvals_render_bench -- [RUNS] [PENDING]`, with
//! STINT_PORTAL_DIR naming the built portal (`cargo xtask bench` does all this).

use stint_e2e::{Stack, find, performance_mark, sign_in};

#[tokio::main]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("a number"));
    let runs = args.next().unwrap_or(7);
    let pending = args.next().unwrap_or(500);
    let stack = Stack::start().await;
    seed(&stack, pending).await;

    let bob = stack.browser().await;
    sign_in(&bob, &stack, "bob").await;
    let mut times = Vec::with_capacity(runs);
    // One unmeasured load first: the browser caches the wasm as it would for a returning user.
    for run in 0..=runs {
        bob.goto(&stack.url("/approvals")).await.unwrap();
        find(&bob, "[data-testid=approval-queue] li").await;
        let ms = performance_mark(&bob, "stint:approvals-rendered").await;
        if run > 0 {
            times.push(ms);
        }
    }
    bob.close().await.unwrap();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "| approvals queue rendered ({pending} pending, first page of 50) | {runs} | {median:.0} ms | {:.0}–{:.0} ms |",
        times[0],
        times[times.len() - 1]
    );
}

/// Files `count` requests as alice for ci-deployer on payments-db, all waiting for bob.
async fn seed(stack: &Stack, count: usize) {
    let alice = stack.user("alice").await;
    for n in 0..count {
        let task = format!("Nightly reconciliation run {n}");
        stack
            .file_via_store(&alice, "ci-deployer", "payments-db", &task)
            .await;
    }
}
