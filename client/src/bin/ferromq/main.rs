//! `ferromq`: send, receive and look at a ferromq cluster from a shell.
//!
//! Exit codes: 0 done, 1 the operation failed, 2 the command line is wrong.

mod messaging;
mod status;

use clap::{Args, Parser, Subcommand};
use ferromq_client::{AckMode, ConnectOptions, Error, FailoverUrl};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "ferromq",
    version,
    about = "Send, receive and inspect ferromq brokers"
)]
struct Cli {
    /// Log filter for the client's diagnostics on stderr.
    #[arg(long, global = true, env = "FERROMQ_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Send messages, each waiting for its receipt.
    Send(SendArgs),
    /// Receive messages and print their bodies, one per line.
    Receive(ReceiveArgs),
    /// Show each node's role, epoch, log position and master.
    Status(StatusArgs),
}

/// Where and as whom to connect.
#[derive(Args)]
struct Connection {
    /// A failover URL, `failover:(tcp://h1:61613,tcp://h2:61613)?...`, or `tcp://h:p`.
    #[arg(long, env = "FERROMQ_URL")]
    url: String,
    #[arg(long, env = "FERROMQ_LOGIN")]
    login: Option<String>,
    #[arg(long, env = "FERROMQ_PASSCODE", hide_env_values = true)]
    passcode: Option<String>,
}

#[derive(Args)]
#[group(id = "body_source", required = true, args = ["body", "body_file"])]
struct SendArgs {
    #[command(flatten)]
    connection: Connection,
    /// Destination, e.g. `/queue/orders` or `/topic/prices`.
    #[arg(long)]
    destination: String,
    /// How many copies of the message to send.
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// An extra header, `name:value`; repeat for more.
    #[arg(long = "header", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// Store the message on disk before the receipt (default: true for queues).
    #[arg(long)]
    persistent: Option<bool>,
    /// The message body.
    body: Option<String>,
    /// Read the body from this file instead.
    #[arg(long)]
    body_file: Option<PathBuf>,
}

#[derive(Args)]
struct ReceiveArgs {
    #[command(flatten)]
    connection: Connection,
    #[arg(long)]
    destination: String,
    /// Stop after this many messages (exit 1 if fewer come in time).
    #[arg(long)]
    count: Option<u64>,
    /// `auto` counts a message consumed once the broker sends it, so it may
    /// take more than --count from a queue; the client modes do not.
    #[arg(long, default_value = "client-individual", value_parser = parse_ack)]
    ack: AckMode,
    /// Give up after waiting this long for the next message (`500ms`, `10s`, `2m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print only how many messages came, not their bodies.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct StatusArgs {
    /// Admin addresses, comma-separated: `http://h1:8161,http://h2:8161`.
    #[arg(long, required = true, value_delimiter = ',')]
    admin: Vec<String>,
}

/// Why the command failed, which decides the exit code.
pub enum Failure {
    Usage(anyhow::Error),
    Failed(anyhow::Error),
}

fn main() -> ExitCode {
    let cli = Cli::try_parse().unwrap_or_else(|e| e.exit());
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log);
    let Ok(filter) = filter else {
        eprintln!("ferromq: invalid --log filter {:?}", cli.log);
        return ExitCode::from(2);
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match runtime {
        Ok(rt) => rt.block_on(run(cli.command)),
        Err(e) => Err(Failure::Failed(e.into())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("ferromq: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(e)) => {
            eprintln!("ferromq: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(command: Commands) -> Result<(), Failure> {
    match command {
        Commands::Send(args) => messaging::send(args).await,
        Commands::Receive(args) => messaging::receive(args).await,
        Commands::Status(args) => status::run(&args.admin).await,
    }
}

impl Connection {
    /// Checks the URL before connecting, so that a typo is a usage error.
    fn options(&self) -> Result<ConnectOptions, Failure> {
        FailoverUrl::parse(&self.url).map_err(|e| Failure::Usage(Error::from(e).into()))?;
        Ok(ConnectOptions {
            login: self.login.clone(),
            passcode: self.passcode.clone(),
            ..ConnectOptions::default()
        })
    }
}

fn parse_header(raw: &str) -> Result<(String, String), String> {
    match raw.split_once(':') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected name:value, got {raw:?}")),
    }
}

fn parse_ack(raw: &str) -> Result<AckMode, String> {
    raw.parse()
}

/// `250ms`, `10s`, `2m`, or plain seconds.
fn parse_duration(raw: &str) -> Result<Duration, String> {
    let bad = || format!("expected a duration such as 500ms, 10s or 2m, got {raw:?}");
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = digits.parse().map_err(|_| bad())?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_headers() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("10h").is_err() && parse_duration("s").is_err());
        assert_eq!(parse_header("a:b:c"), Ok(("a".into(), "b:c".into())));
        assert!(parse_header("nocolon").is_err() && parse_header(":v").is_err());
    }
}
