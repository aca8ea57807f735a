#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "alloc")]
extern crate alloc;

mod ascii;
pub mod backoff;
mod buffer;
pub mod client;
pub mod encode;
pub mod heartbeat;
pub mod http;
#[cfg(any(feature = "embedded-io-async-0.7", feature = "std"))]
pub mod io;
pub mod parse;
pub mod replay;
pub mod server;
pub mod time;

pub use buffer::BufferTooSmall;
pub use client::ClientConfig;
#[cfg(feature = "embedded-io-async-0.7")]
pub use io::client::{Client, ClientMemory, Item as ClientItem};
pub use parse::{Event, Output, ParseError, Parser};
pub use time::Instant;

// The paved path of a server: a hub over a ring, and `serve` with a decision per request.
#[cfg(any(feature = "embedded-io-async-0.7", feature = "std"))]
pub use io::server::{Answer, Server, ServerStorage};
#[cfg(all(feature = "std", feature = "embedded-io-async-0.7"))]
pub use io::{StdHub, server::serve};
pub use {replay::Ring, server::AcceptOptions};
