//! Exodus bot: the Matrix adapter around the pure command layer (`exodus-commands`) and the store
//! (`exodus-storage`). `run` is the whole bot; `main` only reads arguments and installs logging.

pub mod config;
pub mod failpoint;
pub mod flood;
pub mod http;
pub mod jobs;
pub use jobs::{digest, scheduler};
pub mod matrix;
pub use matrix::{action, classify, outbox, sync};
pub mod metrics;
pub mod pipeline;
pub use pipeline::{clearing, initiatives, pools};
pub mod supervisor;

/// mimalloc instead of the system allocator for every program built on this crate: a command
/// makes many short-lived allocations (parsing, rendering, JSON), and glibc's malloc spent about a
/// tenth of B1's time in them. Without transparent huge pages (`no_thp`): memory freed and taken
/// again was each time a fresh 2 MiB page the kernel zeroed, which was 40 % of a rollover's time
/// on PostgreSQL (B3, by `perf`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use exodus_storage::Store;
use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use crate::config::Config;
use crate::metrics::Metrics;
use crate::pipeline::{Pipeline, Settings};
use crate::supervisor::Supervisor;

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("storage: {0}")]
    Store(#[from] exodus_storage::StoreError),
    #[error("matrix: {0}")]
    Matrix(String),
    #[error("startup: {0}")]
    Startup(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The homeserver refuses the bot's login or token (`M_FORBIDDEN`, `M_UNKNOWN_TOKEN`):
    /// retrying cannot help, the operator must fix the credentials.
    #[error("the homeserver rejected the bot's credentials: {0}")]
    Rejected(String),
    /// One of the process's tasks ended while no stop was asked for (see [`supervisor`]).
    #[error("the {task} task ended: {why}")]
    TaskEnded { task: &'static str, why: String },
}

impl BotError {
    /// The process's exit status for this error: [`EXIT_REJECTED`] for rejected credentials
    /// (the systemd unit does not restart on it), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            BotError::Rejected(_) => EXIT_REJECTED,
            BotError::Config(_) => 2,
            _ => 1,
        }
    }
}

/// Exit status when the homeserver rejects the login or token (`EX_NOPERM` of sysexits.h).
pub const EXIT_REJECTED: i32 = 77;

/// The longest wait between tries to reach the database at start.
const MAX_CONNECT_BACKOFF: Duration = Duration::from_secs(30);

/// Opens the database, waiting for it with capped backoff while it does not answer (a reboot
/// that starts the bot before PostgreSQL). `None`: asked to stop meanwhile.
async fn connect_store(
    url: &str,
    shutdown: &watch::Receiver<bool>,
) -> Result<Option<Store>, BotError> {
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut stop = shutdown.clone();
        let connected = tokio::select! {
            connected = Store::connect(url) => connected,
            _ = stop.wait_for(|stop| *stop) => return Ok(None),
        };
        match connected {
            Ok(store) => return Ok(Some(store)),
            Err(e) if e.is_unavailable() => {
                warn!(error = %e, retry_in = ?backoff, "the database does not answer yet");
                let mut shutdown = shutdown.clone();
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return Ok(None),
                }
                backoff = (backoff * 2).min(MAX_CONNECT_BACKOFF);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Runs the bot until `outer` turns true, or until the homeserver rejects its credentials.
pub async fn run(config: Config, outer: watch::Receiver<bool>) -> Result<(), BotError> {
    std::fs::create_dir_all(&config.data_dir)?;
    failpoint::log_at_start();
    // The tasks stop on the caller's signal, or when one of them ends (see `supervisor`).
    let (stop_others, shutdown) = watch::channel(false);
    let stop_on_signal = stop_others.clone();
    let mut outer_signal = outer.clone();
    tokio::spawn(async move {
        if outer_signal.wait_for(|stop| *stop).await.is_ok() {
            let _ = stop_on_signal.send(true);
        }
    });
    let listener = tokio::net::TcpListener::bind(config.http_addr).await.map_err(|e| {
        BotError::Startup(format!("cannot listen on http_addr {}: {e}", config.http_addr))
    })?;
    let Some(store) = connect_store(config.database_url.expose(), &shutdown).await? else {
        return Ok(());
    };
    info!(backend = store.backend_name(), "database ready");
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let health = http::Health {
        ready: ready.clone(),
        metrics: metrics.clone(),
        store: store.clone(),
        sync_age: sync::LONG_POLL * 2,
        reply_age: config.limits.health_reply_age,
    };
    let mut tasks = Supervisor::new(stop_others.clone());
    let stop_http = shutdown.clone();
    tasks.spawn("http", async move { Ok(http::serve(listener, health, stop_http).await?) });
    let client = match connect_homeserver(&config, &shutdown).await {
        Ok(Some(client)) => client,
        // Stopped while waiting (by the caller, or because the HTTP server ended).
        Ok(None) => return finish(tasks, store, Ok(())).await,
        Err(e) => {
            let _ = stop_others.send(true);
            return finish(tasks, store, Err(e)).await;
        }
    };

    let settings = Settings {
        prefixes: config.prefixes.clone(),
        unit: config.unit.clone(),
        default_language: config.default_language,
        timezone: config.timezone,
    };
    let pipeline = Arc::new(
        Pipeline::new(store.clone(), settings)
            .with_admins(config.admins.clone())
            .with_flood_control(flood::FloodControl::new(
                config.limits.commands_burst,
                config.limits.commands_per_minute,
            ))
            .with_repeat_every(
                chrono::Duration::from_std(config.limits.repeat_every)
                    .unwrap_or(chrono::Duration::MAX),
            ),
    );
    let wake = Arc::new(Notify::new());
    // This process among any others sharing the database: the device (one per data_dir) and pid.
    let runner = format!("{}/{}", config.device_id, std::process::id());
    let outbox = outbox::Outbox {
        client: client.clone(),
        store: store.clone(),
        wake: wake.clone(),
        metrics: metrics.clone(),
        runner: runner.clone(),
        settings: pipeline.settings().clone(),
        retry_max: config.limits.outbox_retry_max,
        give_up_after: config.limits.outbox_give_up_after,
        invited: Default::default(),
    };
    let stop_outbox = shutdown.clone();
    tasks.spawn("outbox", async move {
        outbox.run(stop_outbox).await;
        Ok(())
    });
    let scheduler = jobs::Scheduler {
        pipeline: pipeline.clone(),
        schedules: config.schedules.clone(),
        timezone: config.timezone,
        runner,
        metrics: metrics.clone(),
        wake: wake.clone(),
    };
    let stop_scheduler = shutdown.clone();
    tasks.spawn("scheduler", async move {
        scheduler.run(stop_scheduler).await;
        Ok(())
    });
    let syncer = sync::Syncer::new(
        client,
        pipeline,
        metrics,
        wake,
        ready,
        config.invite_policy.clone(),
        config.admins.clone(),
    );
    tasks.spawn("sync", syncer.run(shutdown.clone()));
    finish(tasks, store, Ok(())).await
}

/// Waits for the supervised tasks to end, closes the store, and gives the first error: `result`
/// (the reason the bot stops) or the error of a task that ended by itself.
async fn finish(
    tasks: Supervisor,
    store: Store,
    result: Result<(), BotError>,
) -> Result<(), BotError> {
    let ended = tasks.wait().await;
    store.close().await;
    info!("stopped");
    result.and(ended)
}

/// Logs in or restores the session. The homeserver may not be up yet (both started by one
/// script, or a reboot): keeps trying until it answers, except on errors retrying cannot mend;
/// `None` when stopped while waiting.
async fn connect_homeserver(
    config: &Config,
    shutdown: &watch::Receiver<bool>,
) -> Result<Option<matrix_sdk::Client>, BotError> {
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut stop = shutdown.clone();
        let connected = tokio::select! {
            connected = matrix::connect(config) => connected,
            _ = stop.wait_for(|stop| *stop) => return Ok(None),
        };
        match connected {
            Ok(client) => return Ok(Some(client)),
            Err(e @ (BotError::Startup(_) | BotError::Io(_) | BotError::Rejected(_))) => {
                return Err(e);
            }
            Err(e) => {
                warn!(error = %e, retry_in = ?backoff, "cannot reach the homeserver yet");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.wait_for(|stop| *stop) => return Ok(None),
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
