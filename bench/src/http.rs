//! GETs to a broker's admin port: readiness (`/readyz`) and, in a
//! cluster, every node's role and log position (`/status`), through
//! ferromq-client's admin GET.

use anyhow::{Context, Result, bail};
use ferromq_client::admin;
use serde_json::Value;
use std::time::Duration;

/// How long one request may take, connect to last byte: a node that is
/// paused or overloaded must not stall the bench's polling loops.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The status code and body of `GET path` on `addr`.
async fn get(addr: &str, path: &str) -> Result<(u16, Vec<u8>)> {
    let answer = admin::get(addr, path, TIMEOUT)
        .await
        .with_context(|| format!("GET {path} on {addr}"))?;
    Ok((answer.status, answer.body))
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
