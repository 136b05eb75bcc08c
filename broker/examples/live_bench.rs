//! The live feed under many readers: 1,000 clients hold `GET /api/v1/events` open on one
//! broker (a `stint serve` process, release build, SQLite) while alice files requests one
//! after another. Measures, for every (change, reader) pair, how long after the filing
//! call was sent the reader had the event — so it includes the write itself — and the
//! broker's resident memory per connected reader. Run by `cargo xtask bench`.
//!
//! `live_bench [READERS] [CHANGES]`, by default 1000 and 100.

// Each benchmark uses part of what they share.
#[allow(dead_code)]
mod bench_support;

use anyhow::{Context, ensure};
use bench_support::{Broker, Session, call, file_body, http, login, percentile};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let readers: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(1000);
    let changes: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(100);
    let bin = std::env::var("STINT_BIN").context("STINT_BIN names the stint binary")?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let key = dir.path().join("stint.key");
    let mut broker = Broker::start(&bin, &url, &["--demo", "--key-file", key.to_str().unwrap()])?;
    broker.wait_until_serving(Duration::from_secs(60)).await?;
    let client = http();
    let bob = login(&client, &broker.base, "bob").await?;
    let alice = login(&client, &broker.base, "alice").await?;
    // Settle what start-up allocated before measuring what readers add.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = broker.rss_kib()?;

    // Every reader reports (request id, when it heard) on one channel.
    let (heard, mut hearings) = mpsc::unbounded_channel::<(i64, Instant)>();
    let (ready, mut readies) = mpsc::unbounded_channel::<()>();
    let mut tasks = Vec::new();
    for _ in 0..readers {
        tasks.push(tokio::spawn(read_feed(
            broker.base.clone(),
            bob.clone(),
            heard.clone(),
            ready.clone(),
        )));
    }
    for _ in 0..readers {
        tokio::time::timeout(Duration::from_secs(60), readies.recv())
            .await
            .context("every reader connects within a minute")?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_with_readers = broker.rss_kib()?;

    let mut sent_at = std::collections::HashMap::new();
    for _ in 0..changes {
        let started = Instant::now();
        let (status, filed) = call(
            &client,
            &broker.base,
            "POST",
            "/api/v1/requests",
            Some(&alice),
            Some(file_body()),
        )
        .await?;
        ensure!(status == 201, "filing failed: {status} {filed}");
        sent_at.insert(filed["id"].as_i64().context("an id")?, started);
        // One change at a time, as people make them: each is measured on its own.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut lags = Vec::with_capacity(readers * changes);
    let deadline = Instant::now() + Duration::from_secs(60);
    while lags.len() < readers * changes {
        let left = deadline.saturating_duration_since(Instant::now());
        let (request, at) = tokio::time::timeout(left, hearings.recv())
            .await
            .context("every reader hears of every change within a minute")?
            .context("the readers are gone")?;
        if let Some(sent) = sent_at.get(&request) {
            lags.push(at.duration_since(*sent).as_secs_f64() * 1000.0);
        }
    }
    lags.sort_by(f64::total_cmp);
    for task in tasks {
        task.abort();
    }
    broker.stop()?;

    let per_reader = rss_with_readers.saturating_sub(rss_before) as f64 / readers as f64;
    println!(
        "| readers | changes | p50 | p99 | max | broker RSS idle | with readers | per reader |"
    );
    println!(
        "|--------:|--------:|----:|----:|----:|----------------:|-------------:|-----------:|"
    );
    println!(
        "| {readers} | {changes} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB | {:.1} MiB | {per_reader:.1} KiB |",
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or_default(),
        rss_before as f64 / 1024.0,
        rss_with_readers as f64 / 1024.0,
    );
    Ok(())
}

/// Holds the feed open as `session`, reporting each `request.filed` it hears.
async fn read_feed(
    base: String,
    session: Session,
    heard: mpsc::UnboundedSender<(i64, Instant)>,
    ready: mpsc::UnboundedSender<()>,
) -> anyhow::Result<()> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut request = axum::http::Request::get(format!("{base}/api/v1/events"));
    for (name, value) in session.headers() {
        request = request.header(name, value);
    }
    let response = client.request(request.body(Empty::new())?).await?;
    ensure!(
        response.status() == 200,
        "the feed answered {}",
        response.status()
    );
    let mut body = response.into_body();
    let mut buffer = String::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        let at = Instant::now();
        buffer.push_str(std::str::from_utf8(&data)?);
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if block.contains("event: ready") {
                let _ = ready.send(());
            }
            if block.contains("event: request.filed")
                && let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: "))
            {
                let event: serde_json::Value = serde_json::from_str(data)?;
                if let Some(id) = event["request_id"].as_i64() {
                    let _ = heard.send((id, at));
                }
            }
        }
    }
    Ok(())
}
