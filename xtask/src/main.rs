//! `cargo xtask demo|test|portal`: everything a newcomer needs, from a fresh Debian machine.
//!
//! Installs what is missing (wasm32 target, trunk, wasm-bindgen-cli at the version in
//! Cargo.lock, wasm-opt, Chromium and its driver), then builds, runs or tests.

mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command>

  demo     build the portal and start the broker with demo data on http://127.0.0.1:8080
  test     fmt, clippy (warnings denied), unit and integration tests, browser end-to-end tests
  portal   build the portal into dist/ (release)
  bench    measure: the portal's release bundle (raw and gzip), the broker under load,
           revocation lag and recovery, memory, the approvals queue's render time in
           headless Chromium, and audit chain verification over 1,000,000 events
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test(),
        Some("portal") => build_portal(),
        Some("bench") => bench(),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

pub type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (the parent of this crate's directory).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs `cmd`, echoing it; fails with its exit status.
pub fn run(cmd: &mut Command) -> Result {
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {}: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(cmd)))
    }
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn step(name: &str) {
    eprintln!("\n==> {name}");
}

fn build_portal() -> Result {
    tools::ensure_portal_toolchain()?;
    step("building the portal (trunk, release)");
    let mut trunk = Command::new(tools::trunk());
    trunk
        .current_dir(root())
        .env("PATH", tools::path_with_tools())
        .args(["build", "--release"]);
    run(&mut trunk)
}

/// Figures worth tracking; BENCHMARKS.md records them with this command.
fn bench() -> Result {
    build_portal()?;
    step("portal bundle (dist/)");
    let mut rows = Vec::new();
    let entries = std::fs::read_dir(root().join("dist")).map_err(|e| e.to_string())?;
    for entry in entries.flatten() {
        let path = entry.path();
        let kind = match path.extension().and_then(|e| e.to_str()) {
            Some("wasm") => "wasm",
            Some("js") => "JS",
            Some("css") => "CSS",
            _ => continue,
        };
        let raw = entry.metadata().map_err(|e| e.to_string())?.len();
        rows.push((kind, raw, gzip_size(&path)?));
    }
    rows.sort();
    println!("| file | raw bytes | gzip -9 bytes |");
    println!("|------|----------:|--------------:|");
    for (kind, raw, gz) in &rows {
        println!("| {kind} | {raw} | {gz} |");
    }
    let (raw, gz) = rows
        .iter()
        .fold((0, 0), |(r, g), (_, raw, gz)| (r + raw, g + gz));
    println!("| total | {raw} | {gz} |");

    step("broker load, revocation lag, recovery and memory (100,000 seeded requests)");
    run(cargo().args([
        "build",
        "--quiet",
        "--profile",
        "native-release",
        "--package",
        "stint-broker",
        "--bin",
        "stint",
        "--example",
        "load_bench",
    ]))?;
    let bin_dir = tools::target_dir().join("native-release");
    run(Command::new(bin_dir.join("examples").join("load_bench"))
        .args(["100000", "1000"])
        .env("STINT_BIN", bin_dir.join("stint")))?;

    step("approvals queue in headless Chromium (500 pending requests)");
    tools::ensure_browser()?;
    println!("| what | runs | median | min–max |");
    println!("|------|-----:|-------:|-------:|");
    run(cargo()
        .args([
            "run",
            "--quiet",
            "--profile",
            "native-release",
            "--package",
            "stint-e2e",
            "--example",
            "approvals_render_bench",
            "--",
            "7",
            "500",
        ])
        .env("STINT_PORTAL_DIR", root().join("dist")))?;

    step("audit chain verification (1,000,000 events)");
    println!("| what | size | time | rate |");
    println!("|------|-----:|-----:|-----:|");
    run(cargo().args([
        "run",
        "--quiet",
        "--profile",
        "native-release",
        "--package",
        "stint-broker",
        "--example",
        "audit_verify_bench",
        "--",
        "1000000",
    ]))
}

fn gzip_size(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(out.stdout.len() as u64)
}

fn demo() -> Result {
    build_portal()?;
    step("starting the broker with demo data (Ctrl-C stops it)");
    run(cargo().args([
        "run",
        "--quiet",
        "--package",
        "stint-broker",
        "--bin",
        "stint",
        "--",
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:8080",
        "--database",
        "sqlite://data/stint.db",
        "--portal",
        "dist",
    ]))
}

fn test() -> Result {
    tools::ensure_browser()?;
    tools::ensure_portal_toolchain()?;
    let detect_secrets = tools::ensure_detect_secrets()?;
    step("formatting");
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    // The portal is a default member, so this lints it too (its code has no wasm-only cfg).
    step("clippy, warnings denied");
    run(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    step("unit and integration tests");
    run(cargo().args(["test"]))?;
    build_portal()?;
    step("end-to-end tests in headless Chromium, and detect-secrets' own baseline");
    // The ignored tests are those needing outside tools: the browser tests and the one
    // that runs detect-secrets. Selecting them this way, rather than with --package, keeps
    // the feature set of the run above and so its build.
    run(cargo()
        .args(["test", "--", "--ignored", "--test-threads=1"])
        .env("STINT_PORTAL_DIR", root().join("dist"))
        .env("STINT_DETECT_SECRETS", detect_secrets))
}
