//! Load from outside the broker's process: Debian's `wrk`, one thread driving `c`
//! connections through a Lua script that cycles through prepared calls. Its own CPU time is
//! measured too, as evidence that the load tool was not the limit.

use anyhow::{Context, anyhow, ensure};
use std::fmt::Write as _;
use std::process::Command;

/// One call wrk makes: method, path and JSON body.
#[derive(Clone)]
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub body: Option<String>,
}

/// What one wrk run measured.
pub struct WrkFigures {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub per_sec: f64,
    /// wrk's CPU time over the run's wall time, in percent of one core.
    pub wrk_cpu_percent: f64,
}

/// The round with the median rate among `rounds` (at least one).
pub fn median(mut rounds: Vec<WrkFigures>) -> WrkFigures {
    rounds.sort_by(|a, b| a.per_sec.total_cmp(&b.per_sec));
    rounds.swap_remove(rounds.len() / 2)
}

/// Runs `wrk` against `base` for `seconds` at `concurrency`, cycling through `calls` with
/// `headers` (and a JSON content type); every answer must be 2xx.
pub fn run(
    wrk: &str,
    base: &str,
    headers: &[(String, String)],
    calls: &[Call],
    concurrency: usize,
    seconds: u32,
) -> anyhow::Result<WrkFigures> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("calls.lua");
    std::fs::write(&script, lua(headers, calls))?;
    // bash's `time` reports wrk's user and system CPU seconds on stderr.
    let command = format!(
        "TIMEFORMAT='cpu %U %S'; time {wrk} -t1 -c{concurrency} -d{seconds}s --latency -s {} {base}",
        script.display()
    );
    let out = Command::new("bash")
        .args(["-c", &command])
        .output()
        .context("starting wrk")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "wrk failed: {stdout}{stderr}");
    ensure!(
        !stdout.contains("Non-2xx") && !stdout.contains("Socket errors"),
        "calls failed under wrk: {stdout}"
    );
    let cpu: f64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("cpu "))
        .map(|t| {
            t.split_whitespace()
                .filter_map(|v| v.parse::<f64>().ok())
                .sum()
        })
        .ok_or_else(|| anyhow!("no CPU time for wrk: {stderr}"))?;
    Ok(WrkFigures {
        p50_ms: percentile(&stdout, "50%")?,
        p99_ms: percentile(&stdout, "99%")?,
        per_sec: stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| anyhow!("no rate in wrk's output: {stdout}"))?,
        wrk_cpu_percent: cpu / f64::from(seconds) * 100.0,
    })
}

/// As `run`, with the connections spread over `bases` (replicas behind a load balancer;
/// at concurrency 1 only the first is used), all at once. Each wrk takes every n-th call, so
/// no call is made twice (approvals), unless there is only one call to make (filing).
/// The rates add up; the latencies are the worst replica's.
pub fn run_across(
    wrk: &str,
    bases: &[String],
    headers: &[(String, String)],
    calls: &[Call],
    concurrency: usize,
    seconds: u32,
) -> anyhow::Result<WrkFigures> {
    let n = bases.len().min(concurrency).max(1);
    let runs: Vec<anyhow::Result<WrkFigures>> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..n)
            .map(|k| {
                let share = concurrency / n + usize::from(k < concurrency % n);
                let mine: Vec<Call> = if calls.len() == 1 {
                    calls.to_vec()
                } else {
                    calls.iter().skip(k).step_by(n).cloned().collect()
                };
                let base = &bases[k];
                scope.spawn(move || run(wrk, base, headers, &mine, share, seconds))
            })
            .collect();
        runs.into_iter()
            .map(|r| {
                r.join()
                    .unwrap_or_else(|_| Err(anyhow!("wrk's thread panicked")))
            })
            .collect()
    });
    let mut total = WrkFigures {
        p50_ms: 0.0,
        p99_ms: 0.0,
        per_sec: 0.0,
        wrk_cpu_percent: 0.0,
    };
    for figures in runs {
        let figures = figures?;
        total.p50_ms = total.p50_ms.max(figures.p50_ms);
        total.p99_ms = total.p99_ms.max(figures.p99_ms);
        total.per_sec += figures.per_sec;
        total.wrk_cpu_percent += figures.wrk_cpu_percent;
    }
    Ok(total)
}

/// The script: the calls in order, wrapping round; each request formatted when sent.
fn lua(headers: &[(String, String)], calls: &[Call]) -> String {
    let mut lua = String::from("local headers = {\n");
    for (name, value) in headers {
        let _ = writeln!(lua, "  [{}] = {},", quoted(name), quoted(value));
    }
    lua.push_str("  [\"Content-Type\"] = \"application/json\",\n}\n");
    lua.push_str("local calls = {\n");
    for call in calls {
        let body = call.body.as_deref().map_or("nil".to_string(), quoted);
        let _ = writeln!(
            lua,
            "  {{ {}, {}, {body} }},",
            quoted(call.method),
            quoted(&call.path)
        );
    }
    lua.push_str(
        "}\nlocal i = 0\nrequest = function()\n  i = i % #calls + 1\n  local c = calls[i]\n  \
         return wrk.format(c[1], c[2], headers, c[3])\nend\n",
    );
    lua
}

/// A Lua string literal.
fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// A latency line of `--latency`'s distribution (`99%    2.10ms`), in milliseconds.
fn percentile(output: &str, label: &str) -> anyhow::Result<f64> {
    let value = output
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(str::trim)
        .ok_or_else(|| anyhow!("no {label} latency in wrk's output: {output}"))?;
    let (number, scale) = if let Some(v) = value.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = value.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = value.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (value, 1.0)
    };
    Ok(number.parse::<f64>()? * scale)
}
