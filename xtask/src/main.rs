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
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test(),
        Some("portal") => build_portal(),
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
    step("formatting");
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    // The portal is a default member, so this lints it too (its code has no wasm-only cfg).
    step("clippy, warnings denied");
    run(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    step("unit and integration tests");
    run(cargo().args(["test"]))?;
    build_portal()?;
    step("end-to-end tests in headless Chromium");
    run(cargo()
        .args([
            "test",
            "--package",
            "stint-e2e",
            "--",
            "--ignored",
            "--test-threads=1",
        ])
        .env("STINT_PORTAL_DIR", root().join("dist")))
}
