//! Prometheus metrics (SPEC §7, issue 18): commands by outcome, latency, sync, the outbox (pending
//! by kind and their oldest age, failed messages, failing destinations, rate limits), and each
//! job's last success.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use exodus_storage::{OutboxStatus, Priority};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    /// By outcome: `ok`, `error`, `ignored`, `duplicate`, `flooded`, `failed`.
    pub commands: Family<Labels, Counter>,
    pub command_seconds: Histogram,
    pub sync_errors: Counter,
    pub outbox_sent: Counter,
    pub outbox_failed: Counter,
    pub outbox_rate_limited: Counter,
    pub jobs: Family<Labels, Counter>,
    /// Unix milliseconds of the last successful sync (0: none yet).
    last_sync_ms: AtomicI64,
    last_sync_age: Gauge,
    job_last_success: Family<Labels, Gauge>,
    outbox_pending: Family<Labels, Gauge>,
    outbox_oldest: Family<Labels, Gauge>,
    outbox_failed_messages: Gauge,
    outbox_destinations: Family<Labels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("exodus");
        let metrics = Metrics {
            commands: Family::default(),
            command_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            sync_errors: Counter::default(),
            outbox_sent: Counter::default(),
            outbox_failed: Counter::default(),
            outbox_rate_limited: Counter::default(),
            jobs: Family::default(),
            last_sync_ms: AtomicI64::new(0),
            last_sync_age: Gauge::default(),
            job_last_success: Family::default(),
            outbox_pending: Family::default(),
            outbox_oldest: Family::default(),
            outbox_failed_messages: Gauge::default(),
            outbox_destinations: Family::default(),
            registry: Registry::default(),
        };
        registry.register("commands", "Commands handled, by outcome", metrics.commands.clone());
        registry.register(
            "command_seconds",
            "Time to decide and commit one command",
            metrics.command_seconds.clone(),
        );
        registry.register("sync_errors", "Failed /sync requests", metrics.sync_errors.clone());
        registry.register(
            "last_sync_age_seconds",
            "Whole seconds since the last successful /sync",
            metrics.last_sync_age.clone(),
        );
        registry.register(
            "outbox_sent",
            "Messages sent from the outbox",
            metrics.outbox_sent.clone(),
        );
        registry.register(
            "outbox_failed",
            "Failed outbox send attempts",
            metrics.outbox_failed.clone(),
        );
        registry.register(
            "outbox_rate_limited",
            "Sends answered 429 by the homeserver",
            metrics.outbox_rate_limited.clone(),
        );
        registry.register(
            "outbox_pending",
            "Messages waiting to be sent, by kind",
            metrics.outbox_pending.clone(),
        );
        registry.register(
            "outbox_oldest_seconds",
            "Age of the oldest pending message whose destination is not failing, by kind",
            metrics.outbox_oldest.clone(),
        );
        registry.register(
            "outbox_failed_messages",
            "Messages given up or dropped, and those held by given-up destinations",
            metrics.outbox_failed_messages.clone(),
        );
        registry.register(
            "outbox_destinations",
            "Failing destinations, by state (backing_off, failed)",
            metrics.outbox_destinations.clone(),
        );
        registry.register("jobs", "Scheduled jobs run, by job", metrics.jobs.clone());
        registry.register(
            "job_last_success_timestamp_seconds",
            "When each job last finished, Unix time",
            metrics.job_last_success.clone(),
        );
        Metrics { registry, ..metrics }
    }
}

fn label(name: &str, value: &str) -> Labels {
    vec![(name.to_owned(), value.to_owned())]
}

impl Metrics {
    pub fn count_command(&self, outcome: &str) {
        self.commands.get_or_create(&label("outcome", outcome)).inc();
    }

    pub fn synced(&self, at: DateTime<Utc>) {
        self.last_sync_ms.store(at.timestamp_millis(), Ordering::Release);
    }

    /// When the last sync went through, if one has.
    pub fn last_sync(&self) -> Option<DateTime<Utc>> {
        match self.last_sync_ms.load(Ordering::Acquire) {
            0 => None,
            ms => DateTime::from_timestamp_millis(ms),
        }
    }

    pub fn job_succeeded(&self, job: &str, at: DateTime<Utc>) {
        self.job_last_success.get_or_create(&label("job", job)).set(at.timestamp());
    }

    /// The text of `/metrics`, with the outbox's figures as the database has them now (`None`:
    /// it did not answer; those gauges keep their last values).
    pub fn render(&self, outbox: Option<&OutboxStatus>, now: DateTime<Utc>) -> String {
        if let Some(last) = self.last_sync() {
            self.last_sync_age.set((now - last).num_seconds());
        }
        if let Some(status) = outbox {
            for priority in Priority::ALL {
                let i = priority as usize;
                self.outbox_pending
                    .get_or_create(&label("kind", priority.name()))
                    .set(status.pending[i]);
                let age = status.oldest[i].map_or(0, |t| (now - t).num_seconds().max(0));
                self.outbox_oldest.get_or_create(&label("kind", priority.name())).set(age);
            }
            self.outbox_failed_messages.set(status.failed_messages);
            self.outbox_destinations
                .get_or_create(&label("state", "backing_off"))
                .set(status.backing_off);
            self.outbox_destinations
                .get_or_create(&label("state", "failed"))
                .set(status.failed_destinations);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
