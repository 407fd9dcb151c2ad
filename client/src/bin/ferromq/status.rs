//! `ferromq status`: `GET /status` on every node, shown as one table.
//!
//! One GET with `Connection: close` needs no HTTP library: the request is
//! three lines and the answer is read to its end.

use crate::Failure;
use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one node may take to answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest status document read.
const MAX_RESPONSE: u64 = 4 * 1024 * 1024;

pub async fn run(admins: &[String]) -> Result<(), Failure> {
    let targets = admins
        .iter()
        .map(|a| parse_admin(a).map_err(Failure::Usage))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = vec![["ADMIN", "NODE", "ROLE", "EPOCH", "POSITION", "MASTER"].map(String::from)];
    let mut errors = Vec::new();
    for target in &targets {
        match fetch(target).await {
            Ok(status) => rows.push(row(target, &status)),
            Err(e) => {
                rows.push([target, "-", "unreachable", "-", "-", "-"].map(String::from));
                errors.push(format!("{target}: {e:#}"));
            }
        }
    }
    print!("{}", table(&rows));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(anyhow!("{}", errors.join("; "))))
    }
}

/// `http://host:port[/]` to `host:port`.
fn parse_admin(raw: &str) -> anyhow::Result<String> {
    let rest = raw.trim().strip_prefix("http://").unwrap_or(raw.trim());
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    match rest.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok() =>
        {
            Ok(rest.to_owned())
        }
        _ => bail!("invalid --admin address {raw:?}: expected http://host:port"),
    }
}

async fn fetch(target: &str) -> anyhow::Result<Value> {
    let body = tokio::time::timeout(TIMEOUT, get(target, "/status"))
        .await
        .map_err(|_| anyhow!("no answer within {TIMEOUT:?}"))??;
    serde_json::from_slice(&body).context("status is not JSON")
}

/// A plain HTTP/1.1 GET; the body of a 200 answer.
async fn get(target: &str, path: &str) -> anyhow::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(target).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {target}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.take(MAX_RESPONSE).read_to_end(&mut response).await?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("malformed HTTP response")?;
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let body = response[split + 4..].to_vec();
    let status_line = head.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) != Some("200") {
        bail!("GET {path} answered {status_line:?}");
    }
    if head.contains("transfer-encoding: chunked") {
        return dechunk(&body);
    }
    Ok(body)
}

/// Decodes a chunked body (`size\r\ndata\r\n ... 0\r\n\r\n`).
fn dechunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("bad chunk")?;
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16).context("bad chunk size")?;
        if size == 0 {
            return Ok(out);
        }
        let data = raw
            .get(eol + 2..eol + 2 + size)
            .context("truncated chunk")?;
        out.extend_from_slice(data);
        raw = raw.get(eol + 4 + size..).context("truncated chunk")?;
    }
}

fn row(target: &str, status: &Value) -> [String; 6] {
    [
        target.to_owned(),
        show(status.get("node_id")),
        show(status.get("role")),
        show(status.get("epoch")),
        show(status.get("position")),
        show(status.get("master")),
    ]
}

/// A status field as one table cell, whatever shape the broker gives it.
fn show(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => match (o.get("epoch"), o.get("index")) {
            (Some(e), Some(i)) => format!("{e}:{i}"),
            _ => ["id", "node_id", "address"]
                .iter()
                .find_map(|k| o.get(*k))
                .map_or_else(|| Value::Object(o.clone()).to_string(), |v| show(Some(v))),
        },
        Some(other) => other.to_string(),
    }
}

fn table(rows: &[[String; 6]]) -> String {
    let mut widths = [0usize; 6];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_from_any_shape() {
        let v: Value = serde_json::json!({
            "node_id": "n1", "role": "master", "epoch": 7,
            "position": {"epoch": 7, "index": 42}, "master": {"id": "n1", "client": "h:1"}
        });
        assert_eq!(
            row("h:8161", &v),
            ["h:8161", "n1", "master", "7", "7:42", "n1"]
        );
        let standalone: Value = serde_json::json!({"node_id": "a", "role": "standalone"});
        assert_eq!(show(standalone.get("epoch")), "-");
    }

    #[test]
    fn admin_addresses_and_chunks() {
        assert_eq!(
            parse_admin("http://h1:8161/").ok().as_deref(),
            Some("h1:8161")
        );
        assert!(parse_admin("http://h1").is_err() && parse_admin("http://:1").is_err());
        let body = dechunk(b"4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n").ok();
        assert_eq!(body.as_deref(), Some(&b"{\"a\":1}"[..]));
    }
}
