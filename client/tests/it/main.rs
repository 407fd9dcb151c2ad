//! The client and the `ferromq` tool against real `ferromq-broker`
//! processes on loopback. Skipped (with a message) when no broker binary
//! is found, unless `FERROMQ_REQUIRE_BROKER=1`.

#[cfg(feature = "cli")]
mod cli;
mod common;
mod errors;
mod failover;
