//! What the portal shows is true and safe to act on: the sign-in error, a request that can
//! never pass, the grant's real state on its request, the narrow-screen navigation.

use stint_e2e::{Stack, click, find, press, screenshot, sign_in, type_into, value_of, wait_text};

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn a_wrong_password_keeps_the_username_says_so_and_returns_to_the_password_field() {
    let stack = Stack::start().await;
    let alice = stack.browser().await;
    alice.goto(&stack.url("/")).await.unwrap();
    type_into(&alice, "[data-testid=username]", "alice").await;
    type_into(&alice, "[data-testid=password]", "not her password").await;
    click(&alice, "[data-testid=sign-in]").await;
    wait_text(&alice, "[data-testid=login-error]", "wrong password").await;
    let username = find(&alice, "[data-testid=username]").await;
    assert_eq!(
        username.prop("value").await.unwrap().as_deref(),
        Some("alice")
    );
    let password = find(&alice, "[data-testid=password]").await;
    assert_eq!(password.prop("value").await.unwrap().as_deref(), Some(""));
    let focused = alice
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, "password");
    screenshot(&alice, "login-wrong-password").await;
    // And the right one goes straight in.
    type_into(
        &alice,
        "[data-testid=password]",
        stint_broker::demo::PASSWORD,
    )
    .await;
    click(&alice, "[data-testid=sign-in]").await;
    find(&alice, "[data-testid=signed-in-user]").await;
    alice.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn a_request_no_remaining_approver_can_pass_says_so_and_names_who_may_approve() {
    let stack = Stack::start().await;
    stack
        .change_policy("payments-db", |p| p.approvals_required = 2)
        .await;

    // erin approves, but owns billing-agent and files for it: only bob may decide.
    let erin_view = stack.user("erin").await;
    let id = stack
        .file_via_store(
            &erin_view,
            "billing-agent",
            "payments-db",
            "Reconcile the ledger",
        )
        .await;
    let erin = stack.browser().await;
    sign_in(&erin, &stack, "erin").await;
    erin.goto(&stack.url(&format!("/requests/{id}")))
        .await
        .unwrap();
    wait_text(&erin, "[data-testid=unsatisfiable]", "cannot be approved").await;
    wait_text(
        &erin,
        "[data-testid=approval-progress]",
        "0 of 2 approvals, from: bob",
    )
    .await;
    screenshot(&erin, "request-unsatisfiable").await;
    erin.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn the_access_form_makes_the_owner_choose_and_leads_to_what_is_missing() {
    let stack = Stack::start().await;
    let filed = || async {
        let filter = stint_broker::store::RequestFilter {
            mine: true,
            limit: 100,
            now: chrono::Utc::now(),
            ..Default::default()
        };
        let alice = stack.user("alice").await;
        stack.store.requests(&alice, &filter).await.unwrap().len()
    };
    let before = filed().await;
    let alice = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    alice.goto(&stack.url("/requests/new")).await.unwrap();
    // alice owns several identities: none is picked for her.
    let identity = find(&alice, "[data-testid=identity]").await;
    assert_eq!(identity.prop("value").await.unwrap().as_deref(), Some(""));
    click(&alice, "[data-testid=submit-request]").await;
    wait_text(
        &alice,
        "[data-testid=request-form]",
        "Choose the identity that needs the access",
    )
    .await;
    let focused = || async {
        alice
            .execute("return document.activeElement.id", vec![])
            .await
            .unwrap()
    };
    assert_eq!(focused().await, "identity");
    identity
        .select_by_label("ci-deployer (CI pipeline)")
        .await
        .unwrap();
    click(&alice, "[data-testid=submit-request]").await;
    // Messages read as sentences; the task is what is missing now.
    wait_text(
        &alice,
        "[data-testid=request-form]",
        "Describe the task in at least",
    )
    .await;
    assert_eq!(focused().await, "task");
    screenshot(&alice, "request-form-missing-task").await;
    assert_eq!(filed().await, before, "nothing was filed");
    alice.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn break_glass_for_access_the_identity_already_holds_warns_and_shows_the_grant() {
    let stack = Stack::start().await;
    let alice_view = stack.user("alice").await;
    let id = stack
        .live_via_store(
            &alice_view,
            "ci-deployer",
            "payments-db",
            "Rotate the ledger keys",
        )
        .await;
    let alice = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    alice.goto(&stack.url("/break-glass")).await.unwrap();
    find(&alice, "[data-testid=identity]")
        .await
        .select_by_label("ci-deployer (CI pipeline)")
        .await
        .unwrap();
    find(&alice, "[data-testid=resource]")
        .await
        .select_by_label("payments-db")
        .await
        .unwrap();
    let warning = wait_text(
        &alice,
        "[data-testid=already-live]",
        "already holds live access",
    )
    .await;
    assert!(warning.contains(&format!("request #{id}")), "{warning}");
    find(
        &alice,
        &format!("[data-testid=already-live] a[href='/requests/{id}']"),
    )
    .await;
    screenshot(&alice, "break-glass-already-live").await;
    alice.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn who_owns_nothing_is_not_shown_empty_access_and_admins_see_policies_that_trap_requests() {
    let stack = Stack::start().await;
    // carol reviews and owns nothing: her dashboard starts with what she does, and
    // nothing offers her to ask for access.
    let carol = stack.browser().await;
    sign_in(&carol, &stack, "carol").await;
    find(&carol, "[data-testid=overdue-reviews]").await;
    let hidden = carol
        .execute(
            "return [document.querySelector('[data-testid=active-grants]').hidden,
                     document.querySelector('[data-testid=my-pending]').hidden,
                     [...document.querySelectorAll('a[href=\"/requests/new\"], a[href=\"/break-glass\"]')]
                         .some(a => a.offsetParent !== null),
                     document.querySelector('#overdue-title .count').className]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(hidden, serde_json::json!([true, true, false, "count zero"]));
    screenshot(&carol, "dashboard-carol").await;
    carol.close().await.unwrap();

    // prod-cluster needs 2 approvals from exactly bob and erin: a request either files, or
    // for an identity either owns, can never pass. dave is told on the card and in the editor.
    let dave = stack.browser().await;
    sign_in(&dave, &stack, "dave").await;
    dave.goto(&stack.url("/admin/resources")).await.unwrap();
    wait_text(
        &dave,
        "[data-resource=prod-cluster] [data-testid=policy-warning]",
        "can never be approved",
    )
    .await;
    click(&dave, "[data-testid=edit-prod-cluster]").await;
    wait_text(
        &dave,
        "[data-testid=resource-editor] [data-testid=policy-warning]",
        "one of its 2 approvers",
    )
    .await;
    // One approval fewer and the warning goes.
    let required = find(&dave, "[data-testid=approvals-required]").await;
    required.clear().await.unwrap();
    required.send_keys("1").await.unwrap();
    wait_text(&dave, "[data-testid=policy-preview]", "Needs 1 approval").await;
    assert!(
        dave.find(fantoccini::Locator::Css(
            "[data-testid=resource-editor] [data-testid=policy-warning]"
        ))
        .await
        .is_err()
    );
    screenshot(&dave, "policy-editor").await;
    dave.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn at_360_px_the_nav_is_one_short_row_that_shows_the_current_page() {
    let stack = Stack::start().await;
    let alice = stack.browser().await;
    alice.set_window_rect(0, 0, 360, 800).await.unwrap();
    sign_in(&alice, &stack, "alice").await;
    // Account is near the end of the row, off to the right of a 360 px screen.
    alice.goto(&stack.url("/account")).await.unwrap();
    find(&alice, "[data-testid=password-form]").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let geometry = alice
        .execute(
            "const nav = document.querySelector('nav.sidenav').getBoundingClientRect();
             const cur = document.querySelector('nav.sidenav a[aria-current=page]')
                 .getBoundingClientRect();
             return [nav.height, nav.left, nav.right, cur.left, cur.right,
                     document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    let g: Vec<f64> = geometry
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let [
        nav_height,
        nav_left,
        nav_right,
        cur_left,
        cur_right,
        page_width,
        viewport,
    ] = g[..]
    else {
        panic!("{g:?}")
    };
    assert!(
        nav_height < 90.0,
        "the nav band is one row, not {nav_height} px"
    );
    assert!(
        cur_left >= nav_left && cur_right <= nav_right,
        "the current page's item is in view: {g:?}"
    );
    assert!(
        page_width <= viewport,
        "no page wider than the screen: {g:?}"
    );
    screenshot(&alice, "account-360").await;
    alice.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn a_fetched_credential_stays_through_the_pages_refreshes_until_dismissed() {
    let stack = Stack::start().await;
    let alice_view = stack.user("alice").await;
    stack
        .live_via_store(
            &alice_view,
            "ci-deployer",
            "payments-db",
            "Rotate the ledger keys",
        )
        .await;
    let alice = stack.browser().await;
    sign_in(&alice, &stack, "alice").await;
    click(
        &alice,
        "[data-testid=active-grants] [data-testid=fetch-credential]",
    )
    .await;
    let value = value_of(&alice, "[data-testid=credential-token]").await;
    wait_text(
        &alice,
        "[data-testid=credential-usage]",
        "Authorization: Bearer",
    )
    .await;
    // The dashboard refreshes every 5 s; the credential outlives two refreshes.
    tokio::time::sleep(std::time::Duration::from_secs(11)).await;
    assert_eq!(
        value_of(&alice, "[data-testid=credential-token]").await,
        value
    );
    screenshot(&alice, "credential-kept").await;
    click(&alice, "[data-testid=dismiss-credential]").await;
    assert!(
        alice
            .find(fantoccini::Locator::Css("[data-testid=credential-token]"))
            .await
            .is_err()
    );
    alice.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn the_approvals_queue_keeps_its_selection_when_a_request_arrives_above_it() {
    let stack = Stack::start().await;
    let alice = stack.user("alice").await;
    let older = stack
        .file_via_store(
            &alice,
            "ci-deployer",
            "payments-db",
            "Rebuild the ledger index",
        )
        .await;
    stack
        .file_via_store(&alice, "billing-agent", "payments-db", "Reconcile October")
        .await;
    let bob = stack.browser().await;
    sign_in(&bob, &stack, "bob").await;
    bob.goto(&stack.url("/approvals")).await.unwrap();
    let selected = "[data-testid=approval-queue] li[aria-current=true]";
    wait_text(&bob, selected, "billing-agent").await;
    press(&bob, 'j').await;
    wait_text(&bob, selected, "ci-deployer").await;

    // A new request lands at the top of the queue; the selection stays where bob put it.
    stack
        .file_via_store(
            &alice,
            "billing-agent",
            "payments-db",
            "Roll out the hotfix",
        )
        .await;
    wait_text(&bob, "[data-testid=approval-queue]", "Roll out the hotfix").await;
    let current = find(&bob, selected).await;
    assert_eq!(
        current.attr("data-request-id").await.unwrap(),
        Some(older.to_string())
    );
    press(&bob, 'a').await;
    wait_text(
        &bob,
        "[data-testid=queue-approve-dialog][open]",
        &format!("#{older} ci-deployer → payments-db (read)"),
    )
    .await;
    screenshot(&bob, "approve-dialog-names-request").await;
    find(&bob, "[data-testid=queue-approve-dialog-confirm]")
        .await
        .click()
        .await
        .unwrap();
    wait_text(&bob, ".toasts", &format!("Request #{older} approved")).await;
    wait_text(&bob, "[data-testid=approval-queue]", "Roll out the hotfix").await;
    bob.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn carol_judges_a_break_glass_unjustified_and_ends_the_access_in_one_step() {
    let stack = Stack::start().await;
    let alice = stack.user("alice").await;
    let review_id = stack
        .break_glass_via_store(
            &alice,
            "Checkout fails: a stuck migration holds the ledger lock",
            None,
        )
        .await;

    let carol = stack.browser().await;
    sign_in(&carol, &stack, "carol").await;
    carol
        .goto(&stack.url(&format!("/reviews/{}", review_id)))
        .await
        .unwrap();
    click(&carol, "[data-testid=outcome-unjustified]").await;
    type_into(
        &carol,
        "[data-testid=review-notes-input]",
        "No incident that night; this should have been a request.",
    )
    .await;
    // Ending the access comes with the verdict, unless carol unticks it.
    let end = find(&carol, "[data-testid=end-access]").await;
    assert_eq!(end.prop("checked").await.unwrap().as_deref(), Some("true"));
    wait_text(&carol, "[data-testid=submit-review]", "end the access now").await;
    screenshot(&carol, "review-unjustified-end-access").await;
    // Nobody approved it, and the timeline does not say anyone did.
    let timeline = wait_text(
        &carol,
        "[data-testid=timeline]",
        "alice's break-glass started access",
    )
    .await;
    assert!(!timeline.contains("approval"), "{timeline}");
    click(&carol, "[data-testid=submit-review]").await;
    wait_text(&carol, "[data-testid=grant-state]", "revoked").await;
    carol.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built portal and Chromium: run `cargo xtask test`"]
async fn when_the_broker_cannot_be_reached_the_page_stays_and_says_it_is_offline() {
    let mut stack = Stack::start().await;
    let alice = stack.user("alice").await;
    stack
        .file_via_store(
            &alice,
            "ci-deployer",
            "payments-db",
            "Rebuild the ledger index",
        )
        .await;
    let bob = stack.browser().await;
    sign_in(&bob, &stack, "bob").await;
    bob.goto(&stack.url("/approvals")).await.unwrap();
    wait_text(
        &bob,
        "[data-testid=approval-queue]",
        "Rebuild the ledger index",
    )
    .await;
    stack.stop_broker();
    // The live feed drops and the broker does not answer: the queue stays, a banner says
    // why.
    wait_text(&bob, "[data-testid=offline-banner]", "Offline").await;
    let queue = find(&bob, "[data-testid=approval-queue]").await;
    assert!(
        queue
            .text()
            .await
            .unwrap()
            .contains("Rebuild the ledger index")
    );
    assert!(
        bob.find(fantoccini::Locator::Css(".error-state"))
            .await
            .is_err(),
        "no error page replaces what was read"
    );
    screenshot(&bob, "approvals-offline").await;
    bob.close().await.unwrap();
}
