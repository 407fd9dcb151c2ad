//! The admin endpoint against the real control plane: `/readyz` is 503
//! until the controller has synced ReplicatedBrokers with the API server,
//! then 200, and `/metrics` counts the reconciles and managed resources.

use crate::support::control_plane::ControlPlane;
use crate::support::{TestResult, broker, http_get, install_crd, namespace, wait_for};
use ferromq_operator::admin::{self, Telemetry};
use ferromq_operator::crd::ReplicatedBroker;
use kube::Api;
use kube::api::PostParams;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The value of the sample named exactly `series` in a metrics text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
#[ignore = "needs the control plane: tests/control-plane/run"]
async fn readyz_turns_200_once_synced_and_metrics_count_reconciles() -> TestResult {
    let Some(cp) = ControlPlane::get().await? else {
        return Ok(());
    };
    let client = &cp.client;
    let ns = "t-admin";
    install_crd(client).await?;
    namespace(client, ns).await?;

    let listener = admin::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let address = listener.local_addr()?;
    let telemetry = Arc::new(Telemetry::default());
    let _server = tokio::spawn(admin::serve(listener, telemetry.clone()));
    assert_eq!(
        http_get(&address.to_string(), "/livez").await.map(|r| r.0),
        Some(200)
    );
    assert_eq!(
        http_get(&address.to_string(), "/readyz").await.map(|r| r.0),
        Some(503)
    );

    let run = ferromq_operator::controller::run_with(client.clone(), false, telemetry);
    let _operator = tokio::spawn(async move {
        if let Err(e) = run.await {
            eprintln!("operator stopped: {e}");
        }
    });
    wait_for("/readyz to answer 200", Duration::from_secs(30), || async {
        (http_get(&address.to_string(), "/readyz").await?.0 == 200).then_some(())
    })
    .await?;

    Api::<ReplicatedBroker>::namespaced(client.clone(), ns)
        .create(
            &PostParams::default(),
            &broker(include_str!("../../../examples/replicatedbroker.yaml"), ns)?,
        )
        .await?;
    let text = wait_for(
        "a reconcile counted and a managed resource",
        Duration::from_secs(60),
        || async {
            let (code, text) = http_get(&address.to_string(), "/metrics").await?;
            let counted = sample(&text, "ferromq_operator_reconcile_duration_seconds_count")?;
            let managed = sample(&text, "ferromq_operator_managed_resources")?;
            (code == 200 && counted >= 1.0 && managed >= 1.0).then_some(text)
        },
    )
    .await?;
    let ok = sample(
        &text,
        "ferromq_operator_reconciliations_total{result=\"ok\"}",
    );
    let failed = sample(
        &text,
        "ferromq_operator_reconciliations_total{result=\"error\"}",
    );
    assert!(
        ok.unwrap_or(0.0) + failed.unwrap_or(0.0) >= 1.0,
        "no reconcile counted by result:\n{text}"
    );
    Ok(())
}
