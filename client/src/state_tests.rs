//! Unit tests of what is resent, answered and failed across connections.

use super::*;
use std::sync::Arc;
use tokio::sync::Semaphore;

fn send(state: &mut State, connected: bool) -> (u64, oneshot::Receiver<Result<(), Error>>) {
    let permit = Arc::new(Semaphore::new(1)).try_acquire_owned();
    let permit = permit.expect("a free permit");
    let (tx, rx) = oneshot::channel();
    let frame = Frame::new(Command::Send).header("destination", "/queue/q");
    let op = Op::Send {
        frame,
        _permit: permit,
    };
    (state.add(op, tx, connected), rx)
}

#[test]
fn unreceipted_sends_are_restored_in_order_and_errors_fail_them() {
    let mut s = State::default();
    let (a, _ra) = send(&mut s, true);
    let (b, mut rb) = send(&mut s, true);
    s.on_receipt(&Frame::new(Command::Receipt).header("receipt-id", receipt_header(a)));
    s.on_lost();
    let (_c, mut rc) = send(&mut s, false);
    let restored: Vec<String> = s
        .restore()
        .iter()
        .filter_map(|f| f.headers.get("receipt").map(str::to_owned))
        .collect();
    assert_eq!(restored, ["r-2", "r-3"]);
    s.on_error(&Frame::new(Command::Error).header("message", "quorum unavailable"));
    let failed = Err(Error::Server("quorum unavailable".into()));
    assert_eq!(rb.try_recv().ok(), Some(failed.clone()));
    assert_eq!(rc.try_recv().ok(), Some(failed));
    assert!(s.is_idle() && b == 2);
}

#[test]
fn giving_up_tells_written_from_never_sent() {
    let mut s = State::default();
    let (_, mut written) = send(&mut s, true);
    s.on_lost();
    let (_, mut queued) = send(&mut s, false);
    s.fail_all("gave up");
    assert_eq!(
        written.try_recv().ok(),
        Some(Err(Error::Unknown("gave up".into())))
    );
    assert_eq!(
        queued.try_recv().ok(),
        Some(Err(Error::NotSent("gave up".into())))
    );
}

fn subscribe(state: &mut State) -> (mpsc::UnboundedReceiver<Message>, Option<Frame>) {
    let (deliver, messages) = mpsc::unbounded_channel();
    let (reply, _) = oneshot::channel();
    let cmd = Cmd::Subscribe {
        id: "sub-1".into(),
        ack: AckMode::ClientIndividual,
        frame: Frame::new(Command::Subscribe)
            .header("destination", "/queue/q")
            .header("id", "sub-1")
            .header("activemq.prefetchSize", "5"),
        deliver,
        reply,
    };
    let first = state.subscribe(cmd, true);
    (messages, first)
}

fn message(ack: &str) -> Frame {
    Frame::new(Command::Message)
        .header("subscription", "sub-1")
        .header("message-id", "n:1")
        .header("destination", "/queue/q")
        .header("ack", ack)
        .body("hi")
}

#[test]
fn subscriptions_come_back_the_same_and_messages_know_their_connection() {
    let mut s = State::default();
    s.restore();
    let (mut messages, first) = subscribe(&mut s);
    let receipt = first.as_ref().and_then(|f| f.headers.get("receipt"));
    assert_eq!(receipt, Some("r-1"));
    s.on_receipt(&Frame::new(Command::Receipt).header("receipt-id", "r-1"));
    let (cmds, _rx) = mpsc::channel::<Cmd>(1);
    let weak = cmds.downgrade();
    assert_eq!(s.deliver(message("7"), &weak), None);
    let m = messages.try_recv().expect("delivered");
    assert_eq!(
        (m.ack.as_ref().map(|a| a.generation), &m.body[..]),
        (Some(1), &b"hi"[..])
    );

    s.on_lost();
    let again = s.restore();
    // Same frame, no receipt: nobody waits for one now.
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].headers.get("activemq.prefetchSize"), Some("5"));
    assert_eq!(again[0].headers.get("receipt"), None);
    assert_eq!(s.generation, 2);

    // Nobody listens any more: the broker is told, so that it redelivers.
    drop(messages);
    let unsubscribe = s.deliver(message("8"), &weak);
    assert_eq!(unsubscribe.map(|f| f.command), Some(Command::Unsubscribe));
    assert!(s.restore().is_empty());
}

#[test]
fn a_refused_subscribe_ends_its_subscription() {
    let mut s = State::default();
    let (mut messages, _) = subscribe(&mut s);
    let error = Frame::new(Command::Error)
        .header("message", "bad destination")
        .header("receipt-id", "r-1");
    s.on_error(&error);
    assert!(s.is_idle() && s.restore().is_empty());
    assert!(messages.try_recv().is_err());
}

#[tokio::test]
async fn the_timeout_fails_only_what_waits_for_a_connection() {
    let mut s = State::default();
    let (_, mut connected) = send(&mut s, true);
    s.on_lost();
    let (_, mut queued) = send(&mut s, false);
    let timeout = Some(Duration::from_millis(20));
    assert!(s.next_expiry(timeout).is_some());
    s.expire(timeout);
    assert!(queued.try_recv().is_err(), "not yet");
    tokio::time::sleep(Duration::from_millis(30)).await;
    s.expire(timeout);
    assert!(matches!(connected.try_recv(), Ok(Err(Error::Unknown(_)))));
    assert!(matches!(queued.try_recv(), Ok(Err(Error::NotSent(_)))));
    assert_eq!(s.next_expiry(timeout), None);
}
