//! End-to-end test harness: real Synapse homeservers, real Matrix clients (matrix-sdk), and the
//! bot run as a child process.
//!
//! - [`Homeserver::a`] / [`Homeserver::b`]: two federated Synapses, from the environment that
//!   `deploy/test.sh` sets up (or started on demand under `target/e2e/auto-hs`);
//!   [`Homeserver::limited`]: a third with Synapse's default message rate limit, which only the
//!   bots registered on it keep (the members are exempted).
//! - [`TestUser::login`]: a registered user with its own recording sync loop; helpers to create
//!   rooms, send commands and wait for the bot's [`Reply`].
//! - [`BotProcess::start_new`]: the `exodus-bot` binary with a fresh config, data dir and
//!   database; `stop` (SIGTERM), `kill` (SIGKILL) and `start` again.
//!
//! Waits poll with a timeout ([`TestUser::wait_for`], [`wait_until`]); nothing sleeps for a fixed
//! time. Every test uses random user names, so tests run in parallel against the same servers.

use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use anyhow::{Result, bail};

pub mod bot;
pub mod fixture;
pub mod homeserver;
pub mod postgres;
pub mod user;

pub use bot::{BOT_DEVICE_ID, BotOptions, BotProcess, Database};
pub use fixture::{
    BotRoom, admin_run, assert_answered_once_in_order, bot_dm_notice, expect_error, has_cyrillic,
    is_amount,
};
pub use homeserver::{
    Homeserver, PrivateHomeserver, admin_token, cached_admin_token, login_token, post_json,
    register,
};
pub use postgres::PrivatePostgres;
pub use user::{JOIN_TIMEOUT, REPLY_TIMEOUT, Recorded, Recording, Reply, RoomOptions, TestUser};

/// The workspace root (parent of this crate).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Installs a `tracing` subscriber for the test process once (`RUST_LOG`; by default warnings,
/// without matrix-sdk's own, which are noisy and harmless here: missing account data, no key
/// backup).
pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(
                "warn,matrix_sdk=off,matrix_sdk_base=off,matrix_sdk_crypto=off,matrix_sdk_common=off",
            ));
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    });
}

/// Polls `check` every 50 ms until it returns `Some`, failing with `what` after `timeout`.
pub async fn wait_until<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(found) = check().await {
            return Ok(found);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
