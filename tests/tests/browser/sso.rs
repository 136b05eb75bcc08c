//! Signing in through a real OpenID provider (the npm package `oidc-provider`, with its own
//! login and consent pages): a person whose groups map lands on the dashboard with the
//! roles they give, and is offered the provider's sign-out when leaving; a person whose
//! groups map to nothing gets a page that says so.

use std::process::{Child, Command, Stdio};
use std::time::Duration;
use stint_e2e::{Stack, click, find, screenshot, type_into, wait_text};

/// `tests/oidc/provider.mjs` run by Node from where `cargo xtask test` installed the
/// package; killed with its process group when dropped.
struct OpenIdProvider(Child);

impl OpenIdProvider {
    async fn start(port: u16, secret: &str, stack: &Stack) -> OpenIdProvider {
        let dir = std::path::PathBuf::from(std::env::var("STINT_OIDC_PROVIDER_DIR").expect(
            "STINT_OIDC_PROVIDER_DIR names where oidc-provider is installed; run `cargo xtask test`",
        ));
        // Beside its node_modules, so the script's import finds the package.
        let script = dir.join("stint-e2e-provider.mjs");
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/oidc/provider.mjs"),
            &script,
        )
        .unwrap();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("node")
                .arg(&script)
                .env("PORT", port.to_string())
                // `localhost` while the broker is on 127.0.0.1: another site, as a real
                // provider is, so the cookies' SameSite rules are those of production.
                .env("ISSUER", format!("http://localhost:{port}"))
                .env("CLIENT_SECRET", secret)
                .env("REDIRECT_URI", stack.url("/api/v1/oidc/corp/callback"))
                .env("POST_LOGOUT_REDIRECT_URI", stack.url("/login"))
                .env("COOKIE_KEY", "stint-e2e-provider-cookies")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("node runs the OpenID provider")
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return OpenIdProvider(child);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the OpenID provider did not listen on port {port}");
    }
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

/// The provider's own pages: its login form (any password), then its consent.
async fn sign_in_at_the_provider(c: &fantoccini::Client, stack: &Stack, login: &str) {
    c.goto(&stack.url("/")).await.unwrap();
    click(c, "[data-testid=sso-corp]").await;
    type_into(c, "input[name=login]", login).await;
    type_into(c, "input[name=password]", "whatever the provider asks").await;
    click(c, "button[type=submit]").await;
    find(c, "input[name=prompt][value=consent]").await;
    click(c, "button[type=submit]").await;
}

#[tokio::test]
#[ignore = "needs the built portal, Chromium and oidc-provider: run `cargo xtask test`"]
async fn people_sign_in_through_their_identity_provider_with_the_roles_their_groups_give() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    // A loopback test client's secret: the broker must send it, as to any provider.
    let secret = "stint-e2e-client-secret".to_string();
    let file = format!(
        r#"
[providers.corp]
display_name = "Corp SSO"
issuer = "http://localhost:{port}"
client_id = "stint"
client_secret_env = "CORP_SECRET"
scopes = ["openid", "profile", "groups"]
[providers.corp.roles]
requester = ["engineering"]
approver = ["stint-approvers"]
"#
    );
    let oidc = stint_broker::oidc::config::parse(&file, &|var| {
        (var == "CORP_SECRET").then(|| secret.clone())
    })
    .unwrap();
    let stack = Stack::start_with(|c| c.oidc = oidc).await;
    let _provider = OpenIdProvider::start(port, &secret, &stack).await;

    let ada = stack.browser().await;
    ada.goto(&stack.url("/")).await.unwrap();
    wait_text(&ada, "[data-testid=sso-corp]", "Sign in with Corp SSO").await;
    screenshot(&ada, "sso-sign-in").await;
    sign_in_at_the_provider(&ada, &stack, "ada").await;
    wait_text(&ada, "[data-testid=signed-in-user]", "Ada Lovelace").await;
    wait_text(&ada, ".user-roles", "requester, approver").await;
    screenshot(&ada, "sso-signed-in").await;
    // No password to change here: the provider manages it.
    click(&ada, "[data-testid=signed-in-user]").await;
    wait_text(
        &ada,
        "[data-testid=signs-in-with]",
        "You sign in through Corp SSO",
    )
    .await;
    assert!(
        ada.find(fantoccini::Locator::Css("[data-testid=password-form]"))
            .await
            .is_err()
    );
    screenshot(&ada, "sso-account").await;
    // Signing out offers the provider's own sign-out.
    click(&ada, "[data-testid=sign-out]").await;
    wait_text(
        &ada,
        "[data-testid=sso-signed-out]",
        "Sign out of Corp SSO too",
    )
    .await;
    screenshot(&ada, "sso-signed-out").await;
    // The provider asks to confirm, then sends the browser back to Stint's sign-in page.
    click(&ada, "[data-testid=sso-signed-out] a").await;
    click(&ada, "button[name=logout][value=yes]").await;
    find(&ada, "[data-testid=sso-corp]").await;
    assert!(
        ada.current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&stack.url("/login"))
    );
    ada.close().await.unwrap();

    let zed = stack.browser().await;
    sign_in_at_the_provider(&zed, &stack, "zed").await;
    wait_text(&zed, "[data-testid=no-access]", "No access to Stint").await;
    wait_text(&zed, "[data-testid=no-access]", "Corp SSO").await;
    screenshot(&zed, "sso-no-access").await;
    click(&zed, "[data-testid=back-to-sign-in]").await;
    find(&zed, "[data-testid=sso-corp]").await;
    zed.close().await.unwrap();
}
