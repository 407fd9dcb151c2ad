//! The failover figures: the stall a client sees when the master is
//! killed with SIGKILL, repeated, and a check that no receipted message
//! was lost on the way.
//!
//! Each round waits for steady sending, kills the agreed master by PID,
//! and reads the stall from the producer's receipt log: the longest wait
//! between two receipts around the kill, i.e. from the last receipt of
//! the old master to the first from the new one. That is what
//! an application sees: detection, election, the client's reconnect and
//! the resent SEND, all in one number. Then the killed node is started
//! again on its data, and the next round waits until it has caught up
//! (its stored index reached the master's commit index), so every round
//! starts from three healthy nodes.

use crate::client::Endpoint;
use crate::cluster::{Cluster, ELECTION};
use crate::stall_load::{Producer, drain};
use anyhow::{Result, bail};
use bytes::Bytes;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Receipts each round waits for before its kill, so that the producer
/// is sending steadily to the master being killed.
const STEADY_RECEIPTS: usize = 200;
const STEADY_LIMIT: Duration = Duration::from_secs(30);
/// A stall longer than this fails the round (and ends the rounds).
const STALL_LIMIT: Duration = Duration::from_secs(60);
const CATCH_UP_LIMIT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(2);

/// Everything the rounds measured.
pub struct StallReport {
    pub url: String,
    pub rounds: u32,
    /// One per completed round.
    pub stalls: Vec<Duration>,
    /// Kill to an agreed new master, as the bench's polling of `/status`
    /// saw it (20 ms granularity): the broker's part of each stall.
    pub elections: Vec<Duration>,
    /// Why the rounds stopped early, if they did.
    pub failure: Option<String>,
    pub receipted: usize,
    pub send_errors: Vec<String>,
    /// Receipted ids the final drain did not deliver.
    pub lost: Vec<u64>,
    pub duplicates: u64,
    /// Why the loss check could not run, if it could not.
    pub check_failure: Option<String>,
}

impl StallReport {
    /// A round failed, the loss check did not run, or it found a loss.
    pub fn went_wrong(&self) -> bool {
        self.failure.is_some() || self.check_failure.is_some() || !self.lost.is_empty()
    }
}

/// Runs `rounds` kill -9 rounds on `cluster` under a window-1 producer
/// through `url`, then drains `queue` and checks for lost receipts.
pub async fn run(
    cluster: &mut Cluster,
    rounds: u32,
    url: &str,
    ep: &Endpoint,
    queue: &str,
    body: Bytes,
) -> Result<StallReport> {
    let producer = Producer::start(url, ep, queue, body).await?;
    let mut report = StallReport {
        url: url.to_owned(),
        rounds,
        stalls: Vec::new(),
        elections: Vec::new(),
        failure: None,
        receipted: 0,
        send_errors: Vec::new(),
        lost: Vec::new(),
        duplicates: 0,
        check_failure: None,
    };
    for round in 1..=rounds {
        if let Err(e) = one_round(cluster, &producer, round, &mut report).await {
            eprintln!("  round {round} failed: {e:#}");
            report.failure = Some(format!("round {round}: {e:#}"));
            break;
        }
    }
    if let Err(e) = producer_stop_and_check(cluster, producer, ep, queue, &mut report).await {
        report.check_failure = Some(format!("{e:#}"));
    }
    Ok(report)
}

async fn one_round(
    cluster: &mut Cluster,
    producer: &Producer,
    round: u32,
    report: &mut StallReport,
) -> Result<()> {
    let log = &producer.log;
    let before = log.count();
    let start = Instant::now();
    while log.count() < before + STEADY_RECEIPTS {
        if start.elapsed() > STEADY_LIMIT {
            bail!(
                "only {} receipts in {STEADY_LIMIT:?} before the kill",
                log.count() - before
            );
        }
        tokio::time::sleep(POLL).await;
    }
    let m = cluster.master(ELECTION).await?;
    let (id, pid) = (cluster.node(m).id.clone(), cluster.node(m).pid());
    let killed_at = Instant::now();
    cluster.kill9(m)?;
    let new = cluster.new_master(m, ELECTION).await?;
    let settled = Instant::now();
    let election = settled - killed_at;
    let stall = loop {
        if let Some(gap) = log.stall(killed_at, settled) {
            break gap;
        }
        if killed_at.elapsed() > STALL_LIMIT {
            bail!("no receipt within {STALL_LIMIT:?} of killing {id}");
        }
        tokio::time::sleep(POLL).await;
    };
    report.stalls.push(stall);
    report.elections.push(election);
    let restarted_at = Instant::now();
    cluster.restart(m).await?;
    cluster.wait_caught_up(m, CATCH_UP_LIMIT).await?;
    eprintln!(
        "  round {round:>2}: kill -9 {id} (pid {}): stall {} ms, {} master after {} ms; \
         {id} back and caught up in {:.1} s",
        pid.unwrap_or_default(),
        stall.as_millis(),
        cluster.node(new).id,
        election.as_millis(),
        restarted_at.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Stops the producer, drains the queue from the master and counts the
/// receipted ids that did not come back.
async fn producer_stop_and_check(
    cluster: &mut Cluster,
    producer: Producer,
    ep: &Endpoint,
    queue: &str,
    report: &mut StallReport,
) -> Result<()> {
    let log = producer.log.clone();
    let stopped = producer.stop(STALL_LIMIT).await;
    report.send_errors = log.errors();
    let receipted = log.ids();
    report.receipted = receipted.len();
    stopped?;
    let m = cluster.master(ELECTION).await?;
    let master = Endpoint {
        addr: cluster.node(m).client.clone(),
        ..ep.clone()
    };
    let drained = drain(&master, queue).await?;
    let unique: HashSet<u64> = receipted.iter().copied().collect();
    report.lost = unique
        .iter()
        .copied()
        .filter(|id| !drained.ids.contains(id))
        .collect();
    report.lost.sort_unstable();
    report.duplicates = drained.duplicates;
    Ok(())
}

/// Prints the stall figures and the loss check.
pub fn print(r: &StallReport) {
    println!(
        "\nfailover: kill -9 of the master, {} of {} rounds done; 1 producer, window 1, \
         1 KiB persistent SENDs with receipts, through ferromq-client at\n  {}",
        r.stalls.len(),
        r.rounds,
        r.url
    );
    if !r.stalls.is_empty() {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "  stall (longest wait between two receipts around the kill): p50 {:.0} ms, \
             p90 {:.0} ms, max {:.0} ms",
            ms(quantile(&r.stalls, 0.5)),
            ms(quantile(&r.stalls, 0.9)),
            ms(quantile(&r.stalls, 1.0)),
        );
        println!(
            "  kill to an agreed new master (polled): p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms",
            ms(quantile(&r.elections, 0.5)),
            ms(quantile(&r.elections, 0.9)),
            ms(quantile(&r.elections, 1.0)),
        );
        let each: Vec<String> = r.stalls.iter().map(|d| d.as_millis().to_string()).collect();
        println!("  each round's stall (ms): {}", each.join(" "));
    }
    if let Some(why) = &r.failure {
        println!("  rounds stopped early: {why}");
    }
    match &r.check_failure {
        Some(why) => println!("  loss check not done: {why}"),
        None => {
            println!(
                "  receipted {} messages; lost after the drain: {}; delivered twice: {}",
                r.receipted,
                r.lost.len(),
                r.duplicates
            );
            if !r.lost.is_empty() {
                let first: Vec<String> = r.lost.iter().take(20).map(u64::to_string).collect();
                println!("  lost ids (first 20): {}", first.join(" "));
            }
        }
    }
    if !r.send_errors.is_empty() {
        println!(
            "  {} SENDs answered with an error (not receipted, so not owed): first: {}",
            r.send_errors.len(),
            r.send_errors[0]
        );
    }
}

/// The nearest-rank quantile of `values` (`q` in 0..=1).
fn quantile(values: &[Duration], q: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(quantile(&v, 0.5), Duration::from_millis(10));
        assert_eq!(quantile(&v, 0.9), Duration::from_millis(18));
        assert_eq!(quantile(&v, 1.0), Duration::from_millis(20));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }
}
