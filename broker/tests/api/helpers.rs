//! A broker on a fresh database of its own — an SQLite file, or with
//! `STINT_TEST_DATABASE=postgres` a new database in the PostgreSQL cluster named by
//! `STINT_TEST_POSTGRES_URL` — driven through its router without a socket, with a clock the
//! test moves.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use stint_broker::Broker;
use stint_broker::clock::ManualClock;
use stint_broker::config::Config;
use stint_broker::store::{FourEyes, SweepReport};
use tower::ServiceExt;

pub struct TestApp {
    pub broker: Broker,
    pub router: axum::Router,
    pub clock: Arc<ManualClock>,
    pub db_url: String,
    pub dir: tempfile::TempDir,
}

/// A signed-in user: the session cookie to send.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
}

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

impl TestApp {
    /// A demo-seeded broker on its own database.
    pub async fn new() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db_url = fresh_database(dir.path()).await;
        let clock = Arc::new(ManualClock::new(start_time()));
        Self::open(dir, db_url, clock).await
    }

    pub async fn open(dir: tempfile::TempDir, db_url: String, clock: Arc<ManualClock>) -> TestApp {
        Self::open_with(dir, db_url, clock, |_| {}).await
    }

    /// A demo-seeded broker on `clock` whose configuration `tweak` changes.
    pub async fn with_clock_and_config(
        clock: Arc<ManualClock>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db_url = fresh_database(dir.path()).await;
        Self::open_with(dir, db_url, clock, tweak).await
    }

    /// A demo-seeded broker whose configuration `tweak` changes.
    pub async fn with_config(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db_url = fresh_database(dir.path()).await;
        let clock = Arc::new(ManualClock::new(start_time()));
        Self::open_with(dir, db_url, clock, tweak).await
    }

    async fn open_with(
        dir: tempfile::TempDir,
        db_url: String,
        clock: Arc<ManualClock>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        let mut config = Config::new(db_url.clone());
        config.demo = true;
        config.issuer = "https://stint.test".into();
        // Where an SQLite database keeps its key file by default; PostgreSQL has no default.
        config.key_file = Some(dir.path().join("stint.key"));
        tweak(&mut config);
        let broker = Broker::open(config, clock.clone()).await.unwrap();
        let router = broker.router().unwrap();
        TestApp {
            broker,
            router,
            clock,
            db_url,
            dir,
        }
    }

    /// Another broker on this database, as a second replica would be: its own
    /// connections, router and copy of the key file; the same clock.
    pub async fn replica(&self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            self.dir.path().join("stint.key"),
            dir.path().join("stint.key"),
        )
        .unwrap();
        Self::open(dir, self.db_url.clone(), self.clock.clone()).await
    }

    /// A configuration for another broker on this database, with its key file.
    pub fn config(&self) -> Config {
        let mut config = Config::new(self.db_url.clone());
        config.key_file = Some(self.dir.path().join("stint.key"));
        config
    }

    /// Stops this broker and starts another on the same database, as a restart would.
    pub async fn restart(self) -> TestApp {
        let TestApp {
            broker,
            router,
            clock,
            db_url,
            dir,
        } = self;
        drop(router);
        drop(broker);
        Self::open(dir, db_url, clock).await
    }

    /// The broker's time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.broker.state().clock.now()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub async fn sweep(&self) -> SweepReport {
        let state = self.broker.state();
        state.store.sweep(state.clock.now()).await.unwrap()
    }

    /// Raw SQL against the database, as an operator (or attacker) with access to it would.
    /// Statements use `$N` parameters, which both backends accept.
    pub async fn sql_pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.db_url).await.unwrap()
    }

    pub async fn count(&self, table: &str) -> i64 {
        let pool = self.sql_pool().await;
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, headers, body)
    }

    /// A browser-like call: session cookie and CSRF header.
    pub async fn call(
        &self,
        session: Option<&Session>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_from(session, method, path, body, None).await
    }

    /// A browser-like call arriving from the TCP peer `peer`, when given.
    pub async fn call_from(
        &self,
        session: Option<&Session>,
        method: Method,
        path: &str,
        body: Option<Value>,
        peer: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("x-stint-csrf", "1");
        if let Some(s) = session {
            request = request.header(header::COOKIE, &s.cookie);
        }
        let mut request = match body {
            Some(b) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        with_peer(&mut request, peer);
        let (status, _, body) = self.send(request).await;
        (status, body)
    }

    /// A machine's call: `Authorization: Bearer token`, no cookie and no CSRF header.
    pub async fn bearer(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let request = match body {
            Some(b) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        self.send(request).await
    }

    /// A signed-in GET whose headers the test reads too.
    pub async fn call_raw(
        &self,
        session: &Session,
        path: &str,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::COOKIE, &session.cookie)
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    pub async fn get(&self, session: &Session, path: &str) -> (StatusCode, Value) {
        self.call(Some(session), Method::GET, path, None).await
    }

    pub async fn post(&self, session: &Session, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(session), Method::POST, path, Some(body))
            .await
    }

    pub async fn put(&self, session: &Session, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(session), Method::PUT, path, Some(body))
            .await
    }

    /// An admin's change as `admin` makes it. One that widens access waits as a proposal
    /// (202), which a second demo admin (grace, or dave for hers) then approves: the answer
    /// is what the change answers once applied, the record as it now is.
    pub async fn admin_change(
        &self,
        admin: &Session,
        method: Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let (status, proposal) = self.call(Some(admin), method, path, Some(body)).await;
        if status != StatusCode::ACCEPTED {
            return (status, proposal);
        }
        let second = if proposal["proposed_by"]["name"] == "grace" {
            "dave"
        } else {
            "grace"
        };
        let second = self.login(second).await;
        let approve = format!("/api/v1/proposals/{}/approve", proposal["id"]);
        let (status, approved) = self.post(&second, &approve, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{approved}");
        let change = &approved["change"];
        let (status, resource_id, user_id) = match change["kind"].as_str().unwrap() {
            "resource_create" => (StatusCode::CREATED, &approved["created_id"], &Value::Null),
            "resource_update" => (StatusCode::OK, &change["resource_id"], &Value::Null),
            "user_create" => (StatusCode::CREATED, &Value::Null, &approved["created_id"]),
            "user_update" => (StatusCode::OK, &Value::Null, &change["user"]["id"]),
            other => panic!("no such change: {other}"),
        };
        if resource_id.is_null() {
            let (_, users) = self.get(&second, "/api/v1/users").await;
            let user = users
                .as_array()
                .unwrap()
                .iter()
                .find(|u| &u["id"] == user_id);
            (status, user.unwrap().clone())
        } else {
            let path = format!("/api/v1/resources/{resource_id}");
            (status, self.get(&second, &path).await.1)
        }
    }

    /// The actions of the audit events about `target` (e.g. `identity 3`), oldest first,
    /// with their actors.
    pub async fn events_about(&self, target: &str) -> Vec<(String, String)> {
        let dave = self.login("dave").await;
        let (status, page) = self.get(&dave, "/api/v1/audit?limit=500").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut events: Vec<(String, String)> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["target"] == target)
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap().to_string();
                (s("actor"), s("action"))
            })
            .collect();
        events.reverse();
        events
    }

    pub async fn login(&self, username: &str) -> Session {
        let (status, headers, body) = self.login_raw(username, "stint-demo", None).await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        session_from(&headers)
    }

    pub async fn login_raw(
        &self,
        username: &str,
        password: &str,
        cookie: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        self.login_from(username, password, cookie, None).await
    }

    /// A sign-in as it arrives from the TCP peer `peer`, when given.
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        cookie: Option<&str>,
        peer: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/session")
            .header("x-stint-csrf", "1")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = cookie {
            request = request.header(header::COOKIE, c);
        }
        let body = json!({ "username": username, "password": password }).to_string();
        let mut request = request.body(Body::from(body)).unwrap();
        with_peer(&mut request, peer);
        self.send(request).await
    }

    /// A user made outside the API (as the demo seed makes them), owning the identities
    /// named; their id and session.
    pub async fn seed_user(
        &self,
        username: &str,
        roles: &[stint_core::Role],
        owns: &[&str],
    ) -> (i64, Session) {
        let state = self.broker.state();
        let now = state.clock.now();
        let hash = stint_broker::password::hash(stint_broker::demo::PASSWORD);
        let user = stint_broker::store::NewUser {
            username,
            display_name: username,
            password_hash: &hash,
            roles,
        };
        let id = state
            .store
            .create_user(None, &user, FourEyes::Required, now)
            .await
            .unwrap()
            .applied()
            .unwrap();
        let view = stint_core::api::UserView {
            id,
            username: username.into(),
            display_name: username.into(),
            roles: roles.to_vec(),
            identity_id: None,
            via: None,
            vouched_by: None,
        };
        let dave = self.login("dave").await;
        for identity in owns {
            let identity = self.id_of(&dave, "identities", identity).await;
            state
                .store
                .seed_ownership(identity, &view, "I run it", now + Duration::days(30), now)
                .await
                .unwrap();
        }
        (id, self.login(username).await)
    }

    /// The id of the named identity or resource.
    pub async fn id_of(&self, session: &Session, kind: &str, name: &str) -> i64 {
        let (_, list) = self.get(session, &format!("/api/v1/{kind}")).await;
        list.as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} named {name}"))["id"]
            .as_i64()
            .unwrap()
    }

    /// A valid request body for `identity` on `resource`.
    pub async fn request_body(
        &self,
        session: &Session,
        identity: &str,
        resource: &str,
        privilege: &str,
        duration_secs: i64,
    ) -> Value {
        json!({
            "identity_id": self.id_of(session, "identities", identity).await,
            "resource_id": self.id_of(session, "resources", resource).await,
            "privilege": privilege,
            "duration_secs": duration_secs,
            "justification": { "task": "Rotate the ledger encryption keys", "ticket": "OPS-1234" },
        })
    }

    /// Files a request and returns its id.
    pub async fn file(
        &self,
        session: &Session,
        identity: &str,
        resource: &str,
        privilege: &str,
        duration_secs: i64,
    ) -> i64 {
        let body = self
            .request_body(session, identity, resource, privilege, duration_secs)
            .await;
        let (status, created) = self.post(session, "/api/v1/requests", body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["id"].as_i64().unwrap()
    }

    /// Files for ci-deployer on payments-db (1 approval), has bob approve; the grant id.
    pub async fn active_grant(&self, alice: &Session, duration_secs: i64) -> i64 {
        let id = self
            .file(alice, "ci-deployer", "payments-db", "read", duration_secs)
            .await;
        let bob = self.login("bob").await;
        let (status, detail) = self
            .post(&bob, &format!("/api/v1/requests/{id}/approve"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        detail["grant"]["id"].as_i64().unwrap()
    }

    /// Fetches a credential for `grant` as `session`; the response body.
    pub async fn credential(&self, session: &Session, grant: i64) -> (StatusCode, Value) {
        let path = format!("/api/v1/grants/{grant}/credential");
        self.call(Some(session), Method::POST, &path, None).await
    }

    /// New introspection client credentials for `resource` (made by dave, an admin): the
    /// secret its servers introspect with.
    pub async fn introspection_secret(&self, resource: &str) -> String {
        let dave = self.login("dave").await;
        let id = self.id_of(&dave, "resources", resource).await;
        let path = format!("/api/v1/resources/{id}/introspection-credentials");
        let (status, created) = self.call(Some(&dave), Method::POST, &path, None).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["client_secret"].as_str().unwrap().to_string()
    }

    /// Introspects `token` as a resource's server does, with its `secret`, from `peer`.
    pub async fn introspect_as_resource(&self, secret: &str, token: &str, peer: &str) -> Value {
        let mut request = Request::post("/api/v1/introspect")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .body(Body::from(json!({ "token": token }).to_string()))
            .unwrap();
        with_peer(&mut request, Some(peer));
        let (status, _, body) = self.send(request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Introspects `token` as an auditor would, with a session: any grant is theirs to see.
    pub async fn introspect(&self, token: &str) -> Value {
        let dave = self.login("dave").await;
        let (status, body) = self
            .post(&dave, "/api/v1/introspect", json!({ "token": token }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// Runs the `stint` command line on `app`'s database (and the key file beside an SQLite
/// one; a PostgreSQL database's key file is named in `STINT_KEY_FILE`, as an operator would).
pub fn stint_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stint"));
    cmd.args(args)
        .args(["--database", &app.db_url])
        .env_remove("STINT_KEY_FILE");
    if on_postgres() {
        cmd.env("STINT_KEY_FILE", app.dir.path().join("stint.key"));
    }
    cmd.output().unwrap()
}

/// Whether this run is on PostgreSQL (`STINT_TEST_DATABASE=postgres`) rather than SQLite.
pub fn on_postgres() -> bool {
    match std::env::var("STINT_TEST_DATABASE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("STINT_TEST_DATABASE is sqlite or postgres, not {other}"),
    }
}

/// A database of its own for one test: an SQLite file in `dir`, or a new database in the
/// cluster of `STINT_TEST_POSTGRES_URL` (an administrator's URL, e.g.
/// `postgres://postgres@127.0.0.1:5433/postgres`).
pub async fn fresh_database(dir: &std::path::Path) -> String {
    if !on_postgres() {
        return format!("sqlite://{}", dir.join("stint.db").display());
    }
    use sqlx::Connection;
    let admin_url = std::env::var("STINT_TEST_POSTGRES_URL")
        .expect("STINT_TEST_POSTGRES_URL names the test cluster (cargo xtask test sets it)");
    let name = format!("stint_test_{}", hex::encode(rand_bytes()));
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// Drops what keeps the audit trail append-only, as someone with the database's owner
/// rights could: tests of what verification catches tamper after this.
pub async fn drop_append_only_guards(pool: &sqlx::AnyPool) {
    let statements: &[&str] = if on_postgres() {
        &[
            "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
            "DROP TRIGGER IF EXISTS audit_checkpoints_append_only ON audit_checkpoints",
        ]
    } else {
        &[
            "DROP TRIGGER IF EXISTS audit_events_no_update",
            "DROP TRIGGER IF EXISTS audit_events_no_delete",
            "DROP TRIGGER IF EXISTS audit_checkpoints_no_delete",
        ]
    };
    for statement in statements {
        sqlx::query(*statement).execute(pool).await.unwrap();
    }
}

pub fn rand_bytes() -> [u8; 8] {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    bytes
}

/// Makes `request` arrive from `peer`, as the server's socket would report it.
fn with_peer(request: &mut Request<Body>, peer: Option<&str>) {
    if let Some(ip) = peer {
        let addr: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
    }
}

/// The seconds a refusal's `Retry-After` asks the caller to wait.
pub fn retry_after(headers: &axum::http::HeaderMap) -> i64 {
    headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

pub fn session_from(headers: &axum::http::HeaderMap) -> Session {
    let set_cookie = headers
        .get(header::SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .unwrap();
    Session {
        cookie: set_cookie.split(';').next().unwrap().to_string(),
    }
}

/// A `stint serve` process on a free loopback port; killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(db_url: &str, key_file: &Path, demo: bool) -> Server {
        Server::start_with(db_url, key_file, demo, &[], &[])
    }

    /// With more arguments and environment variables.
    pub fn start_with(
        db_url: &str,
        key_file: &Path,
        demo: bool,
        args: &[String],
        env: &[(&str, String)],
    ) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stint"));
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database", db_url])
            .arg("--key-file")
            .arg(key_file)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        // Its warnings, when a test is being looked into.
        if std::env::var_os("STINT_TEST_SERVER_LOGS").is_none() {
            cmd.stderr(Stdio::null());
        }
        if demo {
            cmd.arg("--demo");
        }
        cmd.args(args);
        for (name, value) in env {
            cmd.env(name, value);
        }
        Server {
            child: cmd.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn wait_healthy(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the broker exited: {status}");
            }
            if ureq::get(format!("{}/healthz", self.base)).call().is_ok() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the broker never answered"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str) -> serde_json::Value {
        let body = ureq::get(format!("{}{path}", self.base))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap();
        serde_json::from_str(&body).unwrap()
    }

    pub fn kill(&mut self) {
        // SIGKILL: no shutdown, no rollback by the broker itself.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Stops a server on loopback (a broker, a provider, an issuer) when dropped.
pub struct StopOnDrop(Option<tokio::sync::oneshot::Sender<()>>);

impl StopOnDrop {
    /// The guard, and the signal that completes when it is dropped.
    pub fn new() -> (
        StopOnDrop,
        impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        (StopOnDrop(Some(stop)), async {
            let _ = stopped.await;
        })
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `app` on `listener` until the returned guard is dropped.
pub fn serve_router(listener: tokio::net::TcpListener, app: axum::Router) -> StopOnDrop {
    let (stop, stopped) = StopOnDrop::new();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
            .unwrap();
    });
    stop
}

/// The test broker's database, served on a free loopback port until dropped.
pub struct Served {
    pub url: String,
    _stop: StopOnDrop,
}

pub async fn serve(app: &TestApp) -> Served {
    serve_with(app, |_| {}).await
}

/// Serves the test broker's database with its configuration changed by `tweak`.
pub async fn serve_with(
    app: &TestApp,
    tweak: impl FnOnce(&mut stint_broker::config::Config),
) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = StopOnDrop::new();
    let mut config = app.config();
    tweak(&mut config);
    let broker = stint_broker::Broker::open(config, app.clock.clone())
        .await
        .unwrap();
    tokio::spawn(broker.serve(listener, stopped));
    Served { url, _stop: stop }
}

/// A person's blocking calls to a broker process, with the session cookie and CSRF header.
pub struct Http(pub String);

impl Http {
    /// Signs in as a demo user; the session cookie.
    pub fn login(&self, username: &str) -> String {
        let answer = ureq::post(format!("{}/api/v1/session", self.0))
            .header("x-stint-csrf", "1")
            .header("content-type", "application/json")
            .send(
                json!({ "username": username, "password": stint_broker::demo::PASSWORD })
                    .to_string(),
            )
            .unwrap();
        answer
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("stint_session="))
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_string()
    }

    pub fn call(&self, cookie: &str, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.0);
        let answer = match method {
            "GET" => ureq::get(&url).header("cookie", cookie).call(),
            "PUT" => ureq::put(&url)
                .header("cookie", cookie)
                .header("x-stint-csrf", "1")
                .header("content-type", "application/json")
                .send(body.unwrap_or_default().to_string()),
            _ => ureq::post(&url)
                .header("cookie", cookie)
                .header("x-stint-csrf", "1")
                .header("content-type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let text = answer.into_body().read_to_string().unwrap();
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// Files a request for `identity` on `resource` (`read`, with a ticket) as the person of
    /// `cookie`; the request.
    pub fn file(&self, cookie: &str, identity: &str, resource: &str, duration_secs: i64) -> Value {
        self.call(
            cookie,
            "POST",
            "/api/v1/requests",
            Some(json!({
                "identity_id": self.id_of(cookie, "identities", identity),
                "resource_id": self.id_of(cookie, "resources", resource),
                "privilege": "read",
                "duration_secs": duration_secs,
                "justification": { "task": "Run the nightly ledger reconciliation", "ticket": "OPS-7" },
            })),
        )
    }

    pub fn id_of(&self, cookie: &str, kind: &str, name: &str) -> i64 {
        self.call(cookie, "GET", &format!("/api/v1/{kind}"), None)
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    /// The grant's `access` once `done` holds of it (within 30 s).
    pub fn wait_for_access(
        &self,
        cookie: &str,
        grant: i64,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let access =
                self.call(cookie, "GET", &format!("/api/v1/grants/{grant}"), None)["access"]
                    .clone();
            if done(&access) {
                return access;
            }
            assert!(std::time::Instant::now() < deadline, "still {access}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
