//! `stint serve --config FILE`: flags from a TOML file, overridden by a variable and by the
//! command line; a key no flag has, or a value its flag refuses, stops the start naming it.

use crate::helpers::{Http, Server, fresh_database};
use chrono::{DateTime, Utc};

/// How long a request filed on `server` may wait for a decision, in seconds.
fn pending_ttl(server: &mut Server) -> i64 {
    server.wait_healthy();
    let http = Http(server.base.clone());
    let alice = http.login("alice");
    let filed = http.file(&alice, "ci-deployer", "payments-db", 600);
    let at = |key: &str| {
        filed[key]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap()
    };
    (at("pending_expires_at") - at("created_at")).num_seconds()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_its_flags_from_a_file_that_variables_and_flags_override() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("stint.toml");
    std::fs::write(&config, "pending_ttl_secs = 120\ndemo = true\n").unwrap();
    let key = dir.path().join("stint.key");
    let args = ["--config".to_string(), config.display().to_string()];

    let db = fresh_database(&dir.path().join("a").tap_mkdir()).await;
    let mut from_file = Server::start_with(&db, &key, false, &args, &[]);
    assert_eq!(pending_ttl(&mut from_file), 120, "the file's value");
    drop(from_file);

    let db = fresh_database(&dir.path().join("b").tap_mkdir()).await;
    let env = [("STINT_PENDING_TTL_SECS", "300".to_string())];
    let mut by_variable = Server::start_with(&db, &key, false, &args, &env);
    assert_eq!(pending_ttl(&mut by_variable), 300, "the variable wins");
    drop(by_variable);

    let db = fresh_database(&dir.path().join("c").tap_mkdir()).await;
    let flag = [
        args[0].clone(),
        args[1].clone(),
        "--pending-ttl-secs=60".into(),
    ];
    let mut by_flag = Server::start_with(&db, &key, false, &flag, &env);
    assert_eq!(pending_ttl(&mut by_flag), 60, "the command line wins");
}

#[test]
fn a_bad_file_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("stint.toml");
    for (text, says) in [
        ("pending_ttl = 5\n", "unknown key `pending_ttl`"),
        ("pending_ttl_secs = 0\n", "key `pending_ttl_secs`"),
        ("demo = \"yes\"\n", "`demo` is true or false"),
        ("listen = \n", "stint.toml"),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_stint"))
            .args(["serve", "--database"])
            .arg(format!(
                "sqlite://{}",
                dir.path().join("never.db").display()
            ))
            .arg("--config")
            .arg(&config)
            .env_remove("STINT_CONFIG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(says), "{text}: {stderr}");
        assert!(!dir.path().join("never.db").exists(), "nothing was started");
    }
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
