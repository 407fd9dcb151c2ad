//! `ferromq-operator`: prints the CRD, or runs the controller.

use anyhow::Context;
use clap::{Parser, Subcommand};
use ferromq_operator::admin::{self, Telemetry};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "ferromq-operator",
    version,
    about = "ferromq's Kubernetes operator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the ReplicatedBroker CRD as YAML (what crds/ holds).
    Crd,
    /// Reconcile ReplicatedBrokers in every namespace, with the cluster
    /// credentials of the environment (in-cluster, or KUBECONFIG).
    Run {
        /// Log filter, in tracing's EnvFilter syntax.
        #[arg(long, env = "FERROMQ_LOG", default_value = "info")]
        log: String,
        /// Address of the admin HTTP endpoint: /livez, /readyz, /metrics.
        #[arg(long, env = "FERROMQ_ADMIN_LISTEN", default_value = admin::DEFAULT_LISTEN)]
        admin_listen: SocketAddr,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd => {
            let yaml = ferromq_operator::crd::crd_yaml().context("serializing the CRD")?;
            print!("{yaml}");
        }
        Command::Run { log, admin_listen } => {
            let filter = EnvFilter::try_new(&log).with_context(|| format!("--log {log:?}"))?;
            // Colours only on a terminal: in a pod the log is read as text.
            let ansi = std::io::stdout().is_terminal();
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(ansi)
                .init();
            // The admin endpoint first: /livez answers while the
            // controller is still reaching the API server.
            let listener = admin::bind(admin_listen).await?;
            let telemetry = Arc::new(Telemetry::default());
            let server = tokio::spawn(admin::serve(listener, telemetry.clone()));
            let client = kube::Client::try_default()
                .await
                .context("no Kubernetes credentials (in-cluster or KUBECONFIG)")?;
            tokio::select! {
                ran = ferromq_operator::controller::run(client, telemetry) => ran?,
                served = server => served.context("the admin endpoint panicked")??,
            }
        }
    }
    Ok(())
}
