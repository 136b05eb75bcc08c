//! A throwaway PostgreSQL cluster for the tests: Debian's server (installed if missing),
//! initialised under `target/`, on a free loopback port, stopped and removed when dropped.

use crate::tools::{apt_install, target_dir};
use crate::{Result, run};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// An administrator's URL: the tests create a database of their own through it.
    pub url: String,
}

impl Cluster {
    /// For tests: nothing is flushed to disk (the cluster is thrown away).
    pub fn for_tests() -> Result<Cluster> {
        Cluster::start("-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    }

    /// For measurements: the server's own defaults, every commit flushed as in production.
    pub fn durable() -> Result<Cluster> {
        Cluster::start("")
    }

    /// For the demo: under `./data/` when the server's user can write there, thrown away
    /// when the demo stops. It runs for as long as the demo does, so its administrator
    /// has a password of its own (in `url` only) and every TCP login needs one.
    pub fn for_demo() -> Result<Cluster> {
        let candidates = [
            crate::root().join("data").join("postgres"),
            std::env::temp_dir().join("stint-demo-postgres"),
        ];
        // A demo that was killed outright leaves its server running: stop it before its
        // directory is reused.
        if let Ok(bin) = server_binaries() {
            for dir in candidates
                .iter()
                .filter(|d| d.join("postmaster.pid").exists())
            {
                let _ = as_owner(&bin.join("pg_ctl"))
                    .arg("-D")
                    .arg(dir)
                    .args(["-m", "immediate", "stop"])
                    .status();
            }
        }
        let data = data_dir_in(&candidates)?;
        Cluster::start_in(data, "", Some(&random_password()?))
    }

    fn start(settings: &str) -> Result<Cluster> {
        Cluster::start_in(data_dir()?, settings, None)
    }

    /// A cluster in `data`; with `password`, the administrator's, needed over TCP.
    fn start_in(data: PathBuf, settings: &str, password: Option<&str>) -> Result<Cluster> {
        let bin = server_binaries()?;
        run(as_owner(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            // C collation sorts bytes as SQLite does; trust on loopback is for this
            // throwaway cluster only.
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "-N",
            ])
            .arg("--no-instructions"))?;
        // Over TCP every role but a test cluster's administrator gives its password, as on a
        // real server (the connector tests' temporary roles too); the Unix socket, inside
        // the data directory only its owner may enter, is for `psql` here.
        let hba = if password.is_some() {
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        } else {
            "local all all trust\n\
             host all postgres 127.0.0.1/32 trust\n\
             host all all 127.0.0.1/32 scram-sha-256\n"
        };
        std::fs::write(data.join("pg_hba.conf"), hba)
            .map_err(|e| format!("cannot write pg_hba.conf: {e}"))?;
        let port = free_port()?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 {settings}",
            data.display()
        );
        let log = data.join("server.log");
        run(as_owner(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-w", "-t", "60", "-o", &options, "-l"])
            .arg(&log)
            .arg("start"))?;
        let cluster = Cluster {
            bin,
            data,
            url: match password {
                Some(password) => {
                    format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres")
                }
                None => format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            },
            port,
        };
        if let Some(password) = password {
            cluster.psql(
                "postgres",
                &format!("ALTER ROLE postgres PASSWORD '{password}'"),
            )?;
        }
        Ok(cluster)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_owner(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .status();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// The newest `/usr/lib/postgresql/N/bin` with a server, installing Debian's if none.
fn server_binaries() -> Result<PathBuf> {
    let find = || -> Option<PathBuf> {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").exists().then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    };
    if let Some(bin) = find() {
        return Ok(bin);
    }
    // Debian's package also tries to start a cluster of its own, which fails on a machine
    // without an init system; the server binaries are installed all the same, and they
    // are all this needs.
    let installed = apt_install(&["postgresql"]);
    find().ok_or_else(|| match installed {
        Err(e) => e,
        Ok(()) => "Debian's postgresql installed no server under /usr/lib/postgresql".into(),
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program`, run as the `postgres` user when we are root: initdb refuses root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// A fresh, empty data directory the server's user owns: under `target/`, or, when that
/// user cannot reach `target/` (a checkout in a private home), under the system's temp.
fn data_dir() -> Result<PathBuf> {
    let pid = std::process::id();
    data_dir_in(&[
        target_dir().join(format!("postgres-test-{pid}")),
        std::env::temp_dir().join(format!("stint-postgres-{pid}")),
    ])
}

/// The first of `candidates` that can be made a fresh, empty directory the server's user
/// owns and reaches.
fn data_dir_in(candidates: &[PathBuf]) -> Result<PathBuf> {
    for dir in candidates.iter().cloned() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !is_root() {
            return Ok(dir);
        }
        let owned = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        let reachable = owned
            && as_owner(Path::new("test"))
                .args(["-w"])
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
        if reachable {
            return Ok(dir);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    Err("no directory the postgres user can write for a cluster".into())
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

impl Cluster {
    /// Runs `sql` in `database` as the administrator, with the cluster's own `psql` over
    /// its Unix socket (no password; the statement is not echoed, it may hold one).
    pub fn psql(&self, database: &str, sql: &str) -> Result {
        let status = as_owner(&self.bin.join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.data)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
            ])
            .args(["-c", sql])
            .status()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("psql failed in {database} ({status})"))
        }
    }

    /// Where it listens, for people: host and port, no credentials.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// 128 random bits as hex, from the kernel.
fn random_password() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
