//! The operator's Prometheus metrics: how many reconciles ran and how they
//! ended, how long they took, and how many ReplicatedBrokers it manages.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// A label set of one `&'static str` pair: every label value here comes
/// from a fixed list, so a scrape's cardinality stays small.
type Labelled<M> = Family<[(&'static str, &'static str); 1], M>;

/// How a reconcile ended, for the `result` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Failed; the [`crate::controller::Error::metric_label`] of the error.
    Error(&'static str),
}

/// Every metric the operator exports, under the prefix `ferromq_operator`.
pub struct Metrics {
    registry: Registry,
    reconciliations: Labelled<Counter>,
    reconcile_errors: Labelled<Counter>,
    reconcile_seconds: Histogram,
    managed: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("ferromq_operator"),
            reconciliations: Labelled::default(),
            reconcile_errors: Labelled::default(),
            // 5 ms to about 41 s: a pass is a few API calls and a ZooKeeper
            // read; a step-down may wait up to its 15 s timeout.
            reconcile_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            managed: Gauge::default(),
        };
        // Both results from the start, so a rate() has a series to work on
        // before the first failure.
        for result in ["ok", "error"] {
            m.reconciliations.get_or_create_owned(&[("result", result)]);
        }
        let r = &mut m.registry;
        for (name, help, family) in [
            (
                "reconciliations",
                "Reconciles of a ReplicatedBroker, by result (ok or error)",
                &m.reconciliations,
            ),
            (
                "reconcile_errors",
                "Failed reconciles, by kind of error",
                &m.reconcile_errors,
            ),
        ] {
            r.register(name, help, family.clone());
        }
        r.register(
            "reconcile_duration_seconds",
            "Time one reconcile of a ReplicatedBroker took",
            m.reconcile_seconds.clone(),
        );
        r.register(
            "managed_resources",
            "ReplicatedBrokers the operator watches, in every namespace",
            m.managed.clone(),
        );
        m
    }
}

impl Metrics {
    /// Counts one reconcile and its duration.
    pub fn reconciled(&self, outcome: Outcome, took: Duration) {
        self.reconcile_seconds.observe(took.as_secs_f64());
        let result = match outcome {
            Outcome::Ok => "ok",
            Outcome::Error(kind) => {
                self.reconcile_errors
                    .get_or_create(&[("error", kind)])
                    .inc();
                "error"
            }
        };
        self.reconciliations
            .get_or_create(&[("result", result)])
            .inc();
    }

    /// Sets the number of ReplicatedBrokers managed.
    pub fn set_managed(&self, count: usize) {
        self.managed.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    #[test]
    fn both_results_are_exported_before_any_reconcile() -> Result<(), std::fmt::Error> {
        let text = Metrics::default().render()?;
        assert_eq!(
            line(
                &text,
                "ferromq_operator_reconciliations_total{result=\"ok\"}"
            ),
            Some("ferromq_operator_reconciliations_total{result=\"ok\"} 0"),
            "{text}"
        );
        assert!(
            line(
                &text,
                "ferromq_operator_reconciliations_total{result=\"error\"} 0"
            )
            .is_some(),
            "{text}"
        );
        assert!(
            line(&text, "ferromq_operator_managed_resources 0").is_some(),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        Ok(())
    }

    #[test]
    fn counts_results_errors_durations_and_resources() -> Result<(), std::fmt::Error> {
        let m = Metrics::default();
        m.reconciled(Outcome::Ok, Duration::from_millis(3));
        m.reconciled(Outcome::Ok, Duration::from_millis(40));
        m.reconciled(Outcome::Error("kube_api"), Duration::from_secs(2));
        m.set_managed(4);
        let text = m.render()?;
        for expected in [
            "ferromq_operator_reconciliations_total{result=\"ok\"} 2",
            "ferromq_operator_reconciliations_total{result=\"error\"} 1",
            "ferromq_operator_reconcile_errors_total{error=\"kube_api\"} 1",
            "ferromq_operator_reconcile_duration_seconds_count 3",
            "ferromq_operator_reconcile_duration_seconds_bucket{le=\"0.005\"} 1",
            "ferromq_operator_managed_resources 4",
        ] {
            assert!(
                line(&text, expected).is_some(),
                "no {expected:?} in\n{text}"
            );
        }
        Ok(())
    }
}
