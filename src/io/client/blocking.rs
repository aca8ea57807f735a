//! The blocking client over [`std::net::TcpStream`]: one thread per client, pulled one item at
//! a time with [`BlockingClient::next`], the blocking twin of the async `Client`.
//!
//! A blocking thread waits for one thing at a time, so every wait carries the session's next
//! deadline as its timeout: the connect (`connect_timeout`), each write (the write timeout) and
//! each read (the read timeout). A socket timeout that runs out is the deadline passing.
//!
//! With the `tls` feature, [`BlockingClient::with_tls`] puts rustls on every connection
//! (`https`): the handshake runs right after the TCP connect, within the same connect
//! deadline, and then the same reads and writes go through rustls' `StreamOwned`, which keeps
//! a record cut short by a timeout and goes on with it at the next read.

use core::ops::Range;
use core::time::Duration;
use std::io::{ErrorKind as IoKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

#[cfg(feature = "tls")]
use std::boxed::Box;

use embedded_io::ErrorKind;
use heapless::String;

use super::shared::{Dial, Ready, fill, owned, random_seed};
use super::{ClientMemory, Item};
use crate::client::{
    AckError, Action, ClientConfig, ClientSession, ConfigError, Cursor, RequestBuildError,
    SessionEvent, State,
};
use crate::time::{Instant, StdOrigin};

/// A Server-Sent Events client on the calling thread: pull its [`Item`]s with
/// [`next`](Self::next), and act on it between two calls, as with the async `Client`.
///
/// Host names are resolved with [`ToSocketAddrs`], which blocks without a timeout of its own;
/// each address is then tried with the time left until the connect deadline.
///
/// One difference from the async client: a blocked `next()` cannot be interrupted, so while
/// the session waits for the link (after [`link_down`](Self::link_down)), when nothing but
/// [`link_up`](Self::link_up) can move it, `next()` returns at once with
/// `Item::Story(SessionEvent::WaitingForLink)` again instead of blocking for good.
///
/// # Examples
///
/// ```no_run
/// use sansse::ClientConfig;
/// use sansse::io::client::{BlockingClient, ClientMemory, Item};
///
/// let config = ClientConfig::new("127.0.0.1", "/events").with_port(8080);
/// let mut memory = ClientMemory::new();
/// let mut client = BlockingClient::new(config, &mut memory)?;
/// while let Some(item) = client.next() {
///     match item {
///         Item::Event(event) => println!("{}: {}", event.id(), event.data()),
///         other => eprintln!("{other:?}"),
///     }
/// }
/// # Ok::<(), sansse::client::ConfigError>(())
/// ```
pub struct BlockingClient<'buf> {
    session: ClientSession<'buf>,
    origin: StdOrigin,
    rx: &'buf mut [u8],
    tx: &'buf mut [u8],
    conn: Option<Conn>,
    dial: Option<Dial>,
    /// Every connection is TLS through this connector (`https`).
    #[cfg(feature = "tls")]
    tls: Option<crate::io::tls::TlsConnector>,
    /// Why the last handshake failed, until one succeeds.
    #[cfg(feature = "tls")]
    tls_error: Option<crate::io::tls::TlsError>,
    awaiting_headers: bool,
    /// Request bytes in `tx` not yet written.
    pending: Range<usize>,
    /// `rx[..rx_len]` holds the last read; `cursor` walks its messages until done.
    rx_len: usize,
    cursor: Option<Cursor>,
    finished: bool,
}

impl<'buf> BlockingClient<'buf> {
    /// A client with the default [`ClientMemory`], instants counted from now, and a random
    /// backoff seed; the first [`next`](Self::next) connects.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] as for [`ClientSession::new`].
    pub fn new(
        config: ClientConfig<'buf>,
        memory: &'buf mut ClientMemory,
    ) -> Result<Self, ConfigError> {
        Self::with_memory(config, StdOrigin::now(), random_seed(), memory)
    }

    /// A client in `memory` of any size, on `origin`'s clock, with `seed` for the backoff
    /// jitter.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] as for [`ClientSession::new`].
    ///
    /// # Panics
    ///
    /// If `RX` or `TX` is zero.
    pub fn with_memory<
        const PARSER: usize,
        const HEAD: usize,
        const TRANSMIT: usize,
        const REDIRECT: usize,
        const RX: usize,
        const TX: usize,
    >(
        config: ClientConfig<'buf>,
        origin: StdOrigin,
        seed: u64,
        memory: &'buf mut ClientMemory<PARSER, HEAD, TRANSMIT, REDIRECT, RX, TX>,
    ) -> Result<Self, ConfigError> {
        let ClientMemory { session, rx, tx } = memory;
        let session = ClientSession::new(origin.current(), config, session.buffers(), seed)?;
        Ok(Self::from_parts(session, origin, rx, tx))
    }

    /// A client around a session built by hand, with lent receive and transmit buffers.
    ///
    /// # Panics
    ///
    /// If `rx` or `tx` is empty: a zero-length read would look like the end of the stream,
    /// and an empty transmit buffer would never send the request.
    pub fn from_parts(
        session: ClientSession<'buf>,
        origin: StdOrigin,
        rx: &'buf mut [u8],
        tx: &'buf mut [u8],
    ) -> Self {
        assert!(
            !rx.is_empty() && !tx.is_empty(),
            "the client needs non-empty receive and transmit buffers"
        );
        Self {
            session,
            origin,
            rx,
            tx,
            conn: None,
            dial: None,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            tls_error: None,
            awaiting_headers: false,
            pending: 0..0,
            rx_len: 0,
            cursor: None,
            finished: false,
        }
    }

    /// Makes every connection of this client TLS (`https`), verified by `connector` (see
    /// [`io::tls`](crate::io::tls) for what it checks); set the port to 443 or the server's.
    ///
    /// A refused certificate or a failed handshake is a failed connect for the session, which
    /// retries with backoff (`Reconnecting` with `ReconnectReason::Io(InvalidData)`); the
    /// typed reason is kept in [`tls_error`](Self::tls_error). Never falls back to plain text.
    ///
    /// The session does not know the scheme: a redirect is followed over TLS or not at all,
    /// never in plain text (see [`io::tls`](crate::io::tls#redirects) for each kind).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use sansse::ClientConfig;
    /// use sansse::client::SessionEvent;
    /// use sansse::io::client::{BlockingClient, ClientMemory, Item};
    /// use sansse::io::tls::{TlsConfig, TlsConnector};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let connector = TlsConnector::new(TlsConfig::new().with_ca_file("ca.pem")?);
    /// let config = ClientConfig::new("example.com", "/events").with_port(443);
    /// let mut memory = ClientMemory::new();
    /// let mut client = BlockingClient::new(config, &mut memory)?.with_tls(connector);
    /// while let Some(item) = client.next() {
    ///     match item {
    ///         Item::Event(event) => println!("{}: {}", event.id(), event.data()),
    ///         Item::Story(SessionEvent::Reconnecting { .. }) => {
    ///             if let Some(error) = client.tls_error().filter(|e| e.is_certificate()) {
    ///                 eprintln!("{error}"); // "TLS: the certificate of example.com has expired"
    ///                 break;
    ///             }
    ///         }
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn with_tls(mut self, connector: crate::io::tls::TlsConnector) -> Self {
        self.tls = Some(connector);
        self
    }

    /// Why the last TLS handshake failed (a refused certificate says which check), or `None`
    /// once one succeeded. Always `None` without [`with_tls`](Self::with_tls).
    #[cfg(feature = "tls")]
    pub fn tls_error(&self) -> Option<&crate::io::tls::TlsError> {
        self.tls_error.as_ref()
    }

    /// The next item: connects, writes, reads and sleeps until there is one. `None` once the
    /// `Closed` story has been handed out.
    #[allow(clippy::should_implement_trait)] // Items borrow the client: not an `Iterator`.
    pub fn next(&mut self) -> Option<Item<'_>> {
        let ready = self.turn()?;
        Some(match ready {
            Ready::Message(found, cursor) => {
                let input = self.rx.get(..self.rx_len).unwrap_or_default();
                match self.session.resolve_message(input, &cursor, found) {
                    Ok(event) => Item::Event(event),
                    Err(skipped) => Item::Skipped(skipped),
                }
            }
            Ready::Skipped(skipped) => Item::Skipped(skipped),
            Ready::Story(event) => Item::Story(event),
            Ready::Persist => Item::Story(SessionEvent::PersistId(self.session.resume_id())),
            Ready::Connected { cross_origin } => Item::Connected { cross_origin },
            Ready::Ping => Item::Ping,
        })
    }

    /// Acknowledges the event with this id; see [`ClientSession::ack`].
    ///
    /// # Errors
    ///
    /// As for [`ClientSession::ack`].
    pub fn ack(&mut self, id: &str) -> Result<(), AckError> {
        self.session.ack(self.origin.current(), id)
    }

    /// Adds `headers` to the request of the connection just handed out as
    /// [`Item::Connected`]; ignored (returning `Ok`) at any other time.
    ///
    /// # Errors
    ///
    /// As for [`ClientSession::handle_connected_with_headers`].
    pub fn attempt_headers(&mut self, headers: &[(&str, &str)]) -> Result<(), RequestBuildError> {
        if !self.awaiting_headers {
            return Ok(());
        }
        self.awaiting_headers = false;
        self.session
            .handle_connected_with_headers(self.origin.current(), headers)
    }

    /// Reports that the network link went down; see [`ClientSession::handle_link_down`].
    pub fn link_down(&mut self) {
        self.session.handle_link_down(self.origin.current());
    }

    /// Reports that the network link is up again: an attempt starts at once.
    pub fn link_up(&mut self) {
        self.session.handle_link_up(self.origin.current());
    }

    /// Reports that the ping asked for with [`Item::Ping`] was answered.
    pub fn pong(&mut self) {
        self.session.handle_pong(self.origin.current());
    }

    /// Ends the session for good: the next items are its `Closed` story, then `None`.
    pub fn close(&mut self) {
        self.session.close(self.origin.current());
    }

    /// The session, to read its state, resume id, reconnection time or deadline.
    pub fn session(&self) -> &ClientSession<'buf> {
        &self.session
    }

    /// The client's clock.
    pub fn now(&self) -> Instant {
        self.origin.current()
    }

    /// Runs the session's loop until something can be handed out.
    fn turn(&mut self) -> Option<Ready> {
        loop {
            if self.finished {
                return None;
            }
            let now = self.origin.current();
            if self.awaiting_headers {
                // The application added no headers; an error closes the session, and the
                // story says why.
                self.awaiting_headers = false;
                let _ = self.session.handle_connected(now);
            }
            if let Some(cursor) = &mut self.cursor {
                let input = self.rx.get(..self.rx_len).unwrap_or_default();
                match self.session.locate_message(now, input, cursor) {
                    Some(Ok(found)) => return Some(Ready::Message(found, *cursor)),
                    Some(Err(skipped)) => return Some(Ready::Skipped(skipped)),
                    None => self.cursor = None,
                }
            }
            while let Some(action) = self.session.poll_action() {
                match action {
                    Action::Connect {
                        host,
                        port,
                        cross_origin,
                    } => {
                        let mut name = String::new();
                        if name.push_str(host).is_ok() {
                            self.dial = Some(Dial {
                                host: name,
                                port,
                                cross_origin,
                            });
                        } else {
                            self.session.handle_error(now, ErrorKind::InvalidInput);
                        }
                    }
                    Action::Disconnect => {
                        self.conn = None;
                        self.dial = None;
                        self.awaiting_headers = false;
                        self.pending = 0..0;
                    }
                    Action::SendPing => return Some(Ready::Ping),
                }
            }
            if let Some(event) = self.session.poll_event() {
                return Some(match owned(event) {
                    Some(event) => {
                        self.finished = matches!(event, SessionEvent::Closed { .. });
                        Ready::Story(event)
                    }
                    None => Ready::Persist,
                });
            }
            if self.session.state() == State::Closed {
                self.finished = true;
                return None;
            }
            let deadline = self.session.poll_timeout();
            let Some(stream) = self.conn.as_mut() else {
                if let Some(dial) = self.dial.take() {
                    match self.open(&dial.host, dial.port, deadline) {
                        Ok(stream) => {
                            self.conn = Some(stream);
                            self.awaiting_headers = true;
                            return Some(Ready::Connected {
                                cross_origin: dial.cross_origin,
                            });
                        }
                        Err(error) if timed_out(&error) => {
                            self.session.handle_timeout(self.origin.current());
                        }
                        Err(error) => {
                            self.session
                                .handle_error(self.origin.current(), error.kind().into());
                        }
                    }
                    continue;
                }
                let Some(at) = deadline else {
                    // Only `link_up` can move the session now, and only the caller can call
                    // it: hand the wait back instead of blocking for good.
                    return Some(Ready::Story(SessionEvent::WaitingForLink));
                };
                std::thread::sleep(at.saturating_duration_since(self.origin.current()));
                // A no-op before the deadline (the sleep may wake early).
                self.session.handle_timeout(self.origin.current());
                continue;
            };
            if self.pending.is_empty() {
                self.pending = 0..fill(now, &mut self.session, self.tx);
            }
            if !self.pending.is_empty() {
                // Only a zero timeout is refused, and `timeout` never gives one.
                let _ = stream
                    .tcp()
                    .set_write_timeout(timeout(&self.origin, deadline));
                let bytes = self.tx.get(self.pending.clone()).unwrap_or_default();
                match stream.write(bytes) {
                    Ok(0) => self
                        .session
                        .handle_error(self.origin.current(), ErrorKind::WriteZero),
                    Ok(n) => self.pending.start += n.min(self.pending.len()),
                    Err(error) if timed_out(&error) => {
                        self.session.handle_timeout(self.origin.current());
                    }
                    Err(error) if error.kind() == IoKind::Interrupted => {}
                    Err(error) => self
                        .session
                        .handle_error(self.origin.current(), error.kind().into()),
                }
                continue;
            }
            let _ = stream
                .tcp()
                .set_read_timeout(timeout(&self.origin, deadline));
            match stream.read(self.rx) {
                Ok(0) => self.session.handle_eof(self.origin.current()),
                Ok(n) => {
                    let n = n.min(self.rx.len());
                    let input = self.rx.get(..n).unwrap_or_default();
                    let (_, cursor) = self.session.take_bytes(self.origin.current(), input);
                    self.rx_len = n;
                    self.cursor = Some(cursor);
                }
                // A no-op if the socket woke a little before the deadline.
                Err(error) if timed_out(&error) => {
                    self.session.handle_timeout(self.origin.current());
                }
                Err(error) if error.kind() == IoKind::Interrupted => {}
                Err(error) => self
                    .session
                    .handle_error(self.origin.current(), error.kind().into()),
            }
        }
    }
}

impl BlockingClient<'_> {
    /// Opens the connection to `host:port`: TCP, then with [`with_tls`](Self::with_tls) the
    /// handshake, both within `deadline`.
    fn open(&mut self, host: &str, port: u16, deadline: Option<Instant>) -> std::io::Result<Conn> {
        let tcp = connect(host, port, &self.origin, deadline)?;
        #[cfg(feature = "tls")]
        if let Some(connector) = &self.tls {
            return match handshake(connector, host, tcp, &self.origin, deadline) {
                Ok(stream) => {
                    self.tls_error = None;
                    Ok(Conn::Tls(stream))
                }
                Err(error) => {
                    let io = match &error {
                        crate::io::tls::TlsError::Io(io) => std::io::Error::from(io.kind()),
                        _ => std::io::Error::from(IoKind::InvalidData),
                    };
                    self.tls_error = Some(error);
                    Err(io)
                }
            };
        }
        Ok(Conn::Plain(tcp))
    }
}

/// rustls over a socket.
#[cfg(feature = "tls")]
type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// One connection: plain TCP, or rustls over it.
enum Conn {
    Plain(TcpStream),
    /// Boxed: rustls' connection state is a few kilobytes.
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream>),
}

impl Conn {
    /// The socket, for its timeouts.
    fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            Self::Tls(stream) => stream.get_ref(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.read(buf),
            #[cfg(feature = "tls")]
            Self::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.write(buf),
            #[cfg(feature = "tls")]
            Self::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.flush(),
            #[cfg(feature = "tls")]
            Self::Tls(stream) => stream.flush(),
        }
    }
}

/// The client side of a TLS handshake over `tcp`, one record at a time so that every wait
/// ends at `deadline` (an expired deadline is `TlsError::Io` with `TimedOut`).
#[cfg(feature = "tls")]
fn handshake(
    connector: &crate::io::tls::TlsConnector,
    host: &str,
    mut tcp: TcpStream,
    origin: &StdOrigin,
    deadline: Option<Instant>,
) -> Result<Box<TlsStream>, crate::io::tls::TlsError> {
    use crate::io::tls::{TlsError, server_name};

    let failed = |error: std::io::Error| TlsError::from_handshake(Some(host), error);
    let mut conn = rustls::ClientConnection::new(connector.client_config(), server_name(host)?)
        .map_err(TlsError::Protocol)?;
    while conn.is_handshaking() {
        if deadline.is_some_and(|at| origin.current() >= at) {
            return Err(TlsError::Io(IoKind::TimedOut.into()));
        }
        let left = timeout(origin, deadline);
        let _ = tcp.set_write_timeout(left);
        let _ = tcp.set_read_timeout(left);
        if conn.wants_write() {
            conn.write_tls(&mut tcp).map_err(failed)?;
            continue;
        }
        match conn.read_tls(&mut tcp) {
            Ok(0) => return Err(TlsError::Io(IoKind::UnexpectedEof.into())),
            Ok(_) => {}
            Err(error) if error.kind() == IoKind::Interrupted => continue,
            Err(error) => return Err(failed(error)),
        }
        if let Err(error) = conn.process_new_packets() {
            // Tell the server why (the alert rustls queued), as far as the socket lets us.
            let _ = conn.write_tls(&mut tcp);
            return Err(failed(std::io::Error::new(IoKind::InvalidData, error)));
        }
    }
    Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
}

impl core::fmt::Debug for BlockingClient<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BlockingClient")
            .field("session", &self.session)
            .field("connected", &self.conn.is_some())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// Resolves `host` and tries each address until one connects or the deadline passes; the
/// error is the last address's (`TimedOut` once the deadline passed).
fn connect(
    host: &str,
    port: u16,
    origin: &StdOrigin,
    deadline: Option<Instant>,
) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::new(IoKind::NotFound, "host has no address");
    for addr in (host, port).to_socket_addrs()? {
        let attempt = match timeout(origin, deadline) {
            Some(left) => TcpStream::connect_timeout(&addr, left),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => {
                // The request is written in one piece; waiting to coalesce only delays it.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(error) => last = error,
        }
        if deadline.is_some_and(|at| origin.current() >= at) {
            return Err(IoKind::TimedOut.into());
        }
    }
    Err(last)
}

/// The socket timeout that ends at `deadline`: at least 1 ms, as a zero timeout is refused.
fn timeout(origin: &StdOrigin, deadline: Option<Instant>) -> Option<Duration> {
    let left = deadline?.saturating_duration_since(origin.current());
    Some(left.max(Duration::from_millis(1)))
}

/// Whether a socket timeout ran out (Unix reports `WouldBlock`, Windows `TimedOut`).
fn timed_out(error: &std::io::Error) -> bool {
    matches!(error.kind(), IoKind::WouldBlock | IoKind::TimedOut)
}
