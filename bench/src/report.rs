//! The side-by-side table: one row per workload, a column per broker, and
//! ferromq's ratio to each peer; then the physical floors of this run.

use crate::baselines::Baselines;
use crate::workloads::{Outcome, Workload};
use hdrhistogram::Histogram;

/// Everything measured on one broker.
pub struct Column {
    pub name: String,
    /// Why the broker could not be measured at all.
    pub unavailable: Option<String>,
    pub results: Vec<(Workload, anyhow::Result<Outcome>)>,
}

impl Column {
    fn outcome(&self, w: Workload) -> Option<&anyhow::Result<Outcome>> {
        self.results.iter().find(|(k, _)| *k == w).map(|(_, r)| r)
    }
}

/// Prints the table, its footnotes (`clients`: which client each row
/// used, where that is not the same everywhere) and the floors.
pub fn print(
    heading: &str,
    workloads: &[Workload],
    columns: &[Column],
    clients: &[String],
    floors: Option<&Baselines>,
) {
    let Some((subject, peers)) = columns.split_first() else {
        return;
    };
    let mut header = vec!["workload".to_owned(), subject.name.clone()];
    for peer in peers {
        header.push(peer.name.clone());
        header.push(format!("{}/{}", subject.name, peer.name));
    }
    let mut rows = vec![header];
    let mut notes: Vec<String> = columns
        .iter()
        .filter_map(|c| {
            Some(format!(
                "{}: not measured: {}",
                c.name,
                c.unavailable.as_ref()?
            ))
        })
        .collect();
    for &w in workloads {
        let mut row = vec![format!("{} [{}]", w.label(), w.latency_kind())];
        row.push(cell(subject, w, &mut notes));
        for peer in peers {
            row.push(cell(peer, w, &mut notes));
            row.push(ratio(subject.outcome(w), peer.outcome(w)));
        }
        rows.push(row);
    }
    println!("\n{heading}\n");
    print_table(&rows);
    println!(
        "\nmsg/s: receipted SENDs (send rows), MESSAGEs received and ACKed (drain, e2e); \
         p50/p99 in ms; ratio = {0} msg/s over the peer's, and {0} p50 over the peer's",
        subject.name
    );
    for line in clients {
        println!("  {line}");
    }
    for note in notes {
        println!("  {note}");
    }
    if let Some(floors) = floors {
        print_floors(floors, subject);
    }
}

fn cell(col: &Column, w: Workload, notes: &mut Vec<String>) -> String {
    if col.unavailable.is_some() {
        return "n/a".to_owned();
    }
    match col.outcome(w) {
        None => "-".to_owned(),
        Some(Err(e)) => {
            notes.push(format!("{} / {}: {e:#}", col.name, w.key()));
            "error (see below)".to_owned()
        }
        Some(Ok(o)) => {
            if let Some(n @ 1..) = o.redelivered {
                notes.push(format!(
                    "{} / {}: {n} MESSAGEs delivered again after their ACKs were sent \
                     and the DISCONNECT receipted (lost ACKs)",
                    col.name,
                    w.key()
                ));
            }
            cell_text(o)
        }
    }
}

fn cell_text(o: &Outcome) -> String {
    match &o.latency {
        Some(h) => format!(
            "{}/s p50 {} p99 {}",
            thousands(o.rate()),
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
        ),
        None => format!("{}/s", thousands(o.rate())),
    }
}

fn ratio(
    ours: Option<&anyhow::Result<Outcome>>,
    theirs: Option<&anyhow::Result<Outcome>>,
) -> String {
    let (Some(Ok(a)), Some(Ok(b))) = (ours, theirs) else {
        return "-".to_owned();
    };
    let mut text = format!("{:.2}x msg/s", a.rate() / b.rate().max(1e-9));
    if let (Some(ha), Some(hb)) = (&a.latency, &b.latency) {
        let (pa, pb) = (ha.value_at_quantile(0.5), hb.value_at_quantile(0.5));
        text.push_str(&format!(", {:.2}x p50", pa as f64 / pb.max(1) as f64));
    }
    text
}

fn print_table(rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String]| {
        let cells: Vec<String> = widths
            .iter()
            .enumerate()
            .map(|(c, w)| format!("{:w$}", r.get(c).map(String::as_str).unwrap_or("")))
            .collect();
        println!("| {} |", cells.join(" | "));
    };
    for (i, row) in rows.iter().enumerate() {
        line(row);
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            println!("|-{}-|", rule.join("-|-"));
        }
    }
}

fn print_floors(floors: &Baselines, subject: &Column) {
    let fsync_p50 = floors.fsync.value_at_quantile(0.5);
    let rtt_p50 = floors.rtt.value_at_quantile(0.5);
    println!("\nphysical floors, measured in this run:");
    println!(
        "  4 KiB append + fdatasync in {}: p50 {} ms, p99 {} ms, {} ops/s",
        floors.dir.display(),
        ms(fsync_p50),
        ms(floors.fsync.value_at_quantile(0.99)),
        thousands(floors.fsync_per_sec),
    );
    println!(
        "  loopback TCP round trip (64 B): p50 {} ms, p99 {} ms",
        ms(rtt_p50),
        ms(floors.rtt.value_at_quantile(0.99)),
    );
    let floor = fsync_p50 + rtt_p50;
    print!("  one fdatasync + one round trip = {} ms", ms(floor));
    if let Some(Ok(o)) = subject.outcome(Workload::Sync1)
        && let Some(h) = &o.latency
    {
        let p50 = h.value_at_quantile(0.5);
        print!(
            "; {} sync send (1 producer) p50 {} ms = {:.1}x that",
            subject.name,
            ms(p50),
            p50 as f64 / floor.max(1) as f64
        );
    }
    println!();
}

/// Microseconds as milliseconds, with three significant-ish digits.
fn ms(us: u64) -> String {
    let v = us as f64 / 1000.0;
    if v < 1.0 {
        format!("{v:.3}")
    } else if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// A rate rounded to a whole number, with thousands separators.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// p50 of a histogram, for progress lines.
pub fn summary(o: &Outcome) -> String {
    let lat = |h: &Histogram<u64>| {
        format!(
            ", p50 {} ms, p99 {} ms",
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99))
        )
    };
    let again = match o.redelivered {
        Some(n @ 1..) => format!(", {n} redelivered after ACK"),
        _ => String::new(),
    };
    format!(
        "{} msgs in {:.2} s = {}/s{}{again}",
        o.count,
        o.elapsed.as_secs_f64(),
        thousands(o.rate()),
        o.latency.as_ref().map(lat).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(ms(442), "0.442");
        assert_eq!(ms(14_200), "14.2");
    }
}
