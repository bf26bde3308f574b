//! Prometheus metrics (SPEC §7): commands handled, errors, latency, jobs run.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub struct Metrics {
    registry: Registry,
    /// By outcome: `ok`, `error`, `ignored`, `duplicate`.
    pub commands: Family<Vec<(String, String)>, Counter>,
    pub command_seconds: Histogram,
    pub sync_errors: Counter,
    pub outbox_sent: Counter,
    pub outbox_failed: Counter,
    pub jobs: Family<Vec<(String, String)>, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("exodus");
        let commands = Family::<Vec<(String, String)>, Counter>::default();
        let command_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        let sync_errors = Counter::default();
        let outbox_sent = Counter::default();
        let outbox_failed = Counter::default();
        let jobs = Family::<Vec<(String, String)>, Counter>::default();
        registry.register("commands", "Commands handled, by outcome", commands.clone());
        registry.register("command_seconds", "Time to decide and commit one command", command_seconds.clone());
        registry.register("sync_errors", "Failed /sync requests", sync_errors.clone());
        registry.register("outbox_sent", "Messages sent from the outbox", outbox_sent.clone());
        registry.register("outbox_failed", "Failed outbox send attempts", outbox_failed.clone());
        registry.register("jobs", "Scheduled jobs run, by job", jobs.clone());
        Metrics { registry, commands, command_seconds, sync_errors, outbox_sent, outbox_failed, jobs }
    }
}

impl Metrics {
    pub fn count_command(&self, outcome: &str) {
        self.commands.get_or_create(&vec![("outcome".to_owned(), outcome.to_owned())]).inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
