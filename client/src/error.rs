//! What can go wrong, sorted by what the application may conclude.

use crate::url::UrlError;
use thiserror::Error;

/// A client operation's failure.
///
/// For a SEND the variants answer "is my message stored?":
/// `Ok(())` — yes, receipted; [`Error::Server`] — the broker said no;
/// [`Error::NotSent`] — no, it never left this process;
/// [`Error::Unknown`] — maybe: it was written, and no answer came.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error("invalid URL: {0}")]
    Url(UrlError),
    /// No broker accepted the first connection within the allowed rounds.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The broker answered with an ERROR frame (a quorum that did not
    /// answer in time, a bad destination, ...). The client does not retry
    /// these: whether retrying is safe is the application's call.
    #[error("broker error: {0}")]
    Server(String),
    /// The frame never reached a broker: no connection came within the
    /// URL's `timeout`, or reconnecting gave up before it was written.
    #[error("not sent: {0}")]
    NotSent(String),
    /// The frame was written but its receipt never came and the client
    /// gave up (reconnecting failed, the `timeout` passed, the client
    /// closed). The broker may or may not have stored it.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// The message arrived on a connection that has since been lost; its
    /// ack id means nothing to the new one. The broker redelivers it.
    #[error("the message came on a lost connection; the broker will redeliver it")]
    Stale,
    /// The client was disconnected or dropped.
    #[error("the client is closed")]
    Closed,
}

// Not `#[from]`: that would also make the URL error the source, and a
// report of the chain would say it twice.
impl From<UrlError> for Error {
    fn from(e: UrlError) -> Self {
        Error::Url(e)
    }
}

impl Error {
    /// Whether the operation may have taken effect even though it failed.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Error::Unknown(_))
    }
}
