//! STOMP frames: commands, headers and protocol versions.

use bytes::Bytes;
use std::fmt;

/// A STOMP protocol version this broker speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V1_0,
    V1_1,
    V1_2,
}

impl Version {
    /// Every version, oldest first.
    pub const ALL: [Version; 3] = [Version::V1_0, Version::V1_1, Version::V1_2];

    /// The version as it appears in `accept-version` and `version` headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }

    /// Picks the highest version both sides speak from an `accept-version`
    /// header; a client that sends none speaks 1.0.
    pub fn negotiate(accept_version: Option<&str>) -> Option<Version> {
        let Some(list) = accept_version else {
            return Some(Version::V1_0);
        };
        list.split(',')
            .filter_map(|v| Version::ALL.into_iter().find(|k| k.as_str() == v.trim()))
            .max()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! commands {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// A STOMP command, client or server side.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Command { $($variant),* }

        impl Command {
            /// Every command, for exhaustive tests.
            pub const ALL: &'static [Command] = &[$(Command::$variant),*];

            /// The command's wire name.
            pub fn as_str(self) -> &'static str {
                match self { $(Command::$variant => $name),* }
            }

            /// Parses a wire name; `None` for an unknown command.
            pub fn parse(name: &[u8]) -> Option<Command> {
                match name { $(n if n == $name.as_bytes() => Some(Command::$variant),)* _ => None }
            }
        }
    };
}

commands! {
    Connect => "CONNECT",
    Stomp => "STOMP",
    Send => "SEND",
    Subscribe => "SUBSCRIBE",
    Unsubscribe => "UNSUBSCRIBE",
    Ack => "ACK",
    Nack => "NACK",
    Begin => "BEGIN",
    Commit => "COMMIT",
    Abort => "ABORT",
    Disconnect => "DISCONNECT",
    Connected => "CONNECTED",
    Message => "MESSAGE",
    Receipt => "RECEIPT",
    Error => "ERROR",
}

impl Command {
    /// CONNECT, STOMP and CONNECTED frames never escape their headers: the
    /// version is not known yet when they are written.
    pub fn escapes_headers(self) -> bool {
        !matches!(self, Command::Connect | Command::Stomp | Command::Connected)
    }
}

/// Ordered frame headers. A repeated header keeps every occurrence on the
/// wire, but only the first one counts (STOMP 1.1+ "first wins").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    /// The first value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Appends a header, keeping any earlier one with the same name.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Sets a header: replaces every occurrence of `name` with one value.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_owned(), value.into()));
    }

    /// Removes every occurrence of `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| k != name);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Headers(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// One STOMP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub command: Command,
    pub headers: Headers,
    pub body: Bytes,
}

impl Frame {
    /// A frame with no headers and an empty body.
    pub fn new(command: Command) -> Self {
        Frame {
            command,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Builder-style header append.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(name, value);
        self
    }

    /// Builder-style body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_picks_the_highest_common_version() {
        assert_eq!(Version::negotiate(None), Some(Version::V1_0));
        assert_eq!(Version::negotiate(Some("1.0,1.1")), Some(Version::V1_1));
        assert_eq!(Version::negotiate(Some("1.2, 1.0")), Some(Version::V1_2));
        assert_eq!(Version::negotiate(Some("2.0,3.1")), None);
    }

    #[test]
    fn commands_round_trip_their_names() {
        for c in Command::ALL {
            assert_eq!(Command::parse(c.as_str().as_bytes()), Some(*c));
        }
        assert_eq!(Command::parse(b"send"), None);
    }

    #[test]
    fn first_header_wins() {
        let h: Headers = [("a", "1"), ("a", "2")].into_iter().collect();
        assert_eq!(h.get("a"), Some("1"));
    }
}
