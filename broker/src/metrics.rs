//! Prometheus metrics for the admin endpoint.

use crate::status::Status;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type QueueFamily = Family<Vec<(String, String)>, Gauge>;

/// Every metric the broker exports.
pub struct Metrics {
    registry: Registry,
    pub messages_in: Counter,
    pub messages_out: Counter,
    pub messages_expired: Counter,
    pub connections: Gauge,
    pub fsync_seconds: Histogram,
    pub commit_batch_entries: Histogram,
    queue_depth: QueueFamily,
    queue_consumers: QueueFamily,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ferromq");
        let m = Metrics {
            messages_in: Counter::default(),
            messages_out: Counter::default(),
            messages_expired: Counter::default(),
            connections: Gauge::default(),
            // 50 µs to about 1.6 s.
            fsync_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            commit_batch_entries: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            queue_depth: QueueFamily::default(),
            queue_consumers: QueueFamily::default(),
            registry: Registry::default(),
        };
        registry.register(
            "messages_in",
            "Messages received from producers",
            m.messages_in.clone(),
        );
        registry.register(
            "messages_out",
            "Messages delivered to consumers",
            m.messages_out.clone(),
        );
        registry.register(
            "messages_expired",
            "Messages dropped because they expired",
            m.messages_expired.clone(),
        );
        registry.register(
            "connections",
            "Open client connections",
            m.connections.clone(),
        );
        registry.register(
            "fsync_seconds",
            "Time to write and fsync one group commit",
            m.fsync_seconds.clone(),
        );
        registry.register(
            "commit_batch_entries",
            "Log entries written per group commit",
            m.commit_batch_entries.clone(),
        );
        registry.register(
            "queue_depth",
            "Messages in a queue not yet acknowledged",
            m.queue_depth.clone(),
        );
        registry.register(
            "queue_consumers",
            "Subscriptions consuming from a queue",
            m.queue_consumers.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Renders every metric in the Prometheus text format, with per-queue
    /// gauges taken from `status`.
    pub fn render(&self, status: &Status) -> String {
        for (name, q) in &status.queues {
            let labels = vec![("queue".to_owned(), name.clone())];
            self.queue_depth
                .get_or_create(&labels)
                .set(i64::try_from(q.depth).unwrap_or(i64::MAX));
            self.queue_consumers
                .get_or_create(&labels)
                .set(i64::try_from(q.consumers).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
