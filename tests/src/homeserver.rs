//! Which Synapse the tests talk to, and registering users on it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use hmac::{Hmac, Mac as _};
use rand::Rng as _;
use serde_json::json;
use sha1::Sha1;

use crate::workspace_root;

/// A running Synapse: where its client API is, its server name, and the shared secret of its
/// admin registration API.
#[derive(Clone, Debug)]
pub struct Homeserver {
    /// Base URL of the client API, e.g. `http://127.0.0.1:18008`.
    pub url: String,
    /// The server name that user IDs end with, e.g. `localhost:18448`.
    pub server_name: String,
    /// `registration_shared_secret` of the server.
    pub shared_secret: String,
    /// The server keeps Synapse's default message rate limit ([`Homeserver::limited`]): the
    /// members [`TestUser::login`](crate::TestUser::login) registers are exempted from it, bots
    /// are not.
    pub rate_limited: bool,
}

impl Homeserver {
    /// Homeserver A: from `EXODUS_TEST_HS_URL`, `EXODUS_TEST_HS_SECRET`, `EXODUS_TEST_HS_NAME`
    /// (set by `deploy/test.sh`). When they are unset, a Synapse is started with
    /// `deploy/synapse.sh` under `target/e2e/auto-hs/a` and left running for the next test
    /// process (stop it with `deploy/synapse.sh stop target/e2e/auto-hs/a`).
    ///
    /// Panics when no homeserver is available: an end-to-end test never passes by skipping.
    pub fn a() -> Homeserver {
        static A: OnceLock<Homeserver> = OnceLock::new();
        A.get_or_init(|| {
            Self::from_env("EXODUS_TEST_HS")
                .unwrap_or_else(|| auto_start("a", 18108, Some(18548), false))
        })
        .clone()
    }

    /// Homeserver B, federated with A: from `EXODUS_TEST_HS2_URL`, `EXODUS_TEST_HS2_SECRET`,
    /// `EXODUS_TEST_HS2_NAME`, or started like [`Homeserver::a`] under `target/e2e/auto-hs/b`.
    pub fn b() -> Homeserver {
        static B: OnceLock<Homeserver> = OnceLock::new();
        B.get_or_init(|| {
            Self::from_env("EXODUS_TEST_HS2")
                .unwrap_or_else(|| auto_start("b", 18109, Some(18549), false))
        })
        .clone()
    }

    /// Homeserver C, with a real message rate limit (Synapse's default `rc_message`: 0.2 events/s
    /// per account after a burst of 10), not federated: from `EXODUS_TEST_HS3_URL`,
    /// `EXODUS_TEST_HS3_SECRET`, `EXODUS_TEST_HS3_NAME`, or started like [`Homeserver::a`] (with
    /// `EXODUS_SYNAPSE_REAL_LIMITS=1`) under `target/e2e/auto-hs/limited`. A bot registered on it
    /// is limited as on a community's homeserver; the test members are exempted as they log in
    /// ([`Homeserver::exempt_from_rate_limit`]), so that only the bot's sends are limited.
    pub fn limited() -> Homeserver {
        static C: OnceLock<Homeserver> = OnceLock::new();
        C.get_or_init(|| {
            let hs = Self::from_env("EXODUS_TEST_HS3")
                .unwrap_or_else(|| auto_start("limited", 18110, None, true));
            Homeserver { rate_limited: true, ..hs }
        })
        .clone()
    }

    /// Lifts the message rate limit of `user_id` on a [rate-limited](Homeserver::limited) server
    /// (`POST /_synapse/admin/v1/users/<user_id>/override_ratelimit` with 0 and 0, which Synapse
    /// applies at once); does nothing on the others, whose limits are raised for everyone.
    pub async fn exempt_from_rate_limit(&self, user_id: &str) -> Result<()> {
        if !self.rate_limited {
            return Ok(());
        }
        let token = cached_admin_token(self).await?;
        let url = format!("{}/_synapse/admin/v1/users/{user_id}/override_ratelimit", self.url);
        let body = json!({"messages_per_second": 0, "burst_count": 0});
        post_json(&url, Some(&token), &body, &format!("exempting {user_id} from the rate limit"))
            .await?;
        Ok(())
    }

    fn from_env(prefix: &str) -> Option<Homeserver> {
        let url = std::env::var(format!("{prefix}_URL")).ok()?;
        let var = |suffix: &str| {
            std::env::var(format!("{prefix}_{suffix}"))
                .unwrap_or_else(|_| panic!("{prefix}_URL is set but {prefix}_{suffix} is not"))
        };
        Some(Homeserver {
            url: url.trim_end_matches('/').to_owned(),
            server_name: var("NAME"),
            shared_secret: var("SECRET"),
            rate_limited: false,
        })
    }

    /// The full user ID of `localpart` on this server.
    pub fn user_id(&self, localpart: &str) -> String {
        format!("@{localpart}:{}", self.server_name)
    }
}

/// Starts (or reuses) a Synapse in `target/e2e/auto-hs/<name>`, in federation mode when it has a
/// `tls_port`, holding a file lock so that concurrently starting test binaries share one server.
/// With `real_limits` it keeps Synapse's default message rate limit.
fn auto_start(name: &str, http_port: u16, tls_port: Option<u16>, real_limits: bool) -> Homeserver {
    auto_start_inner(name, http_port, tls_port, real_limits).unwrap_or_else(|e| {
        panic!(
            "no homeserver: EXODUS_TEST_HS_URL is unset and starting one failed: {e:#}\n\
             Run the suite with `bash deploy/test.sh`, or install Synapse with \
             `deploy/synapse.sh install`."
        )
    })
}

fn auto_start_inner(
    name: &str,
    http_port: u16,
    tls_port: Option<u16>,
    real_limits: bool,
) -> Result<Homeserver> {
    let root = workspace_root();
    let base = root.join("target/e2e/auto-hs");
    fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    let lock = File::create(base.join("lock"))?;
    lock.lock().context("locking target/e2e/auto-hs/lock")?;

    let dir = base.join(name);
    let url = format!("http://127.0.0.1:{http_port}");
    if !(server_running(&dir) && answers(&url)) {
        synapse_sh(&["install".into()])?;
        // A crashed server may have left its pid file behind.
        let _ = synapse_sh(&["stop".into(), dir.clone().into()]);
        let mut start = vec!["start".into(), dir.clone().into(), http_port.to_string().into()];
        start.extend(tls_port.map(|port| port.to_string().into()));
        synapse_sh_limited(&start, real_limits)?;
    }
    let hs = served_from(&dir, url)?;
    drop(lock);
    Ok(hs)
}

/// Runs `deploy/synapse.sh <args>`, its messages on our stderr (its stdout, the `export` lines, is
/// not needed: [`served_from`] reads the same from the server's directory).
fn synapse_sh(args: &[std::ffi::OsString]) -> Result<()> {
    synapse_sh_limited(args, false)
}

/// [`synapse_sh`]; a server it starts keeps Synapse's default message rate limit if
/// `real_limits` (`EXODUS_SYNAPSE_REAL_LIMITS=1`).
fn synapse_sh_limited(args: &[std::ffi::OsString], real_limits: bool) -> Result<()> {
    let output = Command::new("bash")
        .arg(workspace_root().join("deploy/synapse.sh"))
        .args(args)
        .env("EXODUS_SYNAPSE_REAL_LIMITS", if real_limits { "1" } else { "0" })
        .stderr(std::process::Stdio::inherit())
        .output()?;
    ensure!(
        output.status.success(),
        "`deploy/synapse.sh {}` failed",
        args.join(std::ffi::OsStr::new(" ")).to_string_lossy()
    );
    Ok(())
}

/// The homeserver `deploy/synapse.sh start` runs from `dir`, answering at `url`.
fn served_from(dir: &Path, url: String) -> Result<Homeserver> {
    let read = |file: &str| -> Result<String> {
        Ok(fs::read_to_string(dir.join(file))
            .with_context(|| format!("reading {}", dir.join(file).display()))?
            .trim()
            .to_owned())
    };
    Ok(Homeserver {
        url,
        server_name: read("server_name")?,
        shared_secret: read("shared_secret")?,
        rate_limited: false,
    })
}

/// POSTs `body` as JSON (with `token` as bearer, if any); returns the answer, or fails with `what`,
/// the status and the answer.
pub async fn post_json(
    url: &str,
    token: Option<&str>,
    body: &serde_json::Value,
    what: &str,
) -> Result<serde_json::Value> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let mut request = http.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.with_context(|| format!("{what}: POST {url}"))?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    ensure!(status.is_success(), "{what}: HTTP {status}: {answer}");
    Ok(answer)
}

fn server_running(dir: &Path) -> bool {
    let Ok(pid) = fs::read_to_string(dir.join("pid")) else { return false };
    let Ok(pid) = pid.trim().parse::<i32>() else { return false };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

fn answers(url: &str) -> bool {
    // A blocking probe without a runtime: curl is a dependency of deploy/synapse.sh anyway.
    Command::new("curl")
        .args(["-fsS", "-o", "/dev/null", "--max-time", "2"])
        .arg(format!("{url}/_matrix/client/versions"))
        .status()
        .is_ok_and(|s| s.success())
}

/// A random lower-case suffix for user names, room names and databases.
pub fn random_suffix() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..10).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

/// Registers `<prefix>-<random>` through Synapse's shared-secret admin API
/// (`/_synapse/admin/v1/register`) and returns `(user_id, password)`.
pub async fn register(hs: &Homeserver, prefix: &str) -> Result<(String, String)> {
    let localpart = format!("{prefix}-{}", random_suffix());
    let password = format!("pw-{}", random_suffix());
    let user_id = register_exact(hs, &localpart, &password, false).await?;
    Ok((user_id, password))
}

/// Registers exactly `localpart` with `password`; returns the user ID.
pub async fn register_exact(
    hs: &Homeserver,
    localpart: &str,
    password: &str,
    admin: bool,
) -> Result<String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let endpoint = format!("{}/_synapse/admin/v1/register", hs.url);
    let nonce: serde_json::Value = http
        .get(&endpoint)
        .send()
        .await
        .with_context(|| format!("GET {endpoint}"))?
        .error_for_status()?
        .json()
        .await?;
    let nonce = nonce["nonce"].as_str().context("no nonce in the register answer")?.to_owned();

    let mut mac = Hmac::<Sha1>::new_from_slice(hs.shared_secret.as_bytes())?;
    mac.update(nonce.as_bytes());
    mac.update(b"\0");
    mac.update(localpart.as_bytes());
    mac.update(b"\0");
    mac.update(password.as_bytes());
    mac.update(b"\0");
    mac.update(if admin { b"admin".as_slice() } else { b"notadmin".as_slice() });
    let mac = hex::encode(mac.finalize().into_bytes());

    let body = json!({"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac});
    let body = post_json(&endpoint, None, &body, &format!("registering {localpart} on {}", hs.url))
        .await?;
    Ok(body["user_id"].as_str().context("no user_id in the register answer")?.to_owned())
}

/// `target/e2e/<sub>` in the workspace, created.
pub fn e2e_dir(sub: &str) -> PathBuf {
    let dir = workspace_root().join("target/e2e").join(sub);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// Logs `user_id` in with its password on `device_id` (`POST /login`); returns the access token.
pub async fn login_token(
    hs: &Homeserver,
    user_id: &str,
    password: &str,
    device_id: &str,
) -> Result<String> {
    let body = json!({
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
        "device_id": device_id,
    });
    let body = post_json(
        &format!("{}/_matrix/client/v3/login", hs.url),
        None,
        &body,
        &format!("logging in {user_id}"),
    )
    .await?;
    Ok(body["access_token"].as_str().context("no access_token in the login answer")?.to_owned())
}

/// A server admin's access token on `hs` (a new admin account), for Synapse's admin API.
pub async fn admin_token(hs: &Homeserver) -> Result<String> {
    let localpart = format!("admin-{}", random_suffix());
    let password = format!("pw-{}", random_suffix());
    let user_id = register_exact(hs, &localpart, &password, true).await?;
    login_token(hs, &user_id, &password, "ADMIN").await
}

/// A server admin's access token on `hs`, from an admin account registered once per test process
/// and server (see [`admin_token`]).
pub async fn cached_admin_token(hs: &Homeserver) -> Result<String> {
    static TOKENS: tokio::sync::Mutex<BTreeMap<String, String>> =
        tokio::sync::Mutex::const_new(BTreeMap::new());
    let mut tokens = TOKENS.lock().await;
    if let Some(token) = tokens.get(&hs.url) {
        return Ok(token.clone());
    }
    let token = admin_token(hs).await?;
    tokens.insert(hs.url.clone(), token.clone());
    Ok(token)
}

/// A Synapse of one test's own, without federation, that the test may stop and start again
/// (the shared servers serve every test at once). Its data stays in `target/e2e/private/<name>`
/// between starts; dropping it stops the server.
pub struct PrivateHomeserver {
    pub hs: Homeserver,
    dir: PathBuf,
    port: u16,
    /// Federation mode: the TLS port its server name ends with.
    tls_port: Option<u16>,
}

impl PrivateHomeserver {
    /// Starts a fresh server on `port` (anything left in its directory is removed first).
    pub fn start(name: &str, port: u16) -> Result<PrivateHomeserver> {
        let dir = workspace_root().join("target/e2e/private").join(name);
        let _ = synapse_sh(&["stop".into(), dir.clone().into()]);
        let _ = fs::remove_dir_all(&dir);
        synapse_sh(&["start".into(), dir.clone().into(), port.to_string().into()])?;
        let hs = served_from(&dir, format!("http://127.0.0.1:{port}"))?;
        Ok(PrivateHomeserver { hs, dir, port, tls_port: None })
    }

    /// Like [`PrivateHomeserver::start`], in federation mode (server name `localhost:<tls_port>`):
    /// it federates with A and B, and can be stopped under their members.
    pub fn start_federated(name: &str, port: u16, tls_port: u16) -> Result<PrivateHomeserver> {
        let dir = workspace_root().join("target/e2e/private").join(name);
        let _ = synapse_sh(&["stop".into(), dir.clone().into()]);
        let _ = fs::remove_dir_all(&dir);
        synapse_sh(&[
            "start".into(),
            dir.clone().into(),
            port.to_string().into(),
            tls_port.to_string().into(),
        ])?;
        let hs = served_from(&dir, format!("http://127.0.0.1:{port}"))?;
        Ok(PrivateHomeserver { hs, dir, port, tls_port: Some(tls_port) })
    }

    /// Stops the server (SIGTERM); its data stays.
    pub fn stop(&self) -> Result<()> {
        synapse_sh(&["stop".into(), self.dir.clone().into()])
    }

    /// Starts the stopped server again on the same data.
    pub fn restart(&self) -> Result<()> {
        let mut args = vec!["start".into(), self.dir.clone().into(), self.port.to_string().into()];
        if let Some(tls) = self.tls_port {
            args.push(tls.to_string().into());
        }
        synapse_sh(&args)
    }
}

impl Drop for PrivateHomeserver {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
