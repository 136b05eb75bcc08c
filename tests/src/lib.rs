//! The stack an end-to-end test drives: a real broker (demo data, fresh SQLite file) serving
//! the portal Trunk built, and a chromedriver whose headless Chromium sessions act as users.
//!
//! The tests are `#[ignore]`d in a plain `cargo test` because they need the built portal
//! and Chromium; `cargo xtask test` builds and installs both, then runs them.

use chrono::Utc;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use stint_broker::Broker;
use stint_broker::clock::SystemClock;
use stint_broker::config::Config;
use stint_broker::store::FourEyes;
use stint_core::api::{NewRequestBody, UserView};
use stint_core::rules::Justification;

/// How long a page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(20);

pub struct Stack {
    pub base: String,
    /// The broker's storage, for tests and benchmarks that set the scene without a browser.
    pub store: Arc<dyn stint_broker::store::Store>,
    webdriver: String,
    chromedriver: Child,
    stop_broker: Option<tokio::sync::oneshot::Sender<()>>,
    /// The serving broker's task, done once it has shut down.
    serving: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// How the broker was started, to start it again (`restart_broker`).
    config: Config,
    _data: tempfile::TempDir,
    profiles: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Stack {
    pub async fn start() -> Stack {
        Stack::start_with(|_| {}).await
    }

    /// With the broker's configuration changed by `tweak` first.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Stack {
        let portal = PathBuf::from(std::env::var("STINT_PORTAL_DIR").expect(
            "STINT_PORTAL_DIR names the built portal; run these tests with `cargo xtask test`",
        ));
        assert!(
            portal.join("index.html").exists(),
            "no built portal in {}; run `cargo xtask portal`",
            portal.display()
        );
        let data = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config::new(format!(
            "sqlite://{}",
            data.path().join("stint.db").display()
        ));
        config.demo = true;
        config.portal_dir = Some(portal);
        config.issuer = base.clone();
        config.public_url = base.clone();
        tweak(&mut config);
        let (store, stop, serving) = serve(config.clone(), listener).await;

        let port = free_port();
        // Its own process group, so the browsers it starts die with it whatever happens.
        let chromedriver = {
            use std::os::unix::process::CommandExt;
            Command::new("/usr/bin/chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("chromedriver (Debian's chromium-driver) is installed")
        };
        let webdriver = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Stack {
            base,
            store,
            webdriver,
            chromedriver,
            stop_broker: Some(stop),
            serving: Some(serving),
            config,
            _data: data,
            profiles: tempfile::tempdir().unwrap(),
        }
    }

    /// A fresh headless Chromium with its own profile: one person at one desk. With
    /// `STINT_SCREENSHOTS_PHONE_DARK` set, a 360 px wide window in dark mode, to look at
    /// pages as a phone in the dark shows them (not for asserting: some tests expect room).
    pub async fn browser(&self) -> Client {
        let phone_dark = std::env::var_os("STINT_SCREENSHOTS_PHONE_DARK").is_some();
        let size = if phone_dark {
            "--window-size=360,800"
        } else {
            "--window-size=1280,900"
        };
        let profile = tempfile::Builder::new()
            .tempdir_in(self.profiles.path())
            .unwrap()
            .keep();
        let mut capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", size,
                    if phone_dark { "--force-dark-mode" } else { "--no-default-browser-check" },
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        if phone_dark {
            // Headless windows are at least 500 px wide: a phone's viewport is emulated.
            capabilities["goog:chromeOptions"]["mobileEmulation"] = json!({
                "deviceMetrics": { "width": 360, "height": 800, "pixelRatio": 2.0 },
            });
        }
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.webdriver)
            .await
            .expect("a Chromium session")
    }

    /// A demo user, as the store knows them.
    pub async fn user(&self, username: &str) -> UserView {
        self.store
            .login_candidate(username)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("the demo has no {username}"))
            .user
    }

    /// Files a one-hour request for `identity` on `resource` (`read`) as `requester`,
    /// straight through the store, to set a scene; its id.
    pub async fn file_via_store(
        &self,
        requester: &UserView,
        identity: &str,
        resource: &str,
        task: &str,
    ) -> i64 {
        let body = self.request_body(requester, identity, resource, task).await;
        self.store
            .file_request(requester, &body, Utc::now(), chrono::Duration::hours(24))
            .await
            .unwrap()
    }

    /// A request of alice's (the demo's owner of `ci-deployer`) for `ci-deployer` on
    /// `payments-db`, waiting for an approver: the request most browser tests decide.
    pub async fn alices_request(&self, task: &str) -> i64 {
        let alice = self.user("alice").await;
        self.file_via_store(&alice, "ci-deployer", "payments-db", task)
            .await
    }

    /// A one-hour request for `identity` on `resource` (`read`), as `requester` would file
    /// it.
    pub async fn request_body(
        &self,
        requester: &UserView,
        identity: &str,
        resource: &str,
        task: &str,
    ) -> NewRequestBody {
        let (identity_id, resource_id) = self.ids(requester, identity, resource).await;
        NewRequestBody {
            identity_id,
            resource_id,
            privilege: "read".into(),
            duration_secs: 3600,
            justification: Justification {
                task: task.into(),
                ticket: Some("OPS-1".into()),
            },
            starts_at: None,
        }
    }

    /// Files as `file_via_store` does and has bob approve: live access for `identity`.
    /// Its request's id.
    pub async fn live_via_store(
        &self,
        requester: &UserView,
        identity: &str,
        resource: &str,
        task: &str,
    ) -> i64 {
        let id = self
            .file_via_store(requester, identity, resource, task)
            .await;
        let bob = self.user("bob").await;
        self.store
            .approve(&bob, id, &Default::default(), Utc::now())
            .await
            .unwrap();
        id
    }

    /// The ids of the identity and resource named, as `viewer` sees them.
    /// `user` takes 30 min of break-glass `write` on payments-db as ci-deployer, for `task`
    /// (and `ticket`), through the store; its review's id.
    pub async fn break_glass_via_store(
        &self,
        user: &UserView,
        task: &str,
        ticket: Option<&str>,
    ) -> i64 {
        let (identity_id, resource_id) = self.ids(user, "ci-deployer", "payments-db").await;
        let body = stint_core::api::BreakGlassBody {
            identity_id,
            resource_id,
            privilege: "write".into(),
            duration_secs: 1800,
            justification: stint_core::rules::Justification {
                task: task.into(),
                ticket: ticket.map(str::to_string),
            },
            password: String::new(),
        };
        let limit = stint_broker::store::BreakGlassLimit {
            max_uses: 3,
            window: chrono::Duration::hours(24),
            takeover_wait: None,
        };
        self.store
            .take_break_glass(user, &body, Utc::now(), limit)
            .await
            .unwrap()
            .review_id
    }

    pub async fn ids(&self, viewer: &UserView, identity: &str, resource: &str) -> (i64, i64) {
        let identity_id = self
            .store
            .identities(viewer, Utc::now())
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.name == identity)
            .unwrap_or_else(|| panic!("no identity {identity}"))
            .id;
        (identity_id, self.resource(resource).await.id)
    }

    pub async fn resource(&self, name: &str) -> stint_core::api::ResourceView {
        self.store
            .resources()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no resource {name}"))
    }

    /// Changes a resource's policy as dave would, straight through the store, to set a
    /// scene: at once, as in a single-admin installation, even where it widens access.
    pub async fn change_policy(
        &self,
        resource: &str,
        change: impl FnOnce(&mut stint_core::Policy),
    ) {
        let dave = self.user("dave").await;
        let current = self.resource(resource).await;
        let mut policy = current.policy.clone();
        change(&mut policy);
        let body = stint_core::api::ResourceBody {
            name: current.name,
            description: current.description,
            privileges: current.privileges,
            policy,
            connector: current.connector,
        };
        self.store
            .update_resource(&dave, current.id, &body, &[], FourEyes::Waived, Utc::now())
            .await
            .unwrap();
    }

    /// `username`, an admin, approves every proposal waiting (as a second admin would on
    /// the Proposals page).
    pub async fn approve_proposals_as(&self, username: &str) {
        let admin = self.user(username).await;
        let connectors = stint_broker::connectors::Connectors::from_file(&self.config.connectors)
            .expect("the connectors the broker started with")
            .views();
        let pending = self
            .store
            .proposals(&admin, Some(stint_core::four_eyes::ProposalState::Pending))
            .await
            .unwrap();
        for proposal in pending {
            self.store
                .approve_proposal(&admin, proposal.id, &connectors, Utc::now())
                .await
                .unwrap();
        }
    }

    /// Stops the broker, as a crash or a network cut would look to the browsers.
    pub fn stop_broker(&mut self) {
        if let Some(stop) = self.stop_broker.take() {
            let _ = stop.send(());
        }
    }

    /// Stops the broker and starts it again on the same address and database, as an
    /// upgrade or a crash and restart would look to the browsers; `while_down` runs
    /// between the two.
    pub async fn restart_broker<F: std::future::Future<Output = ()>>(&mut self, while_down: F) {
        self.stop_broker();
        if let Some(serving) = self.serving.take() {
            serving.await.unwrap().unwrap();
        }
        while_down.await;
        let address = self.base.trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind(&address).await.unwrap();
        let (store, stop, serving) = serve(self.config.clone(), listener).await;
        self.store = store;
        self.stop_broker = Some(stop);
        self.serving = Some(serving);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(stop) = self.stop_broker.take() {
            let _ = stop.send(());
        }
        let pgid = self.chromedriver.id();
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.chromedriver.wait();
    }
}

type Serving = (
    Arc<dyn stint_broker::store::Store>,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
);

/// A broker opened with `config`, serving on `listener` until told to stop.
async fn serve(config: Config, listener: tokio::net::TcpListener) -> Serving {
    let broker = Broker::open(config, Arc::new(SystemClock)).await.unwrap();
    let store = broker.state().store.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(broker.serve(listener, async {
        let _ = stopped.await;
    }));
    (store, stop, serving)
}

/// Waits for the element matching `css`.
pub async fn find(c: &Client, css: &str) -> Element {
    c.wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
}

/// Waits until the element matching `css` reads `expected` (contains it).
pub async fn wait_text(c: &Client, css: &str, expected: &str) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut last = String::new();
    while tokio::time::Instant::now() < deadline {
        if let Ok(el) = c.find(Locator::Css(css)).await
            && let Ok(text) = el.text().await
        {
            if text.contains(expected) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("`{css}` never read `{expected}`; last it read `{last}`")
}

/// The `value` of the field matching `css` (a text area's text). A page that redraws the
/// field between finding and reading it (a live refresh) is read again where it now is.
pub async fn value_of(c: &Client, css: &str) -> String {
    for _ in 0..3 {
        match find(c, css).await.prop("value").await {
            Err(e) if is_redrawn(&e) => {}
            read => return read.unwrap().unwrap_or_default(),
        }
    }
    panic!("`{css}` was redrawn under every attempt to read it");
}

/// Types into what matches `css`; redrawn before the keys reached it, into where it now is.
pub async fn type_into(c: &Client, css: &str, text: &str) {
    for _ in 0..3 {
        if !redrawn(find(c, css).await.send_keys(text).await) {
            return;
        }
    }
    panic!("`{css}` was redrawn under every attempt to type into it");
}

/// Clicks what matches `css`. A page that redraws between finding and clicking (a live
/// refresh) is clicked again where it now is, as a person's click would land there.
pub async fn click(c: &Client, css: &str) {
    for _ in 0..3 {
        if !redrawn(find(c, css).await.click().await) {
            return;
        }
    }
    panic!("`{css}` was redrawn under every click");
}

/// Whether an action on an element failed because the page had redrawn it; any other
/// failure fails the test.
fn redrawn(done: Result<(), fantoccini::error::CmdError>) -> bool {
    match done {
        Err(e) if is_redrawn(&e) => true,
        done => {
            done.unwrap();
            false
        }
    }
}

/// Whether WebDriver refused because the element it was given is no longer on the page.
fn is_redrawn(e: &fantoccini::error::CmdError) -> bool {
    matches!(e, fantoccini::error::CmdError::Standard(e)
        if e.error == fantoccini::error::ErrorStatus::StaleElementReference)
}

pub async fn sign_in(c: &Client, stack: &Stack, username: &str) {
    c.goto(&stack.url("/")).await.unwrap();
    type_into(c, "[data-testid=username]", username).await;
    type_into(c, "[data-testid=password]", stint_broker::demo::PASSWORD).await;
    click(c, "[data-testid=sign-in]").await;
    find(c, "[data-testid=signed-in-user]").await;
}

/// Saves a screenshot when STINT_SCREENSHOTS names a directory (for looking at pages).
pub async fn screenshot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("STINT_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).unwrap();
    }
}

/// The Performance API mark `name` the page set (milliseconds since its navigation began),
/// waited for.
pub async fn performance_mark(c: &Client, name: &str) -> f64 {
    let script = "const m = performance.getEntriesByName(arguments[0]);\
                  return m.length ? m[0].startTime : null;";
    for _ in 0..200 {
        let mark = c.execute(script, vec![json!(name)]).await.unwrap();
        if let Some(ms) = mark.as_f64() {
            return ms;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the page never set the mark {name}");
}

/// The API reads the page began before `before` (ms since navigation), as (path, what
/// began it: `link` for a preload, `fetch` for the portal's own), in the order they began.
/// Only answered reads are listed (the Resource Timing API lists a read once it is done).
pub async fn api_reads(c: &Client, before: f64) -> Vec<(String, String)> {
    fetched(
        c,
        "path.startsWith('/api/') && e.startTime < arguments[0]",
        before,
    )
    .await
}

/// The portal's code files (`.wasm`) the page fetched, as (path, what began it: `link` for
/// index.html's preload, `fetch` for the portal's own), in the order they began.
pub async fn code_files(c: &Client) -> Vec<(String, String)> {
    fetched(c, "path.endsWith('.wasm')", 0.0).await
}

/// What the page fetched, by the Resource Timing API, as (path, what began it), for the
/// entries `filter` (JavaScript over the entry `e`, its `path` and `arguments[0]`, which is
/// `argument`) keeps.
async fn fetched(c: &Client, filter: &str, argument: f64) -> Vec<(String, String)> {
    let script = format!(
        "return performance.getEntriesByType('resource')
            .map(e => [e, new URL(e.name).pathname])
            .filter(([e, path]) => {filter})
            .map(([e, path]) => [path, e.initiatorType]);"
    );
    let entries = c.execute(&script, vec![json!(argument)]).await.unwrap();
    serde_json::from_value(entries).unwrap()
}

/// A Chrome DevTools Protocol command, sent through chromedriver's `goog/cdp/execute`
/// (network emulation and the cache have no WebDriver command of their own).
#[derive(Debug)]
struct DevTools {
    method: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.method, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Runs DevTools' `method` (e.g. `Network.clearBrowserCache`) in the browser `c` drives.
pub async fn devtools(c: &Client, method: &'static str, params: Value) -> Value {
    c.issue_cmd(DevTools { method, params })
        .await
        .unwrap_or_else(|e| panic!("DevTools {method}: {e}"))
}

/// Presses and releases one key, as a person at the keyboard would.
pub async fn press(c: &Client, key: char) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    c.perform_actions(keys).await.unwrap();
}

/// Files a request from the form and returns its id (from the detail page's URL).
pub async fn file_request(
    c: &Client,
    stack: &Stack,
    identity: &str,
    resource: &str,
    task: &str,
) -> i64 {
    c.goto(&stack.url("/requests/new")).await.unwrap();
    find(c, "[data-testid=identity]")
        .await
        .select_by_label(identity)
        .await
        .unwrap();
    find(c, "[data-testid=resource]")
        .await
        .select_by_label(resource)
        .await
        .unwrap();
    type_into(c, "[data-testid=task]", task).await;
    type_into(c, "[data-testid=ticket]", "OPS-4711").await;
    screenshot(c, "new-request").await;
    click(c, "[data-testid=submit-request]").await;
    wait_text(c, "[data-testid=request-state]", "pending").await;
    let url = c.current_url().await.unwrap();
    url.path().rsplit('/').next().unwrap().parse().unwrap()
}

/// A webhook receiver on loopback: it takes every call (200) while `refusing` is false and
/// answers 503 while it is true, counting both.
#[derive(Clone)]
pub struct Receiver {
    pub port: u16,
    pub refusing: Arc<std::sync::atomic::AtomicBool>,
    pub refused: Arc<std::sync::atomic::AtomicUsize>,
    pub taken: Arc<std::sync::atomic::AtomicUsize>,
}

impl Receiver {
    pub async fn start(refusing: bool) -> Receiver {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            port: listener.local_addr().unwrap().port(),
            refusing: Arc::new(refusing.into()),
            refused: Arc::default(),
            taken: Arc::default(),
        };
        let counts = receiver.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counts = counts.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 64 * 1024];
                    // One small request per connection: headers and JSON body arrive together.
                    if socket.read(&mut buffer).await.unwrap_or(0) > 0 {
                        let answer: &[u8] = if counts.refusing.load(Ordering::SeqCst) {
                            counts.refused.fetch_add(1, Ordering::SeqCst);
                            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        } else {
                            counts.taken.fetch_add(1, Ordering::SeqCst);
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        };
                        let _ = socket.write_all(answer).await;
                    }
                });
            }
        });
        receiver
    }

    pub fn refuse(&self, refusing: bool) {
        self.refusing
            .store(refusing, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn taken(&self) -> usize {
        self.taken.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn refused(&self) -> usize {
        self.refused.load(std::sync::atomic::Ordering::SeqCst)
    }
}
