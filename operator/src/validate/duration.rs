//! `spec.sessionTimeout`: a whole number of ms, s or m.

use std::time::Duration;

/// The shortest session timeout: below it a GC pause or a busy node would
/// make masters step down for nothing.
pub const MIN_SESSION_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest: ZooKeeper caps a session at 20 ticks, and the managed
/// ensemble's tick is at most 2s (see the ZooKeeper StatefulSet).
pub const MAX_SESSION_TIMEOUT: Duration = Duration::from_secs(40);

/// Parses `1500ms`, `2s` or `1m` (the forms the schema's pattern admits).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000)
    } else {
        return None;
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count: u64 = number.parse().ok()?;
    count.checked_mul(unit_ms).map(Duration::from_millis)
}

/// The form the broker's `--zk-session-timeout` takes: whole milliseconds,
/// so that `1500ms` and `2s` arrive the same way whatever the user wrote.
pub fn format_millis(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
    }

    #[test]
    fn refuses_other_forms() {
        for text in [
            "",
            "2",
            "s",
            "ms",
            "2h",
            "1.5s",
            "-2s",
            " 2s",
            "2 s",
            "2sec",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_duration(text), None, "{text:?}");
        }
    }

    #[test]
    fn formats_as_millis() {
        assert_eq!(format_millis(Duration::from_secs(2)), "2000ms");
    }
}
