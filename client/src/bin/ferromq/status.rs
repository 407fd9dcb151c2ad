//! `ferromq status`: `GET /status` on every node, shown as one table.

use crate::Failure;
use anyhow::{Context, anyhow, bail};
use ferromq_client::admin;
use serde_json::Value;
use std::time::Duration;

/// How long one node may take to answer.
const TIMEOUT: Duration = Duration::from_secs(5);

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
    let answer = admin::get(target, "/status", TIMEOUT).await?;
    if answer.status != 200 {
        bail!("GET /status answered {}", answer.status);
    }
    serde_json::from_slice(&answer.body).context("status is not JSON")
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
    fn admin_addresses() {
        assert_eq!(
            parse_admin("http://h1:8161/").ok().as_deref(),
            Some("h1:8161")
        );
        assert!(parse_admin("http://h1").is_err() && parse_admin("http://:1").is_err());
    }
}
