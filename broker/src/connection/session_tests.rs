//! Unit tests of the session rules, frame in, request out.

use super::*;

const CONFIG: SessionConfig = SessionConfig {
    heart_beat: (10_000, 5_000),
    default_prefetch: 1000,
};

fn session(version: Version) -> Session {
    Session::new(7, version, CONFIG)
}

fn frame(command: Command, headers: &[(&str, &str)]) -> Frame {
    let mut f = Frame::new(command);
    for (k, v) in headers {
        f = f.header(*k, *v);
    }
    f
}

fn refusal_message(r: Result<Option<Request>, Refusal>) -> String {
    match r {
        Err(Refusal(f)) => f.headers.get("message").unwrap_or_default().to_owned(),
        Ok(other) => format!("accepted: {other:?}"),
    }
}

#[test]
fn connect_negotiates_version_and_heart_beats() {
    let f = frame(
        Command::Connect,
        &[("accept-version", "1.1,1.2"), ("heart-beat", "2000,20000")],
    );
    let a = connect(&f, &CONFIG);
    assert_eq!(
        a,
        Ok(Agreed {
            version: Version::V1_2,
            send_every: 20_000,
            expect_every: 5_000
        })
    );
    let none = frame(
        Command::Stomp,
        &[("accept-version", "1.2"), ("heart-beat", "0,0")],
    );
    assert_eq!(
        connect(&none, &CONFIG).map(|a| (a.send_every, a.expect_every)),
        Ok((0, 0))
    );
    let bad = frame(Command::Connect, &[("accept-version", "9.9")]);
    let Err(Refusal(e)) = connect(&bad, &CONFIG) else {
        panic!("a foreign version must be refused");
    };
    assert_eq!(e.headers.get("version"), Some("1.0,1.1,1.2"));
    assert!(connect(&frame(Command::Send, &[]), &CONFIG).is_err());
}

#[test]
fn send_strips_broker_headers_and_reads_persistence_and_expiry() {
    let f = frame(
        Command::Send,
        &[
            ("destination", "/queue/a"),
            ("receipt", "r1"),
            ("persistent", "true"),
            ("expires", "123"),
            ("custom", "x"),
        ],
    );
    let Ok(Some(Request::Apply { sends, receipt, .. })) = session(Version::V1_2).on_frame(f) else {
        panic!("expected an apply request");
    };
    assert_eq!(receipt.as_deref(), Some("r1"));
    let s = &sends[0];
    assert!(s.persistent);
    assert_eq!(s.expires, Some(123));
    assert!(s.headers.iter().any(|(k, _)| k == "custom"));
    assert!(
        !s.headers
            .iter()
            .any(|(k, _)| k == "receipt" || k == "destination")
    );
}

#[test]
fn bad_frames_are_refused_with_a_reason() {
    let mut s = session(Version::V1_2);
    let cases: Vec<(Frame, &str)> = vec![
        (
            frame(Command::Send, &[]),
            "SEND requires a destination header",
        ),
        (
            frame(Command::Send, &[("destination", "/x/a")]),
            "must start with /queue/ or /topic/",
        ),
        (
            frame(
                Command::Send,
                &[("destination", "/queue/a"), ("expires", "soon")],
            ),
            "invalid expires",
        ),
        (
            frame(Command::Subscribe, &[("destination", "/queue/a")]),
            "requires an id",
        ),
        (
            frame(
                Command::Subscribe,
                &[("destination", "/queue/a"), ("id", "1"), ("ack", "never")],
            ),
            "invalid ack mode",
        ),
        (
            frame(
                Command::Subscribe,
                &[
                    ("destination", "/queue/a"),
                    ("id", "1"),
                    ("activemq.prefetchSize", "0"),
                ],
            ),
            "invalid activemq.prefetchSize",
        ),
        (
            frame(Command::Commit, &[("transaction", "t")]),
            "no open transaction",
        ),
        (
            frame(
                Command::Send,
                &[("destination", "/queue/a"), ("transaction", "t")],
            ),
            "no open transaction",
        ),
        (frame(Command::Connect, &[]), "already connected"),
        (frame(Command::Message, &[]), "server frame"),
        (frame(Command::Ack, &[]), "requires a message-id"),
    ];
    for (f, want) in cases {
        let got = refusal_message(s.on_frame(f.clone()));
        assert!(got.contains(want), "{f:?}: {got}");
    }
    let nack = frame(Command::Nack, &[("message-id", "m")]);
    assert!(refusal_message(session(Version::V1_0).on_frame(nack)).contains("NACK"));
}

#[test]
fn transactions_apply_together_at_commit_and_vanish_at_abort() {
    let mut s = session(Version::V1_2);
    let begin = frame(Command::Begin, &[("transaction", "t"), ("receipt", "b")]);
    assert!(matches!(
        s.on_frame(begin),
        Ok(Some(Request::Receipt { .. }))
    ));
    let send = frame(
        Command::Send,
        &[("destination", "/queue/a"), ("transaction", "t")],
    );
    assert!(matches!(s.on_frame(send), Ok(None)));
    let ack = frame(Command::Ack, &[("id", "5"), ("transaction", "t")]);
    assert!(matches!(s.on_frame(ack), Ok(None)));
    let commit = frame(Command::Commit, &[("transaction", "t")]);
    let Ok(Some(Request::Apply { sends, settles, .. })) = s.on_frame(commit) else {
        panic!("commit must apply the transaction");
    };
    assert_eq!((sends.len(), settles.len()), (1, 1));
    assert_eq!(settles[0].target, AckRef::Tag("5".into()));

    assert!(
        s.on_frame(frame(Command::Begin, &[("transaction", "u")]))
            .is_ok()
    );
    assert!(
        s.on_frame(frame(Command::Begin, &[("transaction", "u")]))
            .is_err()
    );
    let mut s = session(Version::V1_2);
    assert!(
        s.on_frame(frame(Command::Begin, &[("transaction", "u")]))
            .is_ok()
    );
    let send_u = frame(
        Command::Send,
        &[("destination", "/queue/a"), ("transaction", "u")],
    );
    assert!(matches!(s.on_frame(send_u), Ok(None)));
    assert!(matches!(
        s.on_frame(frame(Command::Abort, &[("transaction", "u")])),
        Ok(None)
    ));
    assert!(
        s.on_frame(frame(Command::Commit, &[("transaction", "u")]))
            .is_err()
    );
}

#[test]
fn acks_name_messages_by_version() {
    let ack12 = frame(Command::Ack, &[("id", "9")]);
    let Ok(Some(Request::Apply { settles, .. })) = session(Version::V1_2).on_frame(ack12) else {
        panic!("expected an apply");
    };
    assert_eq!(settles[0].target, AckRef::Tag("9".into()));
    let ack11 = frame(
        Command::Ack,
        &[("message-id", "ID:n-3"), ("subscription", "s")],
    );
    let Ok(Some(Request::Apply { settles, .. })) = session(Version::V1_1).on_frame(ack11) else {
        panic!("expected an apply");
    };
    assert_eq!(
        settles[0].target,
        AckRef::MessageId {
            message_id: "ID:n-3".into(),
            subscription: Some("s".into())
        }
    );
}

#[test]
fn subscribe_defaults_and_version_1_0_ids() {
    let f = frame(Command::Subscribe, &[("destination", "/topic/t")]);
    let Ok(Some(Request::Subscribe {
        id, ack, prefetch, ..
    })) = session(Version::V1_0).on_frame(f)
    else {
        panic!("expected a subscribe");
    };
    assert_eq!(
        (id.as_str(), ack, prefetch),
        ("/topic/t", AckMode::Auto, 1000)
    );
}
