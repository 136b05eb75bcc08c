//! Every page but a request's lives in a file of its own (`src/lazy_pages.rs`), fetched the
//! first time one is opened: by link, by typing the URL, or when that fetch fails. So does a
//! request's grant, which an approver deciding the request never sees.

use fantoccini::Locator;
use stint_e2e::{Stack, click, find, screenshot, sign_in, wait_text};

/// The split pages an auditing admin opens from the navigation, and their headings.
const SPLIT_PAGES: [(&str, &str); 13] = [
    ("/identities", "Identities"),
    ("/secrets", "Secrets"),
    ("/account", "Your account"),
    ("/audit", "Audit trail"),
    ("/reports/evidence", "Evidence report"),
    ("/live-access", "Live access"),
    ("/reviews", "Reviews"),
    ("/campaigns", "Access reviews"),
    ("/admin/federation", "Federation"),
    ("/admin/notifications", "Notifications"),
    ("/admin/resources", "Resources & policies"),
    ("/admin/users", "Users"),
    ("/admin/proposals", "Proposed changes"),
];

#[tokio::test]
#[ignore = "needs chromium, chromedriver and the built portal; run by `cargo xtask test`"]
async fn each_split_page_opens_by_its_url_and_through_the_navigation() {
    let stack = Stack::start().await;
    // Asking for access is an owner's: alice's.
    let pages = [
        ("dave", SPLIT_PAGES.to_vec()),
        (
            "alice",
            vec![
                ("/requests/new", "New request"),
                ("/break-glass", "Break-glass access"),
                ("/requests", "Requests"),
                ("/", "Hello, Alice"),
            ],
        ),
        // The approvals queue is an approver's: bob's.
        ("bob", vec![("/approvals", "Approvals")]),
    ];
    for (username, pages) in pages {
        let browser = stack.browser().await;
        sign_in(&browser, &stack, username).await;
        // Through the navigation, from the dashboard.
        for (path, heading) in &pages {
            click(&browser, &format!("nav a[href='{path}']")).await;
            wait_text(&browser, "main h1", heading).await;
        }
        // By URL, each in a fresh page load: the main part then fetches the page's file.
        // A dozen loads in a row: pages left behind, kept whole for Back, must not hold
        // the connections the next page needs (the fifth stalled while they did).
        for (path, heading) in &pages {
            browser.goto(&stack.url(path)).await.unwrap();
            wait_text(&browser, "main h1", heading).await;
        }
        browser.close().await.unwrap();
    }
}

#[tokio::test]
#[ignore = "needs chromium, chromedriver and the built portal; run by `cargo xtask test`"]
async fn a_page_whose_file_cannot_be_fetched_says_so_and_retry_fetches_it() {
    // The admin pages' file is gone from the server.
    let (portal, removed) = portal_without("split_admin-");
    let copy = portal.path().to_path_buf();
    let stack = Stack::start_with(|config| config.portal_dir = Some(copy)).await;
    let grace = stack.browser().await;
    sign_in(&grace, &stack, "grace").await;

    click(&grace, "nav a[href='/admin/users']").await;
    wait_text(
        &grace,
        "[data-testid=page-code-missing]",
        "could not be loaded",
    )
    .await;
    screenshot(&grace, "split-page-missing").await;
    // The rest of the portal still works.
    click(&grace, "nav a[href='/requests']").await;
    wait_text(&grace, "main h1", "Requests").await;

    // Opening it again tries again (a failure is not remembered), and fails again.
    click(&grace, "nav a[href='/admin/users']").await;
    find(&grace, "[data-testid=page-code-missing]").await;

    // The file is back (the network returned): Retry fetches it.
    put_back(&portal, &removed);
    click(&grace, "[data-testid=page-code-missing] button").await;
    wait_text(&grace, "main h1", "Users").await;
    assert!(
        grace
            .find(Locator::Css("[data-testid=page-code-missing]"))
            .await
            .is_err(),
        "the error is gone once the page is shown"
    );
    grace.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs chromium, chromedriver and the built portal; run by `cargo xtask test`"]
async fn a_requests_grant_whose_file_cannot_be_fetched_leaves_the_request_readable() {
    let (portal, removed) = portal_without("split_grant-");
    let copy = portal.path().to_path_buf();
    let stack = Stack::start_with(|config| config.portal_dir = Some(copy)).await;
    let request = stack.alices_request("Replay the settlement batch").await;
    let bob = stack.user("bob").await;
    stack
        .store
        .approve(&bob, request, &Default::default(), chrono::Utc::now())
        .await
        .unwrap();
    let alice = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    alice
        .goto(&stack.url(&format!("/requests/{request}")))
        .await
        .unwrap();
    // The request is drawn from the main part; only its grant waits for code that is not
    // there, and says so in its place.
    wait_text(&alice, "[data-testid=request-state]", "approved").await;
    wait_text(
        &alice,
        "[data-testid=page-code-missing]",
        "This part of the page could not be loaded",
    )
    .await;
    wait_text(&alice, "[data-testid=timeline]", "bob").await;

    put_back(&portal, &removed);
    click(&alice, "[data-testid=page-code-missing] button").await;
    wait_text(&alice, "[data-testid=grant-state]", "active").await;
    find(&alice, "[data-testid=fetch-credential]").await;
    alice.close().await.unwrap();
}

/// A copy of the built portal without the files whose names start with `prefix` (as when a
/// newer build replaced them on the server while a tab was open, or the network dropped),
/// and the names left out.
fn portal_without(prefix: &str) -> (tempfile::TempDir, Vec<String>) {
    let portal = tempfile::tempdir().unwrap();
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(built()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.starts_with(prefix) {
            removed.push(name);
        } else {
            std::fs::copy(entry.path(), portal.path().join(&name)).unwrap();
        }
    }
    assert!(!removed.is_empty(), "the built portal has files {prefix}…");
    (portal, removed)
}

/// The files `portal_without` left out, back in the copy (the network returned).
fn put_back(portal: &tempfile::TempDir, removed: &[String]) {
    for name in removed {
        std::fs::copy(built().join(name), portal.path().join(name)).unwrap();
    }
}

fn built() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var("STINT_PORTAL_DIR").unwrap())
}
