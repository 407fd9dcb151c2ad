//! Failover between two standalone brokers: kill -9 the one in use and
//! the client carries on against the other by itself.

use crate::common::{Broker, TestResult, broker_or_skip, drain, wait_connected};
use ferromq_client::{AckMode, Client, ConnectOptions, Error, Headers};
use std::collections::HashSet;
use std::time::Duration;

/// Long enough for any reconnect here; a hang fails instead of blocking CI.
const BOUND: Duration = Duration::from_secs(30);

fn failover_url(a: &Broker, b: &Broker) -> String {
    format!(
        "failover:(tcp://{},tcp://{})?randomize=false&initialReconnectDelay=10&maxReconnectDelay=200",
        a.stomp, b.stomp
    )
}

// Two workers, so that the driver writes and A receipts while the test
// is still queueing SENDs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_receipted_send_survives_the_death_of_the_broker_in_use() -> TestResult {
    let Some(bin) = broker_or_skip() else {
        return Ok(());
    };
    let mut a = Broker::start(&bin, "a")?;
    let b = Broker::start(&bin, "b")?;
    let client = Client::connect(&failover_url(&a, &b), ConnectOptions::default()).await?;
    assert_eq!(client.connected_to(), Some(a.stomp.to_string()));
    let queue = "/queue/failover";
    let mut receipted = Vec::new();
    for i in 0..50 {
        let body = format!("sync-{i}");
        client.send(queue, Headers::new(), body.clone()).await?;
        receipted.push(body);
    }
    // More than the in-flight window (256), so that A has receipted some
    // and the rest are waiting for receipts when it dies.
    let mut in_flight = Vec::new();
    for i in 0..600 {
        let body = format!("pipelined-{i}");
        let receipt = client
            .send_async(queue, Headers::new(), body.clone())
            .await?;
        in_flight.push((body, receipt));
    }
    a.kill();
    for i in 0..50 {
        let body = format!("after-{i}");
        tokio::time::timeout(BOUND, client.send(queue, Headers::new(), body.clone())).await??;
        receipted.push(body);
    }
    for (body, receipt) in in_flight {
        tokio::time::timeout(BOUND, receipt).await??;
        receipted.push(body);
    }
    assert_eq!(client.connected_to(), Some(b.stomp.to_string()));
    client.disconnect().await?;

    a.restart()?;
    let mut stored: HashSet<String> = drain(&a.url(), queue).await?.into_iter().collect();
    stored.extend(drain(&b.url(), queue).await?);
    let lost: Vec<&String> = receipted.iter().filter(|m| !stored.contains(*m)).collect();
    assert!(lost.is_empty(), "receipted but lost: {lost:?}");
    Ok(())
}

#[tokio::test]
async fn a_subscription_moves_to_the_next_broker_and_old_acks_are_stale() -> TestResult {
    let Some(bin) = broker_or_skip() else {
        return Ok(());
    };
    let mut a = Broker::start(&bin, "a")?;
    let b = Broker::start(&bin, "b")?;
    let queue = "/queue/resubscribe";
    let consumer = Client::connect(&failover_url(&a, &b), ConnectOptions::default()).await?;
    let mut sub = consumer.subscribe(queue, AckMode::ClientIndividual).await?;

    let on_a = Client::connect(&a.url(), ConnectOptions::default()).await?;
    on_a.send(queue, Headers::new(), "first").await?;
    let first = tokio::time::timeout(BOUND, sub.next())
        .await?
        .ok_or("no message")?;
    assert_eq!(&first.body[..], b"first");
    first.ack().await?;
    on_a.send(queue, Headers::new(), "unacked").await?;
    let unacked = tokio::time::timeout(BOUND, sub.next())
        .await?
        .ok_or("no message")?;
    assert_eq!(&unacked.body[..], b"unacked");

    a.kill();
    wait_connected(&consumer, b.stomp).await?;
    // Its ack id belonged to the dead connection.
    assert_eq!(unacked.ack().await, Err(Error::Stale));

    let on_b = Client::connect(&b.url(), ConnectOptions::default()).await?;
    for i in 0..3 {
        on_b.send(queue, Headers::new(), format!("on-b-{i}"))
            .await?;
    }
    for i in 0..3 {
        let m = tokio::time::timeout(BOUND, sub.next())
            .await?
            .ok_or("no message")?;
        assert_eq!(String::from_utf8_lossy(&m.body), format!("on-b-{i}"));
        assert_eq!(m.destination, queue);
        m.ack().await?;
    }
    drop(sub);
    consumer.disconnect().await?;
    on_b.disconnect().await?;
    Ok(())
}

#[tokio::test]
async fn a_broker_that_goes_silent_is_left_after_missed_heart_beats() -> TestResult {
    let Some(bin) = broker_or_skip() else {
        return Ok(());
    };
    // The broker offers and wants heart-beats every 200 ms.
    let beats = ["--heart-beat", "200,200"];
    let mut a = Broker::start_with(&bin, "a", &beats)?;
    let b = Broker::start_with(&bin, "b", &beats)?;
    let options = ConnectOptions {
        heart_beat: (200, 200),
        connect_timeout: Duration::from_secs(1),
        ..ConnectOptions::default()
    };
    let client = Client::connect(&failover_url(&a, &b), options).await?;
    assert_eq!(client.connected_to(), Some(a.stomp.to_string()));
    client
        .send("/queue/silent", Headers::new(), "before")
        .await?;
    // Frozen, not dead: its sockets stay open, only the beats stop. With
    // no traffic, the client can only notice through missed heart-beats;
    // reconnecting then finds A's port accepting and CONNECT unanswered.
    a.signal("-STOP")?;
    wait_connected(&client, b.stomp).await?;
    let sent = client.send("/queue/silent", Headers::new(), "after");
    tokio::time::timeout(BOUND, sent).await??;
    client.disconnect().await?;
    a.kill();
    Ok(())
}
