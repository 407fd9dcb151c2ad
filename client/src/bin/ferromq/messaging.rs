//! `ferromq send` and `ferromq receive`.

use crate::{Failure, ReceiveArgs, SendArgs};
use anyhow::{Context, anyhow};
use bytes::Bytes;
use ferromq_client::{AckMode, Client, Error, Headers, Receipt};
use std::collections::VecDeque;
use std::io::Write;

/// SENDs kept waiting for receipts at once: enough to hide round trips.
const PIPELINE: usize = 64;

/// What came back for the SENDs.
#[derive(Default)]
struct Tally {
    receipted: u64,
    unknown: u64,
    failed: u64,
    first_error: Option<Error>,
}

impl Tally {
    fn add(&mut self, result: Result<(), Error>) {
        match result {
            Ok(()) => self.receipted += 1,
            Err(e) => {
                if e.outcome_unknown() {
                    self.unknown += 1;
                } else {
                    self.failed += 1;
                }
                self.first_error.get_or_insert(e);
            }
        }
    }
}

pub async fn send(args: SendArgs) -> Result<(), Failure> {
    let options = args.connection.options()?;
    let body: Bytes = match (&args.body, &args.body_file) {
        (_, Some(path)) => std::fs::read(path)
            .with_context(|| format!("reading {}", path.display()))
            .map_err(Failure::Usage)?
            .into(),
        (Some(body), None) => body.clone().into_bytes().into(),
        (None, None) => Bytes::new(),
    };
    let mut headers: Headers = args.headers.iter().cloned().collect();
    if let Some(p) = args.persistent {
        headers.set("persistent", p.to_string());
    }
    let client = Client::connect(&args.connection.url, options)
        .await
        .map_err(|e| Failure::Failed(e.into()))?;

    let mut tally = Tally::default();
    let mut in_flight: VecDeque<Receipt> = VecDeque::new();
    // `{n}` in the body numbers the messages, so that each can be told
    // apart at the other end.
    let numbered = body.windows(3).any(|w| w == b"{n}");
    for n in 0..args.count {
        let body = if numbered {
            let text = String::from_utf8_lossy(&body).replace("{n}", &n.to_string());
            Bytes::from(text.into_bytes())
        } else {
            body.clone()
        };
        if in_flight.len() >= PIPELINE
            && let Some(receipt) = in_flight.pop_front()
        {
            tally.add(receipt.await);
        }
        match client
            .send_async(&args.destination, headers.clone(), body)
            .await
        {
            Ok(receipt) => in_flight.push_back(receipt),
            Err(e) => tally.add(Err(e)),
        }
    }
    for receipt in in_flight {
        tally.add(receipt.await);
    }
    // Everything is answered, so a failed goodbye changes nothing.
    let _ = client.disconnect().await;

    println!("{} of {} messages receipted", tally.receipted, args.count);
    match tally.first_error {
        None => Ok(()),
        Some(e) => Err(Failure::Failed(anyhow!(
            "{} failed, {} with unknown outcome; first error: {e}",
            tally.failed,
            tally.unknown
        ))),
    }
}

pub async fn receive(args: ReceiveArgs) -> Result<(), Failure> {
    let options = args.connection.options()?;
    let client = Client::connect(&args.connection.url, options)
        .await
        .map_err(|e| Failure::Failed(e.into()))?;
    // Never hold more unacknowledged messages than asked for, so that the
    // rest stay available to other consumers.
    let prefetch = args.count.unwrap_or(1000).clamp(1, 1000);
    let headers: Headers = [("activemq.prefetchSize", prefetch.to_string())]
        .into_iter()
        .collect();
    let mut subscription = client
        .subscribe_with(&args.destination, args.ack, headers)
        .await
        .map_err(|e| Failure::Failed(e.into()))?;

    let mut received = 0u64;
    let mut stdout = std::io::stdout().lock();
    while args.count.is_none_or(|c| received < c) {
        let next = tokio::time::timeout(args.timeout, subscription.next()).await;
        let message = match next {
            Ok(Some(m)) => m,
            Ok(None) => return Err(Failure::Failed(anyhow!("the subscription ended"))),
            Err(_) => break,
        };
        if args.ack != AckMode::Auto {
            match message.ack().await {
                Ok(()) => {}
                // It comes again on the new connection; print it then.
                Err(Error::Stale) => continue,
                Err(e) => return Err(Failure::Failed(e.into())),
            }
        }
        received += 1;
        if !args.quiet {
            let line = String::from_utf8_lossy(&message.body);
            writeln!(stdout, "{line}")
                .context("writing to stdout")
                .map_err(Failure::Failed)?;
        }
    }
    drop(subscription);
    // The DISCONNECT receipt confirms every ACK before it.
    client
        .disconnect()
        .await
        .context("confirming the acknowledgements")
        .map_err(Failure::Failed)?;
    if args.quiet {
        println!("{received} messages received");
    }
    match args.count {
        Some(c) if received < c => Err(Failure::Failed(anyhow!(
            "received {received} of {c} messages within {:?} of waiting",
            args.timeout
        ))),
        _ => Ok(()),
    }
}
