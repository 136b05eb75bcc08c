//! What the broker's benchmarks share: `stint serve` processes on loopback, signing in,
//! and a bounded load generator that reports percentiles.

use anyhow::{Context, anyhow, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub mod wrk;

pub type Http = Client<HttpConnector, Full<Bytes>>;

pub fn http() -> Http {
    Client::builder(TokioExecutor::new()).build_http()
}

pub fn percentile<T: Copy>(sorted: &[T], q: f64) -> T {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// A `stint serve` process on a free loopback port; killed when dropped.
pub struct Broker {
    pub child: Child,
    pub base: String,
}

impl Broker {
    /// Starts `bin serve` on `url`, with `extra` flags.
    pub fn start(bin: &str, url: &str, extra: &[&str]) -> anyhow::Result<Broker> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(bin)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
                url,
                // The bench measures the broker, not its per-caller budgets.
                "--introspection-rate",
                "4000000000",
                "--token-exchange-rate",
                "4000000000",
            ])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {bin}"))?;
        Ok(Broker {
            child,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    pub async fn wait_until_serving(
        &mut self,
        patience: std::time::Duration,
    ) -> anyhow::Result<()> {
        let http = http();
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Ok((200, _)) = call(&http, &self.base, "GET", "/healthz", None, None).await {
                return Ok(());
            }
            ensure!(self.child.try_wait()?.is_none(), "the broker exited");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        Err(anyhow!("the broker did not serve within {patience:?}"))
    }

    pub fn status_kib(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow!("no {field} in /proc"))
    }

    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        self.status_kib("VmRSS:")
    }

    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        self.status_kib("VmHWM:")
    }

    /// Stops it as an operator would (SIGTERM: in-flight calls finish, a checkpoint is taken).
    pub fn stop(&mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a bench call authenticates: the headers it sends besides the CSRF header.
#[derive(Clone)]
pub struct Session(Vec<(String, String)>);

impl Session {
    /// A signed-in person: their session cookie.
    pub fn cookie(cookie: &str) -> Session {
        Session(vec![("Cookie".into(), cookie.into())])
    }

    /// A resource server introspecting with its client credentials (HTTP Basic).
    pub fn client(id: &str, secret: &str) -> Session {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        Session(vec![("Authorization".into(), format!("Basic {basic}"))])
    }

    /// No credentials at all (a token exchange authenticates by its body).
    pub fn none() -> Session {
        Session(Vec::new())
    }

    /// A pipeline or agent with its identity's API token.
    pub fn bearer(token: &str) -> Session {
        Session(vec![("Authorization".into(), format!("Bearer {token}"))])
    }

    /// Its headers, with the CSRF header every state-changing call from a browser carries.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = self.0.clone();
        headers.push(("x-stint-csrf".into(), "1".into()));
        headers
    }
}

pub async fn login(http: &Http, base: &str, user: &str) -> anyhow::Result<Session> {
    let body = json!({ "username": user, "password": stint_broker::demo::PASSWORD });
    let request = axum::http::Request::post(format!("{base}/api/v1/session"))
        .header("content-type", "application/json")
        .header("x-stint-csrf", "1")
        .body(Full::new(Bytes::from(body.to_string())))?;
    let response = http.request(request).await?;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow!("{user} could not sign in: {}", response.status()))?;
    Ok(Session::cookie(cookie))
}

pub async fn call(
    http: &Http,
    base: &str,
    method: &str,
    path: &str,
    session: Option<&Session>,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("x-stint-csrf", "1");
    for (name, value) in session.map(|s| s.0.as_slice()).unwrap_or_default() {
        request = request.header(name, value);
    }
    let body = match body {
        Some(b) => {
            request = request.header("content-type", "application/json");
            Full::new(Bytes::from(b.to_string()))
        }
        None => Full::new(Bytes::new()),
    };
    let response = http.request(request.body(body)?).await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

/// Client credentials for payments-db, made by dave (an admin), as its server would hold.
pub async fn resource_server(base: &str) -> anyhow::Result<Session> {
    let http = http();
    let dave = login(&http, base, "dave").await?;
    let (status, client) = call(
        &http,
        base,
        "POST",
        "/api/v1/resources/1/introspection-credentials",
        Some(&dave),
        None,
    )
    .await?;
    ensure!(status == 201, "no introspection credentials: {client}");
    Ok(Session::client(
        client["client_id"].as_str().unwrap_or_default(),
        client["client_secret"].as_str().unwrap_or_default(),
    ))
}

/// One kind of call: the `i`th call's path and body come from `make`.
pub struct Scenario {
    pub name: &'static str,
    method: &'static str,
    session: Option<Session>,
    make: Arc<dyn Fn(usize) -> (String, Option<Value>) + Send + Sync>,
}

pub struct Figures {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub per_sec: f64,
}

impl Scenario {
    pub fn new(
        name: &'static str,
        method: &'static str,
        session: Option<Session>,
        make: impl Fn(usize) -> (String, Option<Value>) + Send + Sync + 'static,
    ) -> Scenario {
        Scenario {
            name,
            method,
            session,
            make: Arc::new(make),
        }
    }

    /// `calls` calls to `base` shared by `concurrency` workers; every call must succeed.
    pub async fn run(
        &self,
        http: &Http,
        base: &str,
        concurrency: usize,
        calls: usize,
    ) -> anyhow::Result<Figures> {
        self.run_across(http, &[base.to_string()], concurrency, calls)
            .await
    }

    /// As `run`, the `i`th call going to `bases[i % n]`, as a load balancer would spread
    /// them over replicas.
    pub async fn run_across(
        &self,
        http: &Http,
        bases: &[String],
        concurrency: usize,
        calls: usize,
    ) -> anyhow::Result<Figures> {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut workers = Vec::new();
        let bases: Arc<[String]> = bases.into();
        for _ in 0..concurrency {
            let (http, bases, next) = (http.clone(), bases.clone(), next.clone());
            let (method, session, make) = (self.method, self.session.clone(), self.make.clone());
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= calls {
                        return Ok::<_, anyhow::Error>(latencies);
                    }
                    let (path, body) = make(i);
                    let at = Instant::now();
                    let base = &bases[i % bases.len()];
                    let (status, answer) =
                        call(&http, base, method, &path, session.as_ref(), body).await?;
                    latencies.push(at.elapsed().as_secs_f64() * 1000.0);
                    ensure!(
                        (200..300).contains(&status),
                        "{method} {path}: {status} {answer}"
                    );
                }
            }));
        }
        let mut latencies = Vec::with_capacity(calls);
        for worker in workers {
            latencies.extend(worker.await??);
        }
        let wall = started.elapsed().as_secs_f64();
        latencies.sort_by(|a, b| a.total_cmp(b));
        Ok(Figures {
            p50_ms: percentile(&latencies, 0.5),
            p99_ms: percentile(&latencies, 0.99),
            per_sec: calls as f64 / wall,
        })
    }
}

/// A valid request by alice for ci-deployer on payments-db (the demo's first of each).
pub fn file_body() -> Value {
    json!({
        "identity_id": 1, "resource_id": 1, "privilege": "read", "duration_secs": 600,
        "justification": { "task": "Rotate the ledger encryption keys", "ticket": "OPS-1" },
    })
}
