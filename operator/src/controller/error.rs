//! What can go wrong while reconciling, and how soon to try again.

use crate::validate::ValidationError;
use kube::runtime::controller::Action;
use std::time::Duration;
use thiserror::Error;

/// How long to wait after an API error before reconciling again.
pub const RETRY_AFTER: Duration = Duration::from_secs(15);

/// A failed reconcile.
#[derive(Debug, Error)]
pub enum Error {
    /// The spec cannot be built; it takes a person to change it.
    #[error("invalid ReplicatedBroker: {0}")]
    Invalid(#[from] ValidationError),
    /// The API server refused or failed a server-side apply.
    #[error("applying {kind} {name}: {source}")]
    Apply {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    /// Reading or changing pods, the StatefulSet or the status failed.
    #[error("{action}: {source}")]
    Kube {
        action: String,
        #[source]
        source: kube::Error,
    },
    /// The API server does not know ReplicatedBrokers.
    #[error(
        "cannot list ReplicatedBrokers ({0}); is the CRD installed? kubectl apply -f crds/replicatedbrokers.ferromq.io.yaml"
    )]
    CrdMissing(#[source] kube::Error),
}

impl Error {
    /// A failed API call, saying what the operator was doing.
    pub fn kube(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
        let action = action.into();
        move |source| Error::Kube { action, source }
    }

    /// The `error` label of the reconcile-failure metric: few values, so a
    /// dashboard can tell a bad spec from a struggling API server.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_spec",
            Error::Apply { .. } => "apply_failed",
            Error::Kube { .. } => "kube_api",
            Error::CrdMissing(_) => "crd_missing",
        }
    }

    /// When to reconcile again: a bad spec waits for the next change to the
    /// resource (retrying cannot fix it); anything else retries soon.
    pub fn action(&self) -> Action {
        match self {
            Error::Invalid(_) => Action::await_change(),
            Error::Apply { .. } | Error::Kube { .. } | Error::CrdMissing(_) => {
                Action::requeue(RETRY_AFTER)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error() -> kube::Error {
        let status = kube::core::Status::failure("conflict", "Conflict").with_code(409);
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn labels_and_retries_per_kind_of_failure() {
        let invalid = Error::from(ValidationError::ZookeeperMode);
        assert_eq!(invalid.metric_label(), "invalid_spec");
        assert_eq!(invalid.action(), Action::await_change());
        assert!(
            invalid
                .to_string()
                .starts_with("invalid ReplicatedBroker: set exactly one of"),
            "{invalid}"
        );

        let apply = Error::Apply {
            kind: "StatefulSet",
            name: "orders".into(),
            source: api_error(),
        };
        assert_eq!(apply.metric_label(), "apply_failed");
        assert_eq!(apply.action(), Action::requeue(RETRY_AFTER));
        assert!(
            apply
                .to_string()
                .starts_with("applying StatefulSet orders: "),
            "{apply}"
        );

        let missing = Error::CrdMissing(api_error());
        assert_eq!(missing.metric_label(), "crd_missing");
        assert!(
            missing.to_string().contains("kubectl apply -f crds/"),
            "{missing}"
        );
    }
}
