//! Header value escaping, which differs by protocol version.

use super::frame::Version;

/// An escape sequence the version does not define (a fatal protocol error
/// from STOMP 1.1 on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEscape(pub String);

/// Decodes an escaped header name or value.
pub fn unescape(raw: &str, version: Version) -> Result<String, BadEscape> {
    if version == Version::V1_0 || !raw.contains('\\') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('c') => out.push(':'),
            Some('r') if version == Version::V1_2 => out.push('\r'),
            Some(other) => return Err(BadEscape(format!("\\{other}"))),
            None => return Err(BadEscape("\\".to_owned())),
        }
    }
    Ok(out)
}

/// Appends `value` escaped for `version` to `out`.
///
/// STOMP 1.0 has no escaping: a newline or colon cannot be sent there, so
/// they are replaced by spaces rather than corrupting the frame.
pub fn escape_into(value: &str, version: Version, out: &mut Vec<u8>) {
    for c in value.chars() {
        match (c, version) {
            ('\n' | '\r', Version::V1_0) => out.push(b' '),
            ('\\', Version::V1_1 | Version::V1_2) => out.extend_from_slice(b"\\\\"),
            ('\n', Version::V1_1 | Version::V1_2) => out.extend_from_slice(b"\\n"),
            (':', Version::V1_1 | Version::V1_2) => out.extend_from_slice(b"\\c"),
            ('\r', Version::V1_2) => out.extend_from_slice(b"\\r"),
            ('\r', Version::V1_1) => out.push(b' '),
            _ => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// Appends a header value that must not be escaped (CONNECT, CONNECTED),
/// replacing the characters that would break the frame.
pub fn raw_into(value: &str, out: &mut Vec<u8>) {
    for b in value.bytes() {
        out.push(if b == b'\n' || b == b'\r' { b' ' } else { b });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(v: &str, version: Version) -> String {
        let mut out = Vec::new();
        escape_into(v, version, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn round_trips_in_1_2() {
        let v = "a:b\\c\nd\re";
        let e = esc(v, Version::V1_2);
        assert_eq!(e, "a\\cb\\\\c\\nd\\re");
        assert_eq!(unescape(&e, Version::V1_2), Ok(v.to_owned()));
    }

    #[test]
    fn carriage_return_escape_is_1_2_only() {
        assert!(unescape("a\\rb", Version::V1_1).is_err());
        assert_eq!(unescape("a\\rb", Version::V1_2), Ok("a\rb".to_owned()));
    }

    #[test]
    fn undefined_escapes_are_errors_from_1_1() {
        assert_eq!(
            unescape("a\\t", Version::V1_1),
            Err(BadEscape("\\t".into()))
        );
        assert!(unescape("trailing\\", Version::V1_2).is_err());
        assert_eq!(unescape("a\\t", Version::V1_0), Ok("a\\t".to_owned()));
    }

    #[test]
    fn version_1_0_keeps_colons_and_drops_newlines() {
        assert_eq!(esc("a:b\nc", Version::V1_0), "a:b c");
    }
}
