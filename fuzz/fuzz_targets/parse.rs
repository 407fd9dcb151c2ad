//! Feeds arbitrary bytes to the STOMP parser, in every version, and checks
//! that whatever parses re-encodes to something that parses the same.
#![no_main]

use ferromq_stomp::{Limits, Parsed, Version, encode, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_frame_bytes: 4096, max_header_bytes: 1024, max_headers: 16 };
    for version in Version::ALL {
        let mut rest = data;
        while let Ok(Parsed::Frame(_, n) | Parsed::Heartbeat(n)) = parse(rest, version, &limits) {
            if let Ok(Parsed::Frame(frame, _)) = parse(rest, version, &limits) {
                let mut out = Vec::new();
                encode(&frame, version, &mut out);
                let big = Limits { max_frame_bytes: usize::MAX, ..limits };
                assert!(matches!(parse(&out, version, &big), Ok(Parsed::Frame(..))));
            }
            rest = &rest[n..];
        }
    }
});
