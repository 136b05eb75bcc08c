//! `stint backup`: a copy of a database in use, verified before it is kept, that a broker
//! then serves from with the original's key file; never over an existing file.

use crate::helpers::{TestApp, on_postgres, stint_cli};
use axum::http::StatusCode;
use serde_json::json;
use std::sync::Arc;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_broker_writes_verifies_and_serves() {
    let app = TestApp::new().await;
    let alice = app.login("alice").await;
    let grant = app.active_grant(&alice, 3600).await;
    let target = tempfile::tempdir().unwrap();
    let dest = target.path().join("stint-backup.db");
    if on_postgres() {
        let out = stint_cli(&app, &["backup", dest.to_str().unwrap()]);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("pg_dump"),
            "{}",
            text(&out.stderr)
        );
        assert!(!dest.exists());
        return;
    }

    // Requests keep being filed while the copy is taken.
    let app = Arc::new(app);
    let writer = {
        let app = app.clone();
        let alice = alice.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                app.file(&alice, "ci-deployer", "payments-db", "read", 600)
                    .await;
            }
        })
    };
    let copying = {
        let db_url = app.db_url.clone();
        let dest = dest.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_stint"))
                .args(["backup", "--database", &db_url])
                .arg(&dest)
                .output()
                .unwrap()
        })
    };
    let out = copying.await.unwrap();
    writer.await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("audit events verify"), "{said}");
    assert!(said.contains("keep the key file"), "{said}");
    let partial: Vec<_> = std::fs::read_dir(target.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(partial.len(), 1, "no partial file left: {partial:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o600,
        "the copy holds password hashes: its owner's alone"
    );

    // The copy verifies against the original's key file.
    let verified = std::process::Command::new(env!("CARGO_BIN_EXE_stint"))
        .args(["audit", "verify", "--database"])
        .arg(format!("sqlite://{}", dest.display()))
        .arg("--key-file")
        .arg(app.dir.path().join("stint.key"))
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", text(&verified.stdout));
    assert!(text(&verified.stdout).starts_with("OK: "));

    // A broker restored from it serves alice's grant.
    let restored_dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        app.dir.path().join("stint.key"),
        restored_dir.path().join("stint.key"),
    )
    .unwrap();
    std::fs::copy(&dest, restored_dir.path().join("stint.db")).unwrap();
    let restored_url = format!(
        "sqlite://{}",
        restored_dir.path().join("stint.db").display()
    );
    let restored = TestApp::open(restored_dir, restored_url, app.clock.clone()).await;
    let dave = restored.login("dave").await;
    let (status, view) = restored
        .get(&dave, &format!("/api/v1/grants/{grant}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["state"], json!("active"));

    // Never over an existing file.
    let before = std::fs::metadata(&dest).unwrap().len();
    let again = stint_cli(&app, &["backup", dest.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("exists"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), before);
}
