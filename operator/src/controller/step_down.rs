//! `POST /step-down` to a broker's admin address: the master hands over to
//! a caught-up replica before the operator replaces it.
//!
//! A hand-written HTTP/1.1 request over a TCP stream: one POST with no body
//! to a plain-HTTP admin port does not justify an HTTP client dependency.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The broker waits (bounded) for a replica to hold every entry before it
/// answers, so this is longer than its own wait.
pub const STEP_DOWN_TIMEOUT: Duration = Duration::from_secs(15);

/// Asks the broker at `admin` (host:port) to step down; `Ok` holds its
/// answer, `Err` says why it did not step down.
pub async fn step_down(admin: &str) -> Result<String, String> {
    match tokio::time::timeout(STEP_DOWN_TIMEOUT, post(admin, "/step-down")).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{admin} did not answer within {STEP_DOWN_TIMEOUT:?}"
        )),
    }
}

async fn post(admin: &str, path: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect(admin)
        .await
        .map_err(|e| format!("connecting to {admin}: {e}"))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {admin}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("writing to {admin}: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| format!("reading from {admin}: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).unwrap_or("");
    let body = body.trim().to_string();
    if status.starts_with('2') {
        Ok(body)
    } else {
        Err(format!("{admin} answered {status}: {body}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A one-shot server answering `reply`; returns its address and the
    /// request it received.
    async fn serve(
        reply: &'static str,
    ) -> std::io::Result<(String, tokio::task::JoinHandle<String>)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let task = tokio::spawn(async move {
            let Ok((mut socket, _)) = listener.accept().await else {
                return String::new();
            };
            let mut buf = vec![0; 1024];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let _ = socket.write_all(reply.as_bytes()).await;
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        Ok((address, task))
    }

    #[tokio::test]
    async fn posts_and_reads_the_answer() -> Result<(), Box<dyn std::error::Error>> {
        let (address, server) =
            serve("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhanded\n").await?;
        assert_eq!(step_down(&address).await, Ok("handed".to_string()));
        assert!(server.await?.starts_with("POST /step-down HTTP/1.1\r\n"));

        let (address, _) = serve("HTTP/1.1 409 Conflict\r\n\r\nnot master\n").await?;
        assert_eq!(
            step_down(&address).await,
            Err(format!("{address} answered 409: not master"))
        );
        Ok(())
    }
}
