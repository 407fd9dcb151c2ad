//! GETs to a broker's admin port: readiness (`/readyz`) and, in a
//! cluster, every node's role and log position (`/status`).
//!
//! One request per connection with `Connection: close` needs no HTTP
//! library: the request is three lines and the answer is read to its end.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one request may take, connect to last byte: a node that is
/// paused or overloaded must not stall the bench's polling loops.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read; a status document is a few KiB.
const MAX_RESPONSE: u64 = 4 * 1024 * 1024;

/// The status code and body of `GET path` on `addr`.
pub async fn get(addr: &str, path: &str) -> Result<(u16, Vec<u8>)> {
    tokio::time::timeout(TIMEOUT, exchange(addr, path))
        .await
        .with_context(|| format!("GET {path} on {addr}: no answer within {TIMEOUT:?}"))?
}

async fn exchange(addr: &str, path: &str) -> Result<(u16, Vec<u8>)> {
    let mut sock = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n\
         Connection: close\r\n\r\n"
    );
    sock.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    sock.take(MAX_RESPONSE).read_to_end(&mut response).await?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .with_context(|| format!("GET {path} on {addr}: not an HTTP response"))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("not an HTTP status line: {:?}", head.lines().next()))?;
    Ok((code, response[split + 4..].to_vec()))
}

/// The status code of `GET path` on `addr`.
pub async fn status_code(addr: &str, path: &str) -> Result<u16> {
    Ok(get(addr, path).await?.0)
}

/// The JSON document of a 200 answer to `GET path`.
pub async fn get_json(addr: &str, path: &str) -> Result<Value> {
    let (code, body) = get(addr, path).await?;
    if code != 200 {
        bail!("GET {path} on {addr} answered {code}");
    }
    serde_json::from_slice(&body).with_context(|| format!("GET {path} on {addr}: not JSON"))
}
