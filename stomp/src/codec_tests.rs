//! Unit and property tests of the frame codec.

use super::*;
use proptest::prelude::*;

fn limits() -> Limits {
    Limits::default()
}

fn parse_one(bytes: &[u8], version: Version) -> Result<Parsed, FrameError> {
    parse(bytes, version, &limits())
}

fn encoded(frame: &Frame, version: Version) -> Vec<u8> {
    let mut out = Vec::new();
    encode(frame, version, &mut out);
    out
}

#[test]
fn parses_a_send_without_content_length() {
    let raw = b"SEND\ndestination:/queue/a\nreceipt:1\n\nhello\0rest";
    let Ok(Parsed::Frame(f, used)) = parse_one(raw, Version::V1_2) else {
        panic!("expected a frame");
    };
    assert_eq!(f.command, Command::Send);
    assert_eq!(f.headers.get("destination"), Some("/queue/a"));
    assert_eq!(&f.body[..], b"hello");
    assert_eq!(&raw[used..], b"rest");
}

#[test]
fn content_length_bodies_may_hold_nul() {
    let raw = b"SEND\ndestination:/queue/a\ncontent-length:3\n\na\0b\0";
    let Ok(Parsed::Frame(f, used)) = parse_one(raw, Version::V1_1) else {
        panic!("expected a frame");
    };
    assert_eq!(&f.body[..], b"a\0b");
    assert_eq!(used, raw.len());
}

#[test]
fn crlf_line_endings_are_accepted() {
    let raw = b"SEND\r\ndestination:/queue/a\r\n\r\nx\0";
    let Ok(Parsed::Frame(f, _)) = parse_one(raw, Version::V1_2) else {
        panic!("expected a frame");
    };
    assert_eq!(f.headers.get("destination"), Some("/queue/a"));
    assert_eq!(&f.body[..], b"x");
}

#[test]
fn end_of_lines_between_frames_are_heartbeats() {
    assert_eq!(parse_one(b"\n", Version::V1_2), Ok(Parsed::Heartbeat(1)));
    assert_eq!(
        parse_one(b"\r\nSEND", Version::V1_2),
        Ok(Parsed::Heartbeat(2))
    );
    assert_eq!(parse_one(b"\r", Version::V1_2), Ok(Parsed::Incomplete));
}

#[test]
fn connect_headers_are_not_unescaped() {
    let raw = b"CONNECT\naccept-version:1.2\npasscode:a\\tb\n\n\0";
    let Ok(Parsed::Frame(f, _)) = parse_one(raw, Version::V1_2) else {
        panic!("expected a frame");
    };
    assert_eq!(f.headers.get("passcode"), Some("a\\tb"));
}

#[test]
fn errors_name_what_is_wrong() {
    let cases: &[(&[u8], FrameError)] = &[
        (b"BOGUS\n\n\0", FrameError::UnknownCommand("BOGUS".into())),
        (b"BOGUS\n", FrameError::UnknownCommand("BOGUS".into())),
        (
            b"SEND\nnocolon\n\n\0",
            FrameError::MalformedHeader("nocolon".into()),
        ),
        (b"SEND\na:\\t\n\n\0", FrameError::BadEscape("\\t".into())),
        (
            b"SEND\ncontent-length:x\n\n\0",
            FrameError::BadContentLength("x".into()),
        ),
        (b"SEND\ncontent-length:1\n\nab\0", FrameError::MissingNul(1)),
        (b"SEND\na:\xff\n\n\0", FrameError::NotUtf8),
    ];
    for (raw, want) in cases {
        assert_eq!(parse_one(raw, Version::V1_2).as_ref(), Err(want), "{raw:?}");
    }
}

#[test]
fn limits_are_enforced() {
    let small = Limits {
        max_frame_bytes: 64,
        max_header_bytes: 32,
        max_headers: 2,
    };
    let many = b"SEND\na:1\nb:2\nc:3\n\n\0";
    assert_eq!(
        parse(many, Version::V1_2, &small),
        Err(FrameError::TooManyHeaders { limit: 2 })
    );
    let long_head = [b"SEND\na:".as_slice(), &[b'x'; 40]].concat();
    assert_eq!(
        parse(&long_head, Version::V1_2, &small),
        Err(FrameError::HeaderSectionTooLarge { limit: 32 })
    );
    let big_body = [b"SEND\n\n".as_slice(), &[b'x'; 80]].concat();
    assert_eq!(
        parse(&big_body, Version::V1_2, &small),
        Err(FrameError::FrameTooLarge { limit: 64 })
    );
    let declared = b"SEND\ncontent-length:1000\n\n";
    assert_eq!(
        parse(declared, Version::V1_2, &small),
        Err(FrameError::FrameTooLarge { limit: 64 })
    );
}

#[test]
fn messages_always_carry_content_length() {
    let f = Frame::new(Command::Message).header("destination", "/queue/a");
    let out = encoded(&f, Version::V1_2);
    assert_eq!(
        out,
        b"MESSAGE\ndestination:/queue/a\ncontent-length:0\n\n\0"
    );
}

fn arb_version() -> impl Strategy<Value = Version> {
    prop_oneof![Just(Version::V1_1), Just(Version::V1_2)]
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    let command = prop::sample::select(
        Command::ALL
            .iter()
            .copied()
            .filter(|c| c.escapes_headers())
            .collect::<Vec<_>>(),
    );
    let header = ("[a-z][a-z:\\\\\n\r -]{0,12}", "[ -~\n\r:\\\\é]{0,20}");
    let headers = prop::collection::vec(header, 0..8);
    let body = prop::collection::vec(any::<u8>(), 0..200);
    (command, headers, body).prop_map(|(command, headers, body)| Frame {
        command,
        headers: headers
            .into_iter()
            .filter(|(k, _)| k != "content-length")
            .collect(),
        body: body.into(),
    })
}

/// What a frame looks like after a trip through the codec: a body always
/// declares its length.
fn normalized(mut f: Frame, version: Version) -> Frame {
    if version == Version::V1_1 {
        // 1.1 has no escape for a carriage return; it is sent as a space.
        f.headers = f
            .headers
            .iter()
            .map(|(k, v)| (k.replace('\r', " "), v.replace('\r', " ")))
            .collect();
    }
    if !f.body.is_empty() || f.command == Command::Message {
        f.headers.push("content-length", f.body.len().to_string());
    }
    f
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn encode_then_parse_round_trips(frame in arb_frame(), version in arb_version()) {
        let bytes = encoded(&frame, version);
        let parsed = parse_one(&bytes, version);
        prop_assert_eq!(parsed, Ok(Parsed::Frame(normalized(frame, version), bytes.len())));
    }

    #[test]
    fn every_split_point_yields_the_same_frames(
        frames in prop::collection::vec(arb_frame(), 1..4),
        version in arb_version(),
        heartbeats in 0usize..3,
    ) {
        let mut stream = Vec::new();
        for f in &frames {
            stream.extend(std::iter::repeat_n(b'\n', heartbeats));
            encode(f, version, &mut stream);
        }
        let want: Vec<Frame> = frames.into_iter().map(|f| normalized(f, version)).collect();
        for split in 0..=stream.len() {
            let mut got = Vec::new();
            let mut buf = Vec::new();
            for chunk in [&stream[..split], &stream[split..]] {
                buf.extend_from_slice(chunk);
                loop {
                    match parse_one(&buf, version) {
                        Ok(Parsed::Frame(f, n)) => { got.push(f); buf.drain(..n); }
                        Ok(Parsed::Heartbeat(n)) => { buf.drain(..n); }
                        Ok(Parsed::Incomplete) => break,
                        Err(e) => return Err(TestCaseError::fail(format!("split {split}: {e}"))),
                    }
                }
            }
            prop_assert!(buf.is_empty());
            prop_assert_eq!(&got, &want);
        }
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512), version in arb_version()) {
        let small = Limits { max_frame_bytes: 256, max_header_bytes: 128, max_headers: 4 };
        let _ = parse(&bytes, version, &small);
    }

    #[test]
    fn mutated_frames_never_panic(frame in arb_frame(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = encoded(&frame, Version::V1_2);
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let _ = parse_one(&bytes, Version::V1_2);
    }
}
