//! What the application is told when a broker refuses or disappears.

use crate::common::{Broker, TestResult, broker_or_skip};
use ferromq_client::{Client, ConnectOptions, Error, Headers};
use std::time::Duration;

#[tokio::test]
async fn an_error_frame_fails_the_send_with_the_brokers_message_then_the_client_reconnects()
-> TestResult {
    let Some(bin) = broker_or_skip() else {
        return Ok(());
    };
    let broker = Broker::start(&bin, "e")?;
    let url = format!("failover:(tcp://{})?initialReconnectDelay=10", broker.stomp);
    let client = Client::connect(&url, ConnectOptions::default()).await?;
    let refused = client.send("/nowhere/x", Headers::new(), "x").await;
    match refused {
        Err(Error::Server(message)) => assert!(message.contains("/queue/"), "{message}"),
        other => return Err(format!("expected a server error, got {other:?}").into()),
    }
    // STOMP closed that connection; the next one serves.
    let again = tokio::time::timeout(
        Duration::from_secs(30),
        client.send("/queue/ok", Headers::new(), "y"),
    );
    again.await??;
    client.disconnect().await?;
    Ok(())
}

#[tokio::test]
async fn without_a_broker_connect_fails_and_pending_sends_are_told_the_outcome() -> TestResult {
    let Some(bin) = broker_or_skip() else {
        return Ok(());
    };
    let mut broker = Broker::start(&bin, "g")?;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let refused = Client::connect(&format!("tcp://{dead}"), ConnectOptions::default()).await;
    assert!(matches!(refused, Err(Error::Connect(_))), "{refused:?}");

    // Two rounds, then give up: a SEND written before the kill has an
    // unknown outcome unless its receipt came; one made after never left.
    let url = format!(
        "failover:(tcp://{})?maxReconnectAttempts=2&initialReconnectDelay=10",
        broker.stomp
    );
    let client = Client::connect(&url, ConnectOptions::default()).await?;
    client.send("/queue/g", Headers::new(), "stored").await?;
    broker.kill();
    let after = client.send("/queue/g", Headers::new(), "late").await;
    match after {
        Err(Error::NotSent(_) | Error::Unknown(_)) => {}
        other => return Err(format!("expected not sent or unknown, got {other:?}").into()),
    }
    // The driver has given up: the client is closed for good.
    let closed = client.send("/queue/g", Headers::new(), "later").await;
    assert_eq!(closed, Err(Error::Closed));
    Ok(())
}

#[tokio::test]
async fn the_url_timeout_bounds_the_wait_for_a_connection() -> TestResult {
    let Some(bin) = broker_or_skip() else {
        return Ok(());
    };
    let mut broker = Broker::start(&bin, "t")?;
    let url = format!(
        "failover:(tcp://{})?timeout=300&maxReconnectDelay=50",
        broker.stomp
    );
    let client = Client::connect(&url, ConnectOptions::default()).await?;
    broker.kill();
    let started = std::time::Instant::now();
    let waited = client.send("/queue/t", Headers::new(), "x").await;
    // Reconnecting goes on forever; this SEND gives up after 300 ms.
    assert!(
        matches!(waited, Err(Error::NotSent(_) | Error::Unknown(_))),
        "{waited:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // The broker comes back on its port and the client finds it.
    broker.restart()?;
    let again = client.send("/queue/t", Headers::new(), "y");
    tokio::time::timeout(Duration::from_secs(30), again).await??;
    client.disconnect().await?;
    Ok(())
}
