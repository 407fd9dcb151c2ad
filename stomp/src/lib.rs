//! STOMP 1.0-1.2 frames: a pure codec over bytes, with no I/O, so that it
//! can be unit-, property- and fuzz-tested on its own.

pub mod codec;
mod escape;
pub mod frame;

#[cfg(test)]
mod codec_tests;

pub use codec::{FrameError, Limits, Parsed, encode, encode_parts, parse};
pub use frame::{Command, Frame, Headers, Version};
