//! `ferromq-operator`: prints the CRD, or runs the controller.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
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
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd => {
            let yaml = ferromq_operator::crd::crd_yaml().context("serializing the CRD")?;
            print!("{yaml}");
        }
        Command::Run { log } => {
            let filter = EnvFilter::try_new(&log).with_context(|| format!("--log {log:?}"))?;
            // Colours only on a terminal: in a pod the log is read as text.
            let ansi = std::io::stdout().is_terminal();
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(ansi)
                .init();
            let client = kube::Client::try_default()
                .await
                .context("no Kubernetes credentials (in-cluster or KUBECONFIG)")?;
            ferromq_operator::controller::run(client).await?;
        }
    }
    Ok(())
}
