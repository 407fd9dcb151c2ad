//! `ferromq-operator`: prints the CRD, or runs the controller.

use anyhow::Context;
use clap::{Parser, Subcommand};

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
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd => {
            let yaml = ferromq_operator::crd::crd_yaml().context("serializing the CRD")?;
            print!("{yaml}");
        }
    }
    Ok(())
}
