//! Client shells: one [`ClientSession`](crate::client::ClientSession) pulled one [`Item`] at a
//! time, over async connections with [`Client::next`] (with `embedded-io-async-0.7`), or over
//! a blocking `std::net::TcpStream` with [`BlockingClient::next`] (with `std`). Both hand out
//! the same items and take the same calls between them.
//!
//! # The pull client
//!
//! [`Client`] owns the session, the connector, the clock and the connection. Each
//! [`next`](Client::next) drives the connection (connect, request, read, timers, reconnects)
//! until there is something to hand out, an [`Item`]: an event, a skipped event, a step of the
//! story (open, reconnecting with reason and delay, retry changed, redirected, id to persist,
//! closed), a ping wanted, or a new connection that may take fresh headers. Between two
//! `next()` calls the application acts on the client directly: [`ack`](Client::ack),
//! [`link_down`](Client::link_down) and [`link_up`](Client::link_up),
//! [`attempt_headers`](Client::attempt_headers), [`pong`](Client::pong),
//! [`close`](Client::close). After the `Closed` story, `next()` returns `None`.
//!
//! A complete smol client that prints events, reconnects and resumes with `Last-Event-ID`
//! (15 lines, the README's paved path):
//!
//! ```no_run
//! use sansse::{Client, ClientConfig, ClientItem, ClientMemory, io::FuturesIo};
//! use smol::net::TcpStream;
//!
//! fn main() -> Result<(), sansse::client::ConfigError> {
//!     smol::block_on(async {
//!         let config = ClientConfig::new("127.0.0.1", "/events").with_port(8080);
//!         let connect = async |h: &str, p: u16| TcpStream::connect((h, p)).await.map(FuturesIo::new);
//!         let mut memory = ClientMemory::new();
//!         let mut client = Client::new(config, connect, &mut memory)?;
//!         while let Some(item) = client.next().await {
//!             let ClientItem::Event(e) = item else { continue };
//!             println!("{}: {}", e.id(), e.data());
//!         }
//!         Ok(())
//!     })
//! }
//! ```
//!
//! # Connecting
//!
//! The connector is an async closure `async |host: &str, port: u16| -> Result<Conn, Error>`
//! (write `async |..| { .. }`: a closure returning an `async` block cannot hand the borrowed
//! host to it), or any type that implements [`Connect`]. A connection is an owned value that
//! the client drops at the session's `Disconnect`. embassy-net fits through its `TcpClient`,
//! whose connections borrow the shared `TcpClientState` rather than the connector (see
//! `examples/embassy`).

#[cfg(feature = "std")]
mod blocking;
#[cfg(feature = "embedded-io-async-0.7")]
mod pull;
mod shared;

#[cfg(feature = "std")]
pub use blocking::BlockingClient;
#[cfg(feature = "embedded-io-async-0.7")]
pub use pull::{Client, Connect};
pub use shared::{ClientMemory, Item};
