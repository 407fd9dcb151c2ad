//! ActiveMQ's failover URL: the broker addresses to try and how to retry.
//!
//! Users of ActiveMQ's Replicated LevelDB Store already write these URLs,
//! so ferromq takes the same form and the same option names and defaults:
//! `failover:(tcp://h1:61613,tcp://h2:61613)?randomize=false&maxReconnectDelay=1000`.

use std::time::Duration;
use thiserror::Error;

/// What is wrong with a URL; every variant names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UrlError {
    #[error("URL is empty")]
    Empty,
    #[error("{0:?} is not a tcp:// address or a failover: URL")]
    UnsupportedScheme(String),
    #[error("bad address {address:?}: {reason}")]
    BadAddress {
        address: String,
        reason: &'static str,
    },
    #[error("failover URL lists no addresses")]
    NoAddresses,
    #[error("missing ')' after the failover address list")]
    Unbalanced,
    #[error("unexpected {0:?} after the failover address list")]
    Trailing(String),
    #[error("options go on the failover: URL, not on {0:?}")]
    NestedOptions(String),
    #[error("unknown option {0:?}")]
    UnknownOption(String),
    #[error("option {option}={value:?}: expected {expected}")]
    BadValue {
        option: String,
        value: String,
        expected: &'static str,
    },
}

/// How many rounds over the address list to make before giving up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempts {
    Forever,
    Limited(u32),
}

/// The failover options, with ActiveMQ's names (in camelCase in the URL)
/// and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FailoverOptions {
    /// Wait before the second round of connection attempts.
    pub initial_reconnect_delay: Duration,
    /// The longest wait between rounds.
    pub max_reconnect_delay: Duration,
    pub use_exponential_back_off: bool,
    pub back_off_multiplier: f64,
    /// Rounds after a lost connection; `Limited(0)` means no reconnect.
    pub max_reconnect_attempts: Attempts,
    /// Extra rounds when the first connection fails; `None` (-1) follows
    /// `max_reconnect_attempts`, as ActiveMQ does.
    pub startup_max_reconnect_attempts: Option<Attempts>,
    /// Shuffle the addresses at every round, to spread clients out.
    pub randomize: bool,
    /// How long an operation waits for a connection; `None` waits forever.
    pub timeout: Option<Duration>,
}

impl Default for FailoverOptions {
    fn default() -> Self {
        FailoverOptions {
            initial_reconnect_delay: Duration::from_millis(10),
            max_reconnect_delay: Duration::from_millis(30_000),
            use_exponential_back_off: true,
            back_off_multiplier: 2.0,
            max_reconnect_attempts: Attempts::Forever,
            startup_max_reconnect_attempts: None,
            randomize: true,
            timeout: None,
        }
    }
}

/// A parsed URL: `host:port` addresses in the order written, and options.
#[derive(Debug, Clone, PartialEq)]
pub struct FailoverUrl {
    pub addresses: Vec<String>,
    pub options: FailoverOptions,
}

impl FailoverUrl {
    /// Parses `failover:(a,b)?opts`, `failover:a,b?opts` or a plain
    /// `tcp://host:port`. A plain address never reconnects, as in ActiveMQ,
    /// where only the failover transport does.
    pub fn parse(url: &str) -> Result<FailoverUrl, UrlError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(UrlError::Empty);
        }
        let Some(rest) = url.strip_prefix("failover:") else {
            let address = parse_address(url)?;
            let options = FailoverOptions {
                max_reconnect_attempts: Attempts::Limited(0),
                startup_max_reconnect_attempts: Some(Attempts::Limited(0)),
                ..FailoverOptions::default()
            };
            return Ok(FailoverUrl {
                addresses: vec![address],
                options,
            });
        };
        let (list, query) = match rest.strip_prefix('(') {
            Some(inner) => {
                let (list, after) = inner.split_once(')').ok_or(UrlError::Unbalanced)?;
                match after {
                    "" => (list, None),
                    _ => match after.strip_prefix('?') {
                        Some(q) => (list, Some(q)),
                        None => return Err(UrlError::Trailing(after.to_owned())),
                    },
                }
            }
            None => match rest.split_once('?') {
                Some((list, q)) => (list, Some(q)),
                None => (rest, None),
            },
        };
        let addresses = list
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(parse_address)
            .collect::<Result<Vec<_>, _>>()?;
        if addresses.is_empty() {
            return Err(UrlError::NoAddresses);
        }
        let mut options = FailoverOptions::default();
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            set_option(&mut options, name, value)?;
        }
        Ok(FailoverUrl { addresses, options })
    }
}

/// `tcp://host:port` (or `stomp://`) to `host:port`; IPv6 hosts keep
/// their brackets so that the result can be handed to `connect`.
fn parse_address(raw: &str) -> Result<String, UrlError> {
    let bad = |reason| UrlError::BadAddress {
        address: raw.to_owned(),
        reason,
    };
    let Some(hostport) = raw
        .strip_prefix("tcp://")
        .or_else(|| raw.strip_prefix("stomp://"))
    else {
        return Err(UrlError::UnsupportedScheme(raw.to_owned()));
    };
    if hostport.contains('?') {
        return Err(UrlError::NestedOptions(raw.to_owned()));
    }
    let hostport = hostport.strip_suffix('/').unwrap_or(hostport);
    let (host, port) = hostport.rsplit_once(':').ok_or(bad("expected host:port"))?;
    let plain_host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let host_ok = match plain_host {
        Some(v6) => !v6.is_empty() && v6.chars().all(|c| c.is_ascii_hexdigit() || c == ':'),
        None => {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
        }
    };
    if !host_ok {
        return Err(bad("invalid host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(format!("{host}:{p}")),
        _ => Err(bad("port must be a number from 1 to 65535")),
    }
}

fn set_option(o: &mut FailoverOptions, name: &str, value: &str) -> Result<(), UrlError> {
    let bad = |expected| UrlError::BadValue {
        option: name.to_owned(),
        value: value.to_owned(),
        expected,
    };
    let millis = || value.parse::<u64>().map(Duration::from_millis);
    let boolean = || value.parse::<bool>().map_err(|_| bad("true or false"));
    let attempts = || match value.parse::<i64>() {
        Ok(-1) => Ok(Attempts::Forever),
        Ok(n) => u32::try_from(n)
            .map(Attempts::Limited)
            .map_err(|_| bad("-1 (forever) or a count >= 0")),
        Err(_) => Err(bad("-1 (forever) or a count >= 0")),
    };
    match name {
        "initialReconnectDelay" => {
            o.initial_reconnect_delay = millis().map_err(|_| bad("milliseconds"))?
        }
        "maxReconnectDelay" => o.max_reconnect_delay = millis().map_err(|_| bad("milliseconds"))?,
        "useExponentialBackOff" => o.use_exponential_back_off = boolean()?,
        "backOffMultiplier" => {
            o.back_off_multiplier = value
                .parse::<f64>()
                .ok()
                .filter(|m| m.is_finite() && *m >= 1.0)
                .ok_or(bad("a number >= 1.0"))?
        }
        "maxReconnectAttempts" => o.max_reconnect_attempts = attempts()?,
        "startupMaxReconnectAttempts" => {
            o.startup_max_reconnect_attempts = match value {
                "-1" => None,
                _ => Some(attempts()?),
            }
        }
        "randomize" => o.randomize = boolean()?,
        "timeout" => {
            o.timeout = match value {
                "-1" => None,
                _ => Some(millis().map_err(|_| bad("-1 (forever) or milliseconds"))?),
            }
        }
        _ => return Err(UrlError::UnknownOption(name.to_owned())),
    }
    Ok(())
}

#[cfg(test)]
#[path = "url_tests.rs"]
mod tests;
