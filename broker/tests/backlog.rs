//! A queue's backlog lives on disk: a deep queue with no consumer keeps
//! the broker's memory flat, and drains back complete and in order.

mod common;

use common::{Broker, Client, TestResult};
use ferromq_stomp::{Command, Frame};

const MESSAGES: usize = 150_000;
const BODY: usize = 2048;
const BATCH: usize = 500;

#[test]
fn a_deep_queue_stays_on_disk() -> TestResult {
    let broker = Broker::start()?;
    let mut producer = Client::connect(broker.stomp)?;
    let body = vec![b'x'; BODY];
    let baseline = broker.rss_bytes().ok_or("no RSS")?;
    for batch in 0..MESSAGES / BATCH {
        let frames: Vec<Frame> = (0..BATCH)
            .map(|i| {
                let n = batch * BATCH + i;
                let f = Frame::new(Command::Send)
                    .header("destination", "/queue/deep")
                    .header("persistent", "true")
                    .header("n", n.to_string())
                    .body(body.clone());
                if i == BATCH - 1 {
                    f.header("receipt", n.to_string())
                } else {
                    f
                }
            })
            .collect();
        producer.send_all(&frames)?;
        let r = producer.recv()?;
        assert_eq!(r.command, Command::Receipt, "{r:?}");
    }
    let grown = broker.rss_bytes().ok_or("no RSS")?.saturating_sub(baseline);
    let stored = (MESSAGES * BODY) as u64;
    eprintln!(
        "RSS grew by {} MiB while {} MiB were stored",
        grown >> 20,
        stored >> 20
    );
    // The backlog would take `stored` bytes in memory; RocksDB's memtables
    // and caches are bounded well below that.
    assert!(
        grown < stored / 2,
        "RSS grew by {grown} bytes for {stored} bytes stored"
    );

    let status = broker.http_get("/status")?;
    assert!(
        status.contains(&format!("\"depth\":{MESSAGES}")),
        "{status}"
    );

    let mut consumer = Client::connect(broker.stomp)?;
    consumer.send(
        &Frame::new(Command::Subscribe)
            .header("destination", "/queue/deep")
            .header("id", "s")
            .header("ack", "auto"),
    )?;
    for want in 0..MESSAGES {
        let m = consumer.recv()?;
        assert_eq!(m.command, Command::Message);
        assert_eq!(m.headers.get("n"), Some(want.to_string().as_str()));
        assert_eq!(m.body.len(), BODY);
    }
    Ok(())
}
