//! GETs to a broker's admin port (`/status`, `/readyz`).
//!
//! One request per connection with `Connection: close` needs no HTTP
//! library: the request is three lines and the answer is read to its end
//! (a chunked body is decoded).

use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest answer read; a status document is a few KiB.
const MAX_RESPONSE: u64 = 4 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum AdminError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("connecting: {0}")]
    Connect(std::io::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("not an HTTP response: {0}")]
    Malformed(String),
}

/// An answer: the status code and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// `GET path` on `addr` (`host:port`), connect to last byte within
/// `timeout`: a paused or overloaded node must not stall its caller.
pub async fn get(addr: &str, path: &str, timeout: Duration) -> Result<Response, AdminError> {
    tokio::time::timeout(timeout, exchange(addr, path))
        .await
        .map_err(|_| AdminError::Timeout(timeout))?
}

async fn exchange(addr: &str, path: &str) -> Result<Response, AdminError> {
    let mut sock = TcpStream::connect(addr)
        .await
        .map_err(AdminError::Connect)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n\
         Connection: close\r\n\r\n"
    );
    sock.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    sock.take(MAX_RESPONSE).read_to_end(&mut response).await?;
    parse(&response)
}

fn parse(response: &[u8]) -> Result<Response, AdminError> {
    let malformed = |why: &str| AdminError::Malformed(why.to_owned());
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| malformed("no end of headers"))?;
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| malformed(&format!("status line {status_line:?}")))?;
    let body = &response[split + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body).ok_or_else(|| malformed("bad chunked body"))?
    } else {
        body.to_vec()
    };
    Ok(Response { status, body })
}

/// Decodes a chunked body (`size\r\ndata\r\n ... 0\r\n\r\n`).
fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = raw.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(raw.get(eol + 2..eol + 2 + size)?);
        raw = raw.get(eol + 4 + size..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_and_plain_bodies() {
        let body = dechunk(b"4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n");
        assert_eq!(body.as_deref(), Some(&b"{\"a\":1}"[..]));
        let plain = parse(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 3\r\n\r\nno\n");
        assert_eq!(
            plain.ok(),
            Some(Response {
                status: 503,
                body: b"no\n".to_vec()
            })
        );
    }
}
