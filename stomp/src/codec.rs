//! The pure STOMP frame codec: bytes in, frames out, and back.
//!
//! `parse` never blocks and never panics: it says a frame is complete,
//! that more bytes are needed, or what is wrong with them.

use super::escape::{escape_into, raw_into, unescape};
use super::frame::{Command, Frame, Headers, Version};
use bytes::Bytes;
use thiserror::Error;

/// Size limits on what a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest frame (command, headers and body) accepted.
    pub max_frame_bytes: usize,
    /// The largest header section (command line and headers) accepted.
    pub max_header_bytes: usize,
    /// The most headers one frame may carry.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 10 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 128,
        }
    }
}

/// What is wrong with bytes that do not form a valid frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("header section exceeds {limit} bytes")]
    HeaderSectionTooLarge { limit: usize },
    #[error("frame exceeds {limit} bytes")]
    FrameTooLarge { limit: usize },
    #[error("frame has more than {limit} headers")]
    TooManyHeaders { limit: usize },
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    #[error("malformed header line {0:?}: expected name:value")]
    MalformedHeader(String),
    #[error("undefined escape sequence {0:?} in header")]
    BadEscape(String),
    #[error("header section is not valid UTF-8")]
    NotUtf8,
    #[error("invalid content-length {0:?}")]
    BadContentLength(String),
    #[error("body of content-length {0} is not followed by a NUL octet")]
    MissingNul(usize),
}

/// The outcome of looking at the front of a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A whole frame, which used this many bytes.
    Frame(Frame, usize),
    /// A heart-beat (an end of line between frames) of this many bytes.
    Heartbeat(usize),
    /// Not enough bytes yet.
    Incomplete,
}

/// Looks for one frame or heart-beat at the start of `buf`.
pub fn parse(buf: &[u8], version: Version, limits: &Limits) -> Result<Parsed, FrameError> {
    match buf {
        [] | [b'\r'] => return Ok(Parsed::Incomplete),
        [b'\n', ..] => return Ok(Parsed::Heartbeat(1)),
        [b'\r', b'\n', ..] => return Ok(Parsed::Heartbeat(2)),
        _ => {}
    }
    let Some((header_end, body_start)) = find_header_end(buf) else {
        // Reject an unknown command as soon as its line is complete rather
        // than waiting for a header section that may never come.
        if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line = &buf[..nl];
            let name = line.strip_suffix(b"\r").unwrap_or(line);
            if Command::parse(name).is_none() {
                let shown = String::from_utf8_lossy(name);
                return Err(FrameError::UnknownCommand(truncate(&shown)));
            }
        }
        if buf.len() > limits.max_header_bytes {
            return Err(FrameError::HeaderSectionTooLarge {
                limit: limits.max_header_bytes,
            });
        }
        return Ok(Parsed::Incomplete);
    };
    if header_end > limits.max_header_bytes {
        return Err(FrameError::HeaderSectionTooLarge {
            limit: limits.max_header_bytes,
        });
    }
    let head = std::str::from_utf8(&buf[..header_end]).map_err(|_| FrameError::NotUtf8)?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let name = lines.next().unwrap_or_default();
    let command = Command::parse(name.as_bytes())
        .ok_or_else(|| FrameError::UnknownCommand(truncate(name)))?;
    let headers = parse_headers(lines, command, version, limits)?;

    let frame_limit = FrameError::FrameTooLarge {
        limit: limits.max_frame_bytes,
    };
    let body_end = match headers.get("content-length") {
        Some(raw) => {
            let len: usize = raw
                .trim()
                .parse()
                .map_err(|_| FrameError::BadContentLength(truncate(raw)))?;
            let end = body_start.checked_add(len).ok_or(frame_limit.clone())?;
            if end >= limits.max_frame_bytes {
                return Err(frame_limit);
            }
            match buf.get(end) {
                None => return Ok(Parsed::Incomplete),
                Some(0) => end,
                Some(_) => return Err(FrameError::MissingNul(len)),
            }
        }
        None => match buf[body_start..].iter().position(|&b| b == 0) {
            Some(n) if body_start + n < limits.max_frame_bytes => body_start + n,
            Some(_) => return Err(frame_limit),
            None if buf.len() >= limits.max_frame_bytes => return Err(frame_limit),
            None => return Ok(Parsed::Incomplete),
        },
    };
    let body = Bytes::copy_from_slice(&buf[body_start..body_end]);
    let frame = Frame {
        command,
        headers,
        body,
    };
    Ok(Parsed::Frame(frame, body_end + 1))
}

/// Finds the blank line ending the header section: returns where the
/// header text ends and where the body starts.
fn find_header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut pos = 0;
    while let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') {
        let line_end = pos + nl;
        let after = line_end + 1;
        match buf.get(after..) {
            Some([b'\n', ..]) => return Some((line_end, after + 1)),
            Some([b'\r', b'\n', ..]) => return Some((line_end, after + 2)),
            _ => pos = after,
        }
    }
    None
}

fn parse_headers<'a>(
    lines: impl Iterator<Item = &'a str>,
    command: Command,
    version: Version,
    limits: &Limits,
) -> Result<Headers, FrameError> {
    // CONNECT is read before a version is agreed, so its headers are
    // never escaped.
    let escaped = command.escapes_headers() && version != Version::V1_0;
    let mut headers = Headers::new();
    for line in lines {
        if headers.len() == limits.max_headers {
            return Err(FrameError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| FrameError::MalformedHeader(truncate(line)))?;
        if escaped {
            let dec = |s| unescape(s, version).map_err(|e| FrameError::BadEscape(e.0));
            headers.push(dec(name)?, dec(value)?);
        } else {
            headers.push(name, value);
        }
    }
    Ok(headers)
}

/// Keeps error messages short whatever a client sent.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Appends `frame` encoded for `version` to `out`. Bodies are always
/// framed with `content-length` so that they may hold NUL octets.
pub fn encode(frame: &Frame, version: Version, out: &mut Vec<u8>) {
    encode_parts(
        frame.command,
        frame.headers.iter(),
        &frame.body,
        version,
        out,
    );
}

/// Encodes a frame from its parts, for callers that hold the headers
/// elsewhere (a stored message) and need not build a [`Frame`].
pub fn encode_parts<'a>(
    command: Command,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: &[u8],
    version: Version,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(command.as_str().as_bytes());
    out.push(b'\n');
    let escaped = command.escapes_headers();
    for (name, value) in headers {
        if name == "content-length" {
            continue;
        }
        if escaped {
            escape_into(name, version, out);
            out.push(b':');
            escape_into(value, version, out);
        } else {
            raw_into(&name.replace(':', " "), out);
            out.push(b':');
            raw_into(value, out);
        }
        out.push(b'\n');
    }
    if !body.is_empty() || command == Command::Message {
        out.extend_from_slice(b"content-length:");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out.push(0);
}
