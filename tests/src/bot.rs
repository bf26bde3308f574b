//! The bot under test, run as a child process exactly as it is deployed.

use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;
use sqlx::Connection as _;

use crate::homeserver::{Homeserver, e2e_dir, login_token, random_suffix, register};
use crate::workspace_root;

/// The device ID the bot keeps (its config's default).
pub const BOT_DEVICE_ID: &str = "EXODUSBOT";

/// How long the bot may take from spawn to `/health` answering 200.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(90);
/// How long the bot may take to exit after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Which database the bot uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Database {
    /// The default: SQLite in `data_dir`.
    #[default]
    Sqlite,
    /// A fresh database with a random name on the server of `EXODUS_TEST_PG_URL`
    /// (default `postgres://postgres@127.0.0.1:5432/test`).
    Postgres,
}

/// How [`BotProcess::start_new`] configures the bot.
#[derive(Clone, Debug, Default)]
pub struct BotOptions {
    pub database: Database,
    /// Full user IDs listed in `admins`.
    pub admins: Vec<String>,
    /// `invite_policy`; default `anyone`.
    pub invite_policy: Option<String>,
    /// `timezone`; default `UTC`.
    pub timezone: Option<String>,
    /// Log in with an access token made for the bot's device instead of the password.
    pub token_login: bool,
    /// `schedules.<job>` cron expressions; the bot's defaults for the others.
    pub schedules: Vec<(&'static str, String)>,
    /// A database URL of the test's own (a [`crate::PrivatePostgres`]) instead of `database`.
    pub database_url: Option<String>,
    /// Flood control as the product ships it (a burst of 30, then 60 a minute). Without it, tests
    /// (which send commands as fast as a script) run with the allowance lifted.
    pub product_limits: bool,
    /// `EXODUS_*` variables for the process (`[limits]` of a test's own, …).
    pub env: Vec<(String, String)>,
}

/// The bot's TOML configuration, as written into its temp dir.
#[derive(Clone, Debug, Serialize)]
pub struct BotConfig {
    pub homeserver_url: String,
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub http_addr: String,
    pub admins: Vec<String>,
    pub unit: String,
    pub timezone: String,
    pub prefixes: Vec<String>,
    pub default_language: String,
    pub invite_policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub schedules: std::collections::BTreeMap<String, String>,
}

/// A running (or stopped) bot process with its own data dir and database, which survive
/// `stop`/`kill` and `start`.
pub struct BotProcess {
    pub user_id: String,
    pub config: BotConfig,
    /// Temp dir holding `config.toml`, `bot.log` and `data/`; kept when a test fails.
    pub dir: PathBuf,
    temp: Option<tempfile::TempDir>,
    child: Option<Child>,
    log_path: PathBuf,
    /// Variables set for the process at its next `start` (test hooks such as
    /// `EXODUS_TEST_FAILPOINT`).
    pub env: Vec<(String, String)>,
}

impl BotProcess {
    /// Registers a bot user on `hs`, writes its configuration, starts it and waits until its
    /// `/health` answers 200.
    pub async fn start_new(hs: &Homeserver, options: BotOptions) -> Result<BotProcess> {
        // Fail fast, before registering anything, when the binary was not built.
        bot_binary()?;
        let (user_id, password) = register(hs, "bot").await?;
        let temp = tempfile::Builder::new()
            .prefix("bot-")
            .tempdir_in(e2e_dir("bots"))
            .context("creating the bot's temp dir")?;
        let dir = temp.path().to_owned();
        let data_dir = dir.join("data");
        fs::create_dir_all(&data_dir)?;

        let database_url = match (options.database_url, options.database) {
            (Some(url), _) => url,
            (None, Database::Sqlite) => {
                format!("sqlite://{}", data_dir.join("exodus.db").display())
            }
            (None, Database::Postgres) => create_pg_database().await?,
        };
        let (password, access_token) = if options.token_login {
            (None, Some(login_token(hs, &user_id, &password, BOT_DEVICE_ID).await?))
        } else {
            (Some(password), None)
        };
        let config = BotConfig {
            homeserver_url: hs.url.clone(),
            user_id: user_id.clone(),
            password,
            access_token,
            data_dir,
            database_url,
            http_addr: format!("127.0.0.1:{}", free_port()?),
            admins: options.admins,
            unit: "EUR".into(),
            timezone: options.timezone.unwrap_or_else(|| "UTC".into()),
            prefixes: vec!["!".into(), "/".into()],
            default_language: "en".into(),
            invite_policy: options.invite_policy.unwrap_or_else(|| "anyone".into()),
            device_id: None,
            schedules: options.schedules.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        };
        let mut bot = BotProcess::in_dir(user_id, config, temp)?;
        if !options.product_limits {
            bot.env.push(("EXODUS_LIMITS__COMMANDS_BURST".into(), "100000".into()));
            bot.env.push(("EXODUS_LIMITS__COMMANDS_PER_MINUTE".into(), "1000000".into()));
            bot.env.push(("EXODUS_LIMITS__REPEAT_EVERY_SECONDS".into(), "0".into()));
        }
        // After the defaults above, so that a test's own values win.
        bot.env.extend(options.env);
        bot.start().await?;
        Ok(bot)
    }

    /// Writes `config` to the bot's `config.toml` again (after a test changed it); the next
    /// start reads it.
    pub fn write_config(&self) -> Result<()> {
        fs::write(self.dir.join("config.toml"), toml::to_string(&self.config)?)?;
        Ok(())
    }

    /// A new, empty database in place of the bot's (stopped) one, its `data_dir` kept: a new
    /// SQLite file, or a new PostgreSQL database.
    pub async fn replace_database(&mut self) -> Result<()> {
        ensure!(!self.is_running(), "stop the bot before replacing its database");
        if self.config.database_url.starts_with("sqlite:") {
            for suffix in ["", "-wal", "-shm"] {
                let path = self.config.data_dir.join(format!("exodus.db{suffix}"));
                if path.exists() {
                    fs::remove_file(&path)
                        .with_context(|| format!("removing {}", path.display()))?;
                }
            }
        } else {
            self.config.database_url = create_pg_database().await?;
            self.write_config()?;
        }
        Ok(())
    }

    fn in_dir(user_id: String, config: BotConfig, temp: tempfile::TempDir) -> Result<BotProcess> {
        let dir = temp.path().to_owned();
        fs::write(dir.join("config.toml"), toml::to_string(&config)?)?;
        Ok(BotProcess {
            user_id,
            config,
            log_path: dir.join("bot.log"),
            dir,
            temp: Some(temp),
            child: None,
            env: Vec::new(),
        })
    }

    /// A second process of the same bot (same account, same database) with a data dir and a
    /// device of its own, as a deployment runs several processes on one PostgreSQL; started.
    pub async fn second_process(&self, device_id: &str) -> Result<BotProcess> {
        ensure!(self.config.password.is_some(), "a second process logs in with the password");
        let temp = tempfile::Builder::new()
            .prefix("bot-")
            .tempdir_in(e2e_dir("bots"))
            .context("creating the bot's temp dir")?;
        let data_dir = temp.path().join("data");
        fs::create_dir_all(&data_dir)?;
        let config = BotConfig {
            data_dir,
            http_addr: format!("127.0.0.1:{}", free_port()?),
            device_id: Some(device_id.to_owned()),
            ..self.config.clone()
        };
        let mut bot = BotProcess::in_dir(self.user_id.clone(), config, temp)?;
        bot.start().await?;
        Ok(bot)
    }

    /// Waits for the process to exit by itself; its exit status.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        let Some(child) = self.child.as_mut() else { bail!("the bot is not running") };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("the bot did not exit within {timeout:?}\n{}", self.log_tail(40));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the bot process (again, with the same data dir and database) and waits for
    /// `/health`.
    pub async fn start(&mut self) -> Result<()> {
        self.spawn()?;
        self.wait_healthy().await
    }

    /// Starts the bot process without waiting for anything (a test that expects it to exit).
    pub fn spawn(&mut self) -> Result<()> {
        ensure!(!self.is_running(), "the bot is already running");
        let binary = bot_binary()?;
        let log = OpenOptions::new().create(true).append(true).open(&self.log_path)?;
        let mut command = Command::new(&binary);
        command
            .arg("--config")
            .arg(self.dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // The bot reads `EXODUS_*` variables as configuration: keep the test run's own
        // (EXODUS_TEST_*, EXODUS_BOT_BIN, ...) out of its environment.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("EXODUS_") {
                command.env_remove(key);
            }
        }
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "info");
        }
        command.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let child = command.spawn().with_context(|| format!("spawning {}", binary.display()))?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait_healthy(&mut self) -> Result<()> {
        let url = format!("http://{}/health", self.config.http_addr);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let deadline = tokio::time::Instant::now() + HEALTH_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!("the bot exited with {status} before it was healthy\n{}", self.log_tail(60));
            }
            if let Ok(response) = http.get(&url).send().await
                && response.status() == reqwest::StatusCode::OK
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("{url} did not answer 200 within {HEALTH_TIMEOUT:?}\n{}", self.log_tail(60));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the process is alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGTERM, then waits for the process to exit (fails after [`STOP_TIMEOUT`]).
    pub async fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else { bail!("the bot is not running") };
        signal(&child, Signal::SIGTERM)?;
        let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                tracing::info!(%status, "bot stopped");
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the bot ignored SIGTERM for {STOP_TIMEOUT:?}\n{}", self.log_tail(60));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, and reaps the process.
    pub fn kill(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else { bail!("the bot is not running") };
        signal(&child, Signal::SIGKILL)?;
        child.wait()?;
        Ok(())
    }

    /// The bot's whole log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The last `lines` lines of the bot's log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path, lines)
    }

    /// Base URL of the bot's HTTP endpoint (`/health`, `/metrics`).
    pub fn http_url(&self) -> String {
        format!("http://{}", self.config.http_addr)
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            // Keep the data dir and log for the post-mortem.
            if let Some(temp) = self.temp.take() {
                let _ = temp.keep();
            }
            eprintln!(
                "---- bot {} ({}), last lines of {} ----\n{}\n---- end of bot log ----",
                self.user_id,
                self.config.database_url,
                self.log_path.display(),
                self.log_tail(80)
            );
        }
    }
}

fn signal(child: &Child, signal: Signal) -> Result<()> {
    let pid = Pid::from_raw(i32::try_from(child.id())?);
    kill(pid, signal).with_context(|| format!("sending {signal} to the bot"))
}

/// `EXODUS_BOT_BIN`, else `<workspace>/target/debug/exodus-bot`.
pub fn bot_binary() -> Result<PathBuf> {
    let path = match std::env::var_os("EXODUS_BOT_BIN") {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join("target/debug/exodus-bot"),
    };
    ensure!(
        path.is_file(),
        "the bot binary {} does not exist: run `cargo build --bins` first (or set EXODUS_BOT_BIN)",
        path.display()
    );
    Ok(path)
}

/// A port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The server URL tests use for PostgreSQL.
pub fn pg_url() -> String {
    std::env::var("EXODUS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Creates `exodus_e2e_<random>` on the server of [`pg_url`]; returns its URL.
pub async fn create_pg_database() -> Result<String> {
    let admin_url = pg_url();
    let mut conn = sqlx::PgConnection::connect(&admin_url).await.with_context(|| {
        format!("connecting to PostgreSQL at {admin_url} (set EXODUS_TEST_PG_URL)")
    })?;
    let name = format!("exodus_e2e_{}", random_suffix());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .with_context(|| format!("creating database {name}"))?;
    conn.close().await?;
    let mut url = url::Url::parse(&admin_url)?;
    url.set_path(&name);
    Ok(url.to_string())
}

fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = File::open(path) else { return format!("({} missing)", path.display()) };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(256 * 1024);
    let _ = file.seek(SeekFrom::Start(start));
    let mut text = String::new();
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    text.push_str(&String::from_utf8_lossy(&bytes));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
