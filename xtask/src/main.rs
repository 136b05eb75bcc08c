//! `cargo xtask demo|test|portal`: everything a newcomer needs, from a fresh Debian machine.
//!
//! Installs what is missing (wasm32 target, trunk, wasm-bindgen-cli at the version in
//! Cargo.lock, wasm-opt, Chromium and its driver, PostgreSQL's server), then builds, runs
//! or tests.

mod bench;
mod bundle;
mod postgres;
mod precompress;
mod recipes;
mod split;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command>

  demo     build the portal and start the broker with demo data on http://127.0.0.1:8080
  test     fmt, clippy (warnings denied), unit and integration tests (the broker's on SQLite
           and on a throwaway PostgreSQL cluster), browser end-to-end tests
  portal   build the portal into dist/ (release), every page but a request's split into files
           of their own
  bundle   what the built portal's files weigh, and what opening each kind of page transfers
  bench    measure: the portal's release bundle (Brotli and gzip, per file and per visit),
           the broker under load, revocation lag and recovery, memory, the approvals
           queue's render time and a request link on emulated Slow 4G in headless
           Chromium, and audit chain verification over 1,000,000 events
  openapi  write openapi.json: the API's description as the code makes it (the test fails
           when the committed file differs)
  fuzz     the parsers of outside input (reports, the connectors file, bodies, tokens) for
           long: `cargo xtask fuzz [CASES]`, 20,000 cases each by default (the test runs 64-256)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test(),
        Some("portal") => build_portal(),
        Some("bundle") => bundle::bundle(&mut bench::Report::default()),
        Some("bench") => bench::bench(),
        Some("fuzz") => fuzz(args.get(1).map(String::as_str).unwrap_or("20000")),
        Some("openapi") => openapi(),
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
    run(&mut trunk)?;
    step("splitting the portal: every page but a request's into files of their own");
    split::split(&root().join("dist"))?;
    step("precompressing the portal (Brotli and gzip)");
    precompress::precompress(&root().join("dist"))
}

/// The demo's `payments` database: a throwaway PostgreSQL cluster with a few rows, and the
/// connectors file that makes the demo's `payments-db` grants real roles in it. `None`
/// (and the demo runs without it) where PostgreSQL cannot be had.
fn demo_database() -> Option<(postgres::Cluster, PathBuf)> {
    step("starting a throwaway PostgreSQL for the demo's payments-db");
    let cluster = match postgres::Cluster::for_demo() {
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("PostgreSQL is not available ({e}): the demo runs without its connector");
            return None;
        }
    };
    let made = cluster.psql("postgres", "CREATE DATABASE payments").and_then(|()| {
        cluster.psql(
            "payments",
            "CREATE TABLE invoices (id int PRIMARY KEY, customer text NOT NULL, cents int NOT NULL);
             INSERT INTO invoices VALUES (1, 'Acme', 129900), (2, 'Globex', 4500), (3, 'Initech', 78000);",
        )
    });
    if let Err(e) = made {
        eprintln!("could not set up the payments database ({e}): the demo runs without it");
        return None;
    }
    let file = root().join("data").join("connectors.toml");
    let text = r#"# Written by `cargo xtask demo`: the demo's payments-db grants become PostgreSQL roles.
[connectors.payments-pg]
kind = "postgres"
admin_url_env = "PAYMENTS_PG_ADMIN_URL"
[connectors.payments-pg.privileges]
read = ["GRANT CONNECT ON DATABASE payments TO {{role}}", "GRANT USAGE ON SCHEMA public TO {{role}}", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {{role}}"]
write = ["GRANT CONNECT ON DATABASE payments TO {{role}}", "GRANT USAGE ON SCHEMA public TO {{role}}", "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {{role}}"]
"#;
    if let Err(e) =
        std::fs::create_dir_all(root().join("data")).and_then(|()| std::fs::write(&file, text))
    {
        eprintln!(
            "could not write {} ({e}): the demo runs without its connector",
            file.display()
        );
        return None;
    }
    Some((cluster, file))
}

fn demo() -> Result {
    // Ctrl-C or SIGTERM stops the broker, which exits cleanly (a terminal's Ctrl-C reaches
    // it directly; a SIGTERM sent to this process only is passed on); this process stays
    // to stop the throwaway cluster after it.
    static BROKER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    ctrlc::set_handler(|| {
        let pid = BROKER.load(std::sync::atomic::Ordering::SeqCst);
        if pid != 0 {
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
        }
    })
    .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    build_portal()?;
    let database = demo_database();
    // The release build: what an operator runs, optimised for speed.
    run(cargo().args([
        "build",
        "--quiet",
        "--release",
        "--package",
        "stint-broker",
        "--bin",
        "stint",
    ]))?;
    step("starting the broker with demo data (Ctrl-C stops it)");
    let mut broker = Command::new(tools::target_dir().join("release").join("stint"));
    broker.current_dir(root()).args([
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:8080",
        "--database",
        "sqlite://data/stint.db",
        "--portal",
        "dist",
    ]);
    if let Some((cluster, file)) = &database {
        // The payments database is new: so are the demo's data, or its grants would name
        // roles of a cluster that is gone (and payments-db be linked or not as it was the
        // first time).
        for name in ["stint.db", "stint.db-wal", "stint.db-shm"] {
            let _ = std::fs::remove_file(root().join("data").join(name));
        }
        let server = cluster
            .url
            .rsplit_once('/')
            .map_or("", |(server, _)| server);
        eprintln!(
            "payments-db is linked to the database payments on {}: a payments-db grant's \
             credential carries a PostgreSQL login; `psql \"$URL\"` works while the grant \
             lasts, and not after",
            cluster.address()
        );
        broker
            .env("PAYMENTS_PG_ADMIN_URL", format!("{server}/payments"))
            .env("STINT_CONNECTORS", file);
    }
    eprintln!("$ {}", describe(&broker));
    let mut child = broker
        .spawn()
        .map_err(|e| format!("cannot start the broker: {e}"))?;
    BROKER.store(child.id(), std::sync::atomic::Ordering::SeqCst);
    let status = child.wait().map_err(|e| e.to_string())?;
    BROKER.store(0, std::sync::atomic::Ordering::SeqCst);
    drop(database);
    if status.success() {
        Ok(())
    } else {
        Err(format!("the broker stopped ({status})"))
    }
}

/// The test binary named `name` that the plain `cargo test` above built. Running it again
/// directly, rather than through `cargo test --test NAME`, keeps that build: cargo resolves
/// features over the packages a command selects, and `--test` selects fewer, so it would
/// build the whole dependency graph a second time (twice the disk a CI machine may not have).
fn test_executable(name: &str) -> Result<PathBuf> {
    let output = cargo()
        .args(["test", "--no-run", "--message-format=json"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("`cargo test --no-run` failed ({})", output.status));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|message| {
            message["reason"] == "compiler-artifact"
                && message["target"]["name"] == name
                && message["target"]["kind"][0] == "test"
        })
        .and_then(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("`cargo test` builds no test binary named {name}"))
}

/// The fuzzing properties of the broker's tests with many cases each; a failing case is
/// kept in `proptest-regressions/` (commit it: it becomes a regression test).
fn fuzz(cases: &str) -> Result {
    cases
        .parse::<u32>()
        .map_err(|_| format!("CASES is a number, not {cases}"))?;
    step(&format!("fuzzing, {cases} cases each"));
    run(cargo()
        .args([
            "test",
            "--release",
            "-p",
            "stint-broker",
            "--test",
            "api",
            "fuzz::",
        ])
        .env("PROPTEST_CASES", cases))
}

/// Writes `openapi.json` from the broker's route table (`stint openapi`).
fn openapi() -> Result {
    step("writing openapi.json");
    let mut cmd = cargo();
    cmd.args(["run", "--quiet", "--bin", "stint", "--", "openapi"]);
    eprintln!("$ {} > openapi.json", describe(&cmd));
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start {}: {e}", describe(&cmd)))?;
    if !out.status.success() {
        return Err(format!(
            "`stint openapi` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::write(root().join("openapi.json"), &out.stdout).map_err(|e| e.to_string())
}

fn test() -> Result {
    tools::ensure_browser()?;
    tools::ensure_portal_toolchain()?;
    let detect_secrets = tools::ensure_detect_secrets()?;
    let schemathesis = tools::ensure_schemathesis()?;
    let oidc_provider = tools::ensure_oidc_provider()?;
    step("formatting");
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    // The portal is a default member, so this lints it too (its code has no wasm-only cfg).
    step("clippy, warnings denied");
    run(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    // One cluster for both passes: the connector tests make and drop roles in it on either
    // backend, and the second pass keeps the broker's own databases there too.
    let cluster = postgres::Cluster::for_tests()?;
    step("unit and integration tests (the broker on SQLite)");
    // Replicas share a PostgreSQL database: their tests run in the pass below.
    run(cargo()
        .args(["test", "--", "--skip", "replicas::"])
        .env("STINT_TEST_POSTGRES_URL", &cluster.url))?;
    step("the broker's integration tests on PostgreSQL, replicas included");
    run(Command::new(test_executable("api")?)
        .current_dir(root().join("broker"))
        .env("STINT_TEST_DATABASE", "postgres")
        .env("STINT_TEST_POSTGRES_URL", &cluster.url))?;
    drop(cluster);
    step("deployment recipes (deploy/)");
    recipes::check()?;
    build_portal()?;
    step("end-to-end tests in headless Chromium, and detect-secrets' own baseline");
    // The ignored tests are those needing outside tools: the browser tests and the one
    // that runs detect-secrets. Selecting them this way, rather than with --package, keeps
    // the feature set of the run above and so its build.
    run(cargo()
        .args([
            "test",
            "--",
            "--ignored",
            "--test-threads=1",
            "--skip",
            SCHEMATHESIS_TEST,
        ])
        .env("STINT_PORTAL_DIR", root().join("dist"))
        .env("STINT_DETECT_SECRETS", detect_secrets)
        .env("STINT_OIDC_PROVIDER_DIR", oidc_provider))?;
    step("schemathesis against the live broker, signed in as each role");
    // Its own step, so its counts (operations, cases) show in the output.
    run(cargo()
        .args([
            "test",
            "--",
            "--ignored",
            "--exact",
            SCHEMATHESIS_TEST,
            "--show-output",
        ])
        .env("STINT_SCHEMATHESIS", schemathesis))
}

/// The test that runs schemathesis (broker/tests/api/openapi.rs).
const SCHEMATHESIS_TEST: &str = "openapi::schemathesis_finds_every_answer_as_described";
