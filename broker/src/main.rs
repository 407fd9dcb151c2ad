//! `ferromq-broker`: runs one broker node.

use clap::Parser;
use ferromq_broker::config::{Config, Settings};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let settings = match Settings::try_parse() {
        Ok(s) => s,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => return fail(e.to_string().lines().next().unwrap_or("invalid arguments")),
    };
    let config = match Config::load(settings) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    match run(config) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&format!("{e:#}")),
    }
}

fn fail(message: &str) -> std::process::ExitCode {
    eprintln!("ferromq-broker: {message}");
    std::process::ExitCode::from(2)
}

fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(ferromq_broker::server::run(config, stop_signal()))?;
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("stop signal received");
}
