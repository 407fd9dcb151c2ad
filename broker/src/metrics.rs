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
    cluster: [(&'static str, &'static str, Gauge); 5],
    replica_lag: QueueFamily,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("ferromq"),
            messages_in: Counter::default(),
            messages_out: Counter::default(),
            messages_expired: Counter::default(),
            connections: Gauge::default(),
            // 50 µs to about 1.6 s.
            fsync_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            commit_batch_entries: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            queue_depth: QueueFamily::default(),
            queue_consumers: QueueFamily::default(),
            cluster: [
                (
                    "epoch",
                    "The epoch this node serves or follows",
                    Gauge::default(),
                ),
                (
                    "log_index",
                    "Index of the last entry in this node's log",
                    Gauge::default(),
                ),
                (
                    "commit_index",
                    "Highest entry known committed on a quorum",
                    Gauge::default(),
                ),
                (
                    "master",
                    "1 while this node is the serving master",
                    Gauge::default(),
                ),
                (
                    "quorum_available",
                    "1 while a quorum of nodes replicates (master) or the master streams (replica)",
                    Gauge::default(),
                ),
            ],
            replica_lag: QueueFamily::default(),
        };
        let r = &mut m.registry;
        let counters = [
            (
                "messages_in",
                "Messages received from producers",
                &m.messages_in,
            ),
            (
                "messages_out",
                "Messages delivered to consumers",
                &m.messages_out,
            ),
            (
                "messages_expired",
                "Messages dropped because they expired",
                &m.messages_expired,
            ),
        ];
        for (name, help, counter) in counters {
            r.register(name, help, counter.clone());
        }
        r.register(
            "connections",
            "Open client connections",
            m.connections.clone(),
        );
        let histograms = [
            (
                "fsync_seconds",
                "Time to write and fsync one group commit",
                &m.fsync_seconds,
            ),
            (
                "commit_batch_entries",
                "Log entries written per group commit",
                &m.commit_batch_entries,
            ),
        ];
        for (name, help, histogram) in histograms {
            r.register(name, help, histogram.clone());
        }
        let queues = [
            (
                "queue_depth",
                "Messages in a queue not yet acknowledged",
                &m.queue_depth,
            ),
            (
                "queue_consumers",
                "Subscriptions consuming from a queue",
                &m.queue_consumers,
            ),
        ];
        for (name, help, family) in queues {
            r.register(name, help, family.clone());
        }
        for (name, help, gauge) in &m.cluster {
            r.register(*name, *help, gauge.clone());
        }
        r.register(
            "replica_lag_entries",
            "Entries a replica has yet to fsync, as the master sees it",
            m.replica_lag.clone(),
        );
        m
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
        if let Some(c) = &status.cluster {
            let values = [
                c.epoch,
                c.position.index,
                c.commit_index,
                u64::from(status.role == "master"),
                u64::from(c.quorum_available),
            ];
            for ((_, _, gauge), v) in self.cluster.iter().zip(values) {
                gauge.set(i64::try_from(v).unwrap_or(i64::MAX));
            }
            self.replica_lag.clear();
            for r in &c.replicas {
                let labels = vec![("replica".to_owned(), r.node_id.clone())];
                self.replica_lag
                    .get_or_create(&labels)
                    .set(i64::try_from(r.lag).unwrap_or(i64::MAX));
            }
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
