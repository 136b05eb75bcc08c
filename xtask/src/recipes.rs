//! The deployment recipes in `deploy/` checked where the tools are here: the systemd unit
//! by `systemd-analyze verify`, the Containerfile by `docker build --check` when a daemon
//! answers. Building the image itself compiles the workspace again: too long for a test.

use crate::{Result, root, run};
use std::process::{Command, Stdio};

pub fn check() -> Result {
    let deploy = root().join("deploy");
    if answers("systemd-analyze", &["--version"]) {
        // `verify` wants the service's program to exist: the one just built stands in.
        let unit = std::fs::read_to_string(deploy.join("stint.service"))
            .map_err(|e| format!("deploy/stint.service: {e}"))?;
        let program = crate::tools::target_dir().join("debug").join("stint");
        let unit = unit.replace("/usr/local/bin/stint", &program.display().to_string());
        let dir = tempfile_dir()?;
        let path = dir.join("stint.service");
        std::fs::write(&path, unit).map_err(|e| format!("{}: {e}", path.display()))?;
        let checked = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot start systemd-analyze: {e}"))?;
        let _ = std::fs::remove_dir_all(&dir);
        // It warns of an unknown key or a bad value and still exits 0: any word about our
        // unit is a failure (words about the host's other units are not ours to judge).
        let said = String::from_utf8_lossy(&checked.stderr);
        let ours: Vec<&str> = said
            .lines()
            .filter(|l| l.contains("stint.service"))
            .collect();
        if !checked.status.success() || !ours.is_empty() {
            return Err(format!("deploy/stint.service: {}", ours.join("; ")));
        }
        println!("deploy/stint.service: systemd-analyze verify passed");
    } else {
        println!("deploy/stint.service: not checked (no systemd-analyze here)");
    }
    if answers("docker", &["info"]) && supports_check() {
        run(Command::new("docker")
            .args(["build", "--check", "-f"])
            .arg(deploy.join("Containerfile"))
            .arg(root()))?;
        println!("deploy/Containerfile: docker build --check passed");
    } else {
        println!("deploy/Containerfile: not checked (no container engine answers here)");
    }
    Ok(())
}

/// Whether `program` runs and succeeds with `args`.
fn answers(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = crate::tools::target_dir()
        .join("tmp")
        .join(format!("recipes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Whether this docker's build can check a Containerfile without building it (27+).
fn supports_check() -> bool {
    Command::new("docker")
        .args(["build", "--help"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--check"))
}
