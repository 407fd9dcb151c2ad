//! A STOMP 1.2 client for ferromq that fails over between brokers.
//!
//! Give it an ActiveMQ failover URL,
//! `failover:(tcp://h1:61613,tcp://h2:61613)?randomize=false`, and it
//! connects to whichever node is the master (a replica's refusal names
//! the master, which is tried next), and when that connection is lost it
//! finds the next master by itself, subscribes again and resends every
//! SEND still waiting for its receipt.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferromq_client::Error> {
//! use ferromq_client::{AckMode, Client, ConnectOptions, Headers};
//! let client = Client::connect("failover:(tcp://h1:61613,tcp://h2:61613)", ConnectOptions::default()).await?;
//! client.send("/queue/orders", Headers::new(), "hello").await?; // receipted: stored
//! let mut orders = client.subscribe("/queue/orders", AckMode::ClientIndividual).await?;
//! if let Some(message) = orders.next().await {
//!     message.ack().await?;
//! }
//! client.disconnect().await
//! # }
//! ```
//!
//! Delivery is at least once, in both directions: a resent SEND may be
//! stored twice, and a message delivered on a lost connection comes back
//! (its `ack()` then returns [`Error::Stale`]).

pub mod admin;
mod client;
mod conn;
mod driver;
mod error;
mod plan;
mod state;
mod subscription;
mod url;

pub use client::{Client, ConnectOptions, Receipt};
pub use error::Error;
pub use ferromq_stomp::Headers;
pub use subscription::{AckMode, Message, Subscription};
pub use url::{Attempts, FailoverOptions, FailoverUrl, UrlError};

#[cfg(test)]
mod tests {
    use super::*;

    /// Applications move the handles into their own tasks.
    #[test]
    fn handles_can_cross_tasks() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Client>();
        shareable::<Subscription>();
        shareable::<Message>();
        shareable::<Receipt>();
        shareable::<Error>();
    }
}
