//! A PostgreSQL cluster of a test's own, to stop and restart under a running bot (the shared
//! server on 127.0.0.1:5432 serves every other test and is never stopped).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::workspace_root;

/// A throwaway cluster (`initdb`, `pg_ctl`) in `target/e2e/private/<name>`, trust auth, on
/// 127.0.0.1:`port`, with a database `exodus`. Stopped when dropped.
pub struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (initdb refuses root).
fn pg_tool(program: &str, args: &[&str]) -> Result<()> {
    let bin = pg_bin_dir().map(|d| d.join(program)).unwrap_or_else(|| PathBuf::from(program));
    let mut command = if nix::unistd::Uid::effective().is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let output =
        command.args(args).output().with_context(|| format!("running {}", bin.display()))?;
    if !output.status.success() {
        bail!(
            "{program} {args:?} failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Debian keeps initdb and pg_ctl out of PATH, under /usr/lib/postgresql/<version>/bin.
fn pg_bin_dir() -> Option<PathBuf> {
    if which("initdb") {
        return None;
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .collect();
    versions.sort();
    versions.pop()
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

impl PrivatePostgres {
    /// Starts a fresh cluster (anything left in its directory is removed first).
    pub fn start(name: &str, port: u16) -> Result<PrivatePostgres> {
        let dir = workspace_root().join("target/e2e/private").join(name);
        let pg = PrivatePostgres { dir, port };
        let _ = pg.stop();
        let _ = std::fs::remove_dir_all(&pg.dir);
        std::fs::create_dir_all(&pg.dir)?;
        if nix::unistd::Uid::effective().is_root() {
            let status = Command::new("chown").arg("postgres").arg(&pg.dir).status()?;
            anyhow::ensure!(status.success(), "chown postgres {}", pg.dir.display());
        }
        let data = pg.data();
        pg_tool("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8"])?;
        pg.restart_with("start")?;
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let created =
            Command::new("psql").args([url.as_str(), "-qc", "CREATE DATABASE exodus"]).output()?;
        anyhow::ensure!(
            created.status.success(),
            "CREATE DATABASE: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        Ok(pg)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// The URL of its database `exodus`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/exodus", self.port)
    }

    fn restart_with(&self, action: &str) -> Result<()> {
        let options =
            format!("-h 127.0.0.1 -p {} -k {} -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("postgres.log").display().to_string();
        pg_tool(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "-m",
                "fast",
                "-o",
                &options,
                action,
            ],
        )
    }

    /// `pg_ctl stop -m fast`: connections are cut.
    pub fn stop(&self) -> Result<()> {
        pg_tool("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"])
    }

    /// Starts it again on the same data.
    pub fn restart_stopped(&self) -> Result<()> {
        self.restart_with("start")
    }

    /// `pg_ctl restart -m fast` while it runs.
    pub fn restart(&self) -> Result<()> {
        self.restart_with("restart")
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
