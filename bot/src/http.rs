//! `/health` and `/metrics` (Prometheus text).
//!
//! `/health` answers 200 with `{"status":"ok"}` only when the bot does its job: the first sync
//! and the catch-up of every joined room are done, the last successful sync is recent (within
//! twice the long-poll timeout), the database answers, and no reply has waited to be sent longer
//! than `limits.health_reply_age_seconds` (a destination that is failing on its own does not
//! count: the others are still answered). Otherwise 503 with `{"status":"unhealthy","reasons":[…]}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::Utc;
use exodus_storage::{Priority, Store};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::metrics::Metrics;

/// How long `/health` and `/metrics` wait for the database.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(3);

/// What `/health` judges by.
#[derive(Clone)]
pub struct Health {
    pub ready: Arc<AtomicBool>,
    pub metrics: Arc<Metrics>,
    pub store: Store,
    /// The last sync may be this old (twice the long poll).
    pub sync_age: Duration,
    /// A pending reply may be this old.
    pub reply_age: Duration,
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    health: Health,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/health", get(health_check))
        .route("/metrics", get(metrics_text))
        .with_state(health);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
}

/// The reasons the bot is not healthy now (none: healthy).
pub async fn reasons(health: &Health) -> Vec<String> {
    let now = Utc::now();
    let mut reasons = Vec::new();
    if !health.ready.load(Ordering::Acquire) {
        reasons.push("starting: first sync and catch-up not done".to_owned());
    }
    match health.metrics.last_sync() {
        Some(last) if (now - last).to_std().unwrap_or_default() > health.sync_age => {
            reasons.push(format!("no successful sync for {} s", (now - last).num_seconds()));
        }
        None if health.ready.load(Ordering::Acquire) => {
            reasons.push("no successful sync yet".to_owned())
        }
        _ => {}
    }
    match tokio::time::timeout(DATABASE_TIMEOUT, health.store.outbox_status()).await {
        Ok(Ok(status)) => {
            if let Some(oldest) = status.oldest[Priority::Reply as usize] {
                let age = (now - oldest).to_std().unwrap_or_default();
                if age > health.reply_age {
                    reasons.push(format!("a reply has waited {} s to be sent", age.as_secs()));
                }
            }
        }
        Ok(Err(e)) => reasons.push(format!("database: {e}")),
        Err(_) => {
            reasons.push(format!("database: no answer within {} s", DATABASE_TIMEOUT.as_secs()))
        }
    }
    reasons
}

async fn health_check(State(health): State<Health>) -> (StatusCode, Json<Value>) {
    let reasons = reasons(&health).await;
    if reasons.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ok" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unhealthy", "reasons": reasons })),
        )
    }
}

async fn metrics_text(State(health): State<Health>) -> ([(&'static str, &'static str); 1], String) {
    let outbox = tokio::time::timeout(DATABASE_TIMEOUT, health.store.outbox_status())
        .await
        .ok()
        .and_then(Result::ok);
    if let Ok(Ok(runs)) = tokio::time::timeout(DATABASE_TIMEOUT, health.store.last_job_runs()).await
    {
        for run in runs.iter().filter(|r| !r.manual) {
            if let Some(finished) = run.finished {
                health.metrics.job_succeeded(&run.job, finished);
            }
        }
    }
    let text = health.metrics.render(outbox.as_ref(), Utc::now());
    ([("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
}
