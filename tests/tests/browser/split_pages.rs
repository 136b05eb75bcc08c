//! Every page but a request's lives in a file of its own (`src/lazy_pages.rs`), fetched the
//! first time one is opened: by link, by typing the URL, or when that fetch fails.

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
    // A copy of the portal without the admin pages' file, as when a newer build replaced
    // it on the server while this tab was open, or the network dropped.
    let portal = tempfile::tempdir().unwrap();
    let built = std::path::PathBuf::from(std::env::var("STINT_PORTAL_DIR").unwrap());
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(&built).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.starts_with("split_admin-") {
            removed.push(name);
        } else {
            std::fs::copy(entry.path(), portal.path().join(&name)).unwrap();
        }
    }
    assert!(
        !removed.is_empty(),
        "the built portal has the admin pages' file"
    );
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
    for name in &removed {
        std::fs::copy(built.join(name), portal.path().join(name)).unwrap();
    }
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
