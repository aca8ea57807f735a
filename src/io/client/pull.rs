//! The pull-style async client: [`Client::next`] hands out one [`Item`] at a time.

use core::future::Future;
use core::ops::Range;

use embedded_io::{Error as _, ErrorKind};
use embedded_io_async::{Read as _, Write as _};
use heapless::String;

use super::shared::{Dial, Ready, fill, owned};
use super::{ClientMemory, Item};
use crate::client::{
    AckError, Action, ClientConfig, ClientSession, ConfigError, Cursor, RequestBuildError,
    SessionEvent, State,
};
use crate::io::{Either, Timer, select};
use crate::time::Instant;

/// Opens the connections of a [`Client`]: an async closure
/// `async |host: &str, port: u16| -> Result<Conn, Error>` implements it, so most programs never
/// name this trait.
///
/// A connection is an owned value: the client keeps it until the session says `Disconnect`
/// and then drops it. A connection that must borrow something (embassy-net's `TcpSocket`
/// borrows its buffers) borrows it from outside the client, for instance through
/// embassy-net's `TcpClient` and its `TcpClientState`.
///
/// Why a trait at all, and why no lifetime on `Conn`: the trait names the connection and
/// error types once, so [`Client`] needs no extra type parameters for them, and a connector
/// with state of its own (a pool, a resolver) can implement it by name. A connection that
/// borrowed the connector (`Conn<'c>`) would make the client borrow itself, so it cannot own
/// both; embassy-net does not need that, as its `TcpClient` lends from the shared state.
///
/// # Examples
///
/// smol's `TcpStream` through [`FuturesIo`](crate::io::FuturesIo), as a closure:
///
/// ```
/// use sansse::io::FuturesIo;
/// use sansse::io::client::Connect;
///
/// fn check<C: Connect>(_: &C) {}
///
/// let connect = async |host: &str, port: u16| {
///     let stream = smol::net::TcpStream::connect((host, port)).await?;
///     stream.set_nodelay(true)?;
///     Ok::<_, std::io::Error>(FuturesIo::new(stream))
/// };
/// check(&connect);
/// ```
pub trait Connect {
    /// An open connection.
    type Conn: embedded_io_async::Read + embedded_io_async::Write;

    /// Why a connect failed; its [`kind`](embedded_io::Error::kind) goes to the session.
    type Error: embedded_io::Error;

    /// Opens a TCP connection to `host:port` (a name to resolve, or an address; an IPv6
    /// literal comes without brackets).
    ///
    /// Dropping the future must abandon the attempt: the client races it against the
    /// session's connect deadline, and drops it when the deadline comes first or when the
    /// application drops a pending [`Client::next`].
    fn connect(
        &mut self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = Result<Self::Conn, Self::Error>>;
}

impl<F, S, E> Connect for F
where
    F: AsyncFnMut(&str, u16) -> Result<S, E>,
    S: embedded_io_async::Read + embedded_io_async::Write,
    E: embedded_io::Error,
{
    type Conn = S;
    type Error = E;

    fn connect(&mut self, host: &str, port: u16) -> impl Future<Output = Result<S, E>> {
        self(host, port)
    }
}

/// A Server-Sent Events client over async connections: pull its [`Item`]s with
/// [`next`](Self::next), and act on it between two calls.
///
/// See the [module docs](super) for a complete program.
///
/// # Cancel safety
///
/// [`next`](Self::next) is cancel-safe: a dropped `next()` future loses no event and leaves
/// the session consistent, so it can be raced against the application's own signals (a link
/// change, a shutdown) with any `select`. Everything it has read or decided lives in the
/// client, not in the future; what a drop abandons is only the I/O in flight, which the next
/// call starts again:
///
/// - a connect in progress (the next call connects again, to the same host and port, within
///   the same connect deadline);
/// - a read or a write that had not completed (which, by the `embedded_io_async` contract
///   for cancel-safe streams, read or wrote nothing).
///
/// This holds when the connection's `read`, `write` and `flush`, and the timer's sleep, are
/// cancel-safe (smol's streams through `FuturesIo`, tokio's through `compat()`, embassy-net's
/// sockets, [`StdTimer`](crate::io::StdTimer), `EmbassyTimer` all are), as the loop drops
/// whichever of them loses a race on every turn anyway.
///
/// While the session waits for the link (after [`link_down`](Self::link_down)) it has no
/// deadline, so `next()` waits for good: race it against the signal that the link is up, and
/// call [`link_up`](Self::link_up) when it wins.
pub struct Client<'buf, C: Connect, T: Timer> {
    session: ClientSession<'buf>,
    connector: C,
    timer: T,
    rx: &'buf mut [u8],
    tx: &'buf mut [u8],
    conn: Option<C::Conn>,
    /// The connect to make (or to make again, if a dropped `next()` abandoned it).
    dial: Option<Dial>,
    /// A connection is up and `Connected` was handed out: the request waits for the
    /// application's headers until the next call.
    awaiting_headers: bool,
    /// Request bytes in `tx` not yet written, and written but not yet flushed.
    pending: Range<usize>,
    unflushed: bool,
    /// `rx[..rx_len]` holds the last read; `cursor` walks its messages until done.
    rx_len: usize,
    cursor: Option<Cursor>,
    /// The `Closed` story was handed out.
    finished: bool,
}

#[cfg(feature = "std")]
impl<'buf, C: Connect> Client<'buf, C, crate::io::StdTimer> {
    /// A client on the std clock ([`StdTimer`](crate::io::StdTimer)), with the default
    /// [`ClientMemory`] and a random backoff seed; the first [`next`](Self::next) connects.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] as for [`ClientSession::new`].
    pub fn new(
        config: ClientConfig<'buf>,
        connect: C,
        memory: &'buf mut ClientMemory,
    ) -> Result<Self, ConfigError> {
        let seed = super::shared::random_seed();
        Self::with_timer(config, connect, crate::io::StdTimer::new(), seed, memory)
    }
}

impl<'buf, C: Connect, T: Timer> Client<'buf, C, T> {
    /// A client on `timer`, in `memory` of any size; `seed` drives the backoff jitter (give
    /// every device its own: see [`Backoff::new`](crate::backoff::Backoff::new)).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] as for [`ClientSession::new`].
    ///
    /// # Panics
    ///
    /// If `RX` or `TX` is zero.
    pub fn with_timer<
        const PARSER: usize,
        const HEAD: usize,
        const TRANSMIT: usize,
        const REDIRECT: usize,
        const RX: usize,
        const TX: usize,
    >(
        config: ClientConfig<'buf>,
        connect: C,
        mut timer: T,
        seed: u64,
        memory: &'buf mut ClientMemory<PARSER, HEAD, TRANSMIT, REDIRECT, RX, TX>,
    ) -> Result<Self, ConfigError> {
        let ClientMemory { session, rx, tx } = memory;
        let session = ClientSession::new(timer.now(), config, session.buffers(), seed)?;
        Ok(Self::from_parts(session, connect, timer, rx, tx))
    }

    /// A client around a session built by hand, with lent receive and transmit buffers: for
    /// memory that lies elsewhere, or a session that carries on from where it stands.
    ///
    /// # Panics
    ///
    /// If `rx` or `tx` is empty: a zero-length read would look like the end of the stream,
    /// and an empty transmit buffer would never send the request.
    pub fn from_parts(
        session: ClientSession<'buf>,
        connect: C,
        timer: T,
        rx: &'buf mut [u8],
        tx: &'buf mut [u8],
    ) -> Self {
        assert!(
            !rx.is_empty() && !tx.is_empty(),
            "the client needs non-empty receive and transmit buffers"
        );
        Self {
            session,
            connector: connect,
            timer,
            rx,
            tx,
            conn: None,
            dial: None,
            awaiting_headers: false,
            pending: 0..0,
            unflushed: false,
            rx_len: 0,
            cursor: None,
            finished: false,
        }
    }

    /// The next item: drives connections, requests, reads, timers and reconnects until there
    /// is one. `None` once the `Closed` story has been handed out.
    ///
    /// Cancel-safe: see [`Client`].
    pub async fn next(&mut self) -> Option<Item<'_>> {
        let ready = self.turn().await?;
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

    /// Acknowledges that the application processed the event with this id (and everything
    /// before it): in [`ResumeMode::Acknowledged`](crate::client::ResumeMode::Acknowledged),
    /// the next reconnect resumes from it. See [`ClientSession::ack`].
    ///
    /// # Errors
    ///
    /// As for [`ClientSession::ack`].
    pub fn ack(&mut self, id: &str) -> Result<(), AckError> {
        let now = self.timer.now();
        self.session.ack(now, id)
    }

    /// Adds `headers` to the request of the connection just handed out as
    /// [`Item::Connected`], after the configured ones: the place for credentials that expire.
    /// Ignored (returning `Ok`) at any other time.
    ///
    /// # Errors
    ///
    /// As for [`ClientSession::handle_connected_with_headers`]; the session then closes, and
    /// the next item says why.
    pub fn attempt_headers(&mut self, headers: &[(&str, &str)]) -> Result<(), RequestBuildError> {
        if !self.awaiting_headers {
            return Ok(());
        }
        self.awaiting_headers = false;
        let now = self.timer.now();
        self.session.handle_connected_with_headers(now, headers)
    }

    /// Reports that the network link went down: the connection is dropped and no attempt is
    /// made until [`link_up`](Self::link_up). See [`ClientSession::handle_link_down`].
    pub fn link_down(&mut self) {
        let now = self.timer.now();
        self.session.handle_link_down(now);
    }

    /// Reports that the network link is up again: an attempt starts at once.
    pub fn link_up(&mut self) {
        let now = self.timer.now();
        self.session.handle_link_up(now);
    }

    /// Reports that the ping asked for with [`Item::Ping`] was answered.
    pub fn pong(&mut self) {
        let now = self.timer.now();
        self.session.handle_pong(now);
    }

    /// Ends the session for good: the next items are its `Closed` story, then `None`.
    pub fn close(&mut self) {
        let now = self.timer.now();
        self.session.close(now);
    }

    /// The session, to read its state, resume id, reconnection time or deadline.
    pub fn session(&self) -> &ClientSession<'buf> {
        &self.session
    }

    /// The client's clock.
    pub fn now(&mut self) -> Instant {
        self.timer.now()
    }

    /// Runs the session's loop until something can be handed out, keeping every decision in
    /// `self` before its next await, so that a dropped call loses nothing.
    async fn turn(&mut self) -> Option<Ready> {
        loop {
            if self.finished {
                return None;
            }
            let now = self.timer.now();
            if self.awaiting_headers {
                // The application added no headers. An error closes the session, and the
                // story says why.
                self.awaiting_headers = false;
                let _ = self.session.handle_connected(now);
            }
            // The messages of the last read.
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
                        self.unflushed = false;
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
                // Closed before this client was made, its story heard elsewhere.
                self.finished = true;
                return None;
            }
            let deadline = self.session.poll_timeout();
            let Some(conn) = self.conn.as_mut() else {
                if let Some(dial) = &self.dial {
                    let cross_origin = dial.cross_origin;
                    let opened = select(
                        self.connector.connect(&dial.host, dial.port),
                        sleep_past(&mut self.timer, deadline),
                    );
                    match opened.await {
                        Either::Left(Ok(conn)) => {
                            self.dial = None;
                            self.conn = Some(conn);
                            self.awaiting_headers = true;
                            return Some(Ready::Connected { cross_origin });
                        }
                        Either::Left(Err(error)) => {
                            self.dial = None;
                            self.session.handle_error(self.timer.now(), error.kind());
                        }
                        Either::Right(()) => {
                            self.dial = None;
                            self.session.handle_timeout(self.timer.now());
                        }
                    }
                    continue;
                }
                // No connection and none to make: wait for the next deadline.
                sleep_past(&mut self.timer, deadline).await;
                self.session.handle_timeout(self.timer.now());
                continue;
            };
            if self.pending.is_empty() && !self.unflushed {
                self.pending = 0..fill(now, &mut self.session, self.tx);
            }
            if !self.pending.is_empty() {
                let bytes = self.tx.get(self.pending.clone()).unwrap_or_default();
                match select(conn.write(bytes), sleep_past(&mut self.timer, deadline)).await {
                    Either::Left(Ok(0)) => {
                        self.session
                            .handle_error(self.timer.now(), ErrorKind::WriteZero);
                    }
                    Either::Left(Ok(n)) => {
                        self.pending.start += n.min(self.pending.len());
                        self.unflushed = true;
                    }
                    Either::Left(Err(error)) => {
                        self.session.handle_error(self.timer.now(), error.kind());
                    }
                    Either::Right(()) => self.session.handle_timeout(self.timer.now()),
                }
                continue;
            }
            if self.unflushed {
                match select(conn.flush(), sleep_past(&mut self.timer, deadline)).await {
                    Either::Left(Ok(())) => self.unflushed = false,
                    Either::Left(Err(error)) => {
                        self.session.handle_error(self.timer.now(), error.kind());
                    }
                    Either::Right(()) => self.session.handle_timeout(self.timer.now()),
                }
                continue;
            }
            match select(conn.read(self.rx), sleep_past(&mut self.timer, deadline)).await {
                Either::Left(Ok(0)) => self.session.handle_eof(self.timer.now()),
                Either::Left(Ok(n)) => {
                    let n = n.min(self.rx.len());
                    let input = self.rx.get(..n).unwrap_or_default();
                    let (_, cursor) = self.session.take_bytes(self.timer.now(), input);
                    self.rx_len = n;
                    self.cursor = Some(cursor);
                }
                Either::Left(Err(error)) => {
                    self.session.handle_error(self.timer.now(), error.kind());
                }
                Either::Right(()) => self.session.handle_timeout(self.timer.now()),
            }
        }
    }
}

impl<C: Connect, T: Timer> core::fmt::Debug for Client<'_, C, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("session", &self.session)
            .field("connected", &self.conn.is_some())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// Sleeps until the clock has passed `deadline` (forever without one), however early the
/// timer fires, so that the `handle_timeout` after it always acts. Cancel-safe when the
/// timer's sleep is.
async fn sleep_past<T: Timer>(timer: &mut T, deadline: Option<Instant>) {
    let Some(deadline) = deadline else {
        return core::future::pending().await;
    };
    while timer.now() < deadline {
        timer.sleep_until(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use core::cell::{Cell, RefCell};
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};
    use core::time::Duration;
    use std::collections::VecDeque;
    use std::rc::Rc;
    use std::string::{String, ToString};
    use std::vec::Vec;

    use super::*;
    use crate::client::{CloseReason, ReconnectReason, ResumeMode};
    use crate::heartbeat::PingConfig;

    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";

    /// Small buffers: a 64-byte receive buffer and a 7-byte transmit buffer, so that events
    /// arrive split over reads and the request leaves in pieces.
    type Memory = ClientMemory<4096, 2048, 1024, 512, 64, 7>;

    type TestClient<'m> = Client<'m, Script, FakeTimer>;

    fn client<'m>(
        memory: &'m mut Memory,
        script: &Script,
        timer: &FakeTimer,
        config: ClientConfig<'m>,
    ) -> TestClient<'m> {
        Client::with_timer(config, script.clone(), timer.clone(), 1, memory).unwrap()
    }

    /// What a run heard, owned.
    #[derive(Debug, Default)]
    struct Heard {
        events: Vec<String>,
        reconnects: Vec<(Instant, ReconnectReason)>,
        closed: Option<CloseReason>,
    }

    /// Pulls items until `stop_after_reconnects` reconnects (then closes) or the end.
    fn drive(client: &mut TestClient<'_>, stop_after_reconnects: usize) -> Heard {
        let mut heard = Heard::default();
        smol::block_on(async {
            while let Some(item) = client.next().await {
                match item {
                    Item::Event(event) => {
                        heard
                            .events
                            .push(std::format!("{} {}", event.id(), event.data()))
                    }
                    Item::Story(SessionEvent::Reconnecting { reason, .. }) => {
                        let now = client.now();
                        heard.reconnects.push((now, reason));
                        if heard.reconnects.len() == stop_after_reconnects {
                            client.close();
                        }
                    }
                    Item::Story(SessionEvent::Closed { reason }) => heard.closed = Some(reason),
                    _ => {}
                }
            }
        });
        heard
    }

    #[test]
    fn a_connect_that_never_completes_times_out_at_the_connect_deadline() {
        let (script, timer) = (Script::new([Dial::Hang]), FakeTimer::new(false));
        let mut memory = Memory::new();
        let mut client = client(&mut memory, &script, &timer, ClientConfig::new("h", "/"));

        let heard = drive(&mut client, 1);

        assert_eq!(
            heard.reconnects,
            [(
                Instant::from_millis(30_000),
                ReconnectReason::ConnectTimeout
            )]
        );
        assert_eq!(heard.closed, Some(CloseReason::Local));
        assert_eq!(timer.sleeps.get(), 1);
        assert!(smol::block_on(client.next()).is_none());
    }

    #[test]
    fn an_early_timer_costs_a_turn_not_a_lost_race() {
        let (script, timer) = (Script::new([Dial::Hang]), FakeTimer::new(true));
        let mut memory = Memory::new();
        let mut client = client(&mut memory, &script, &timer, ClientConfig::new("h", "/"));

        let heard = drive(&mut client, 1);

        // Woken at 29 999 ms, the client sleeps again instead of giving up the connect early.
        assert_eq!(
            heard.reconnects,
            [(
                Instant::from_millis(30_000),
                ReconnectReason::ConnectTimeout
            )]
        );
        assert_eq!(timer.sleeps.get(), 2);
    }

    #[test]
    fn a_silent_stream_is_dropped_exactly_at_its_idle_deadline_and_resumed() {
        let first = Conn::new(&[HEAD, b":keepalive 1000\nid: 1\ndata: a\n\n"]);
        let second = Conn::new(&[]);
        let (sent_first, sent_second) = (first.written(), second.written());
        let script = Script::new([Dial::Open(first), Dial::Open(second)]);
        let timer = FakeTimer::new(false);
        let mut memory = Memory::new();
        let mut client = client(&mut memory, &script, &timer, ClientConfig::new("h", "/e"));

        let heard = drive(&mut client, 2);

        assert_eq!(heard.events, ["1 a"]);
        // The announcement sized the limit: 1000 ms * 2 + 5000 ms, from the bytes at 0 ms.
        let (at, reason) = heard.reconnects[0];
        assert_eq!(at, Instant::from_millis(7_000));
        assert!(matches!(reason, ReconnectReason::Idle(_)), "{reason:?}");
        // Written through a 7-byte transmit buffer, both requests arrived whole.
        let first = String::from_utf8(sent_first.borrow().clone()).unwrap();
        let second = String::from_utf8(sent_second.borrow().clone()).unwrap();
        assert!(first.starts_with("GET /e HTTP/1.1\r\n") && first.ends_with("\r\n\r\n"));
        assert!(!first.contains("Last-Event-ID"));
        assert!(second.contains("\r\nLast-Event-ID: 1\r\n"), "{second}");
    }

    #[test]
    fn acknowledged_mode_resumes_from_what_the_application_acknowledged() {
        let conn = Conn::new(&[HEAD, b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n"]);
        let (script, timer) = (Script::new([Dial::Open(conn)]), FakeTimer::new(false));
        let config = ClientConfig::new("h", "/").with_resume(ResumeMode::Acknowledged);
        let mut memory = Memory::new();
        let mut client = client(&mut memory, &script, &timer, config);
        let mut persisted = Vec::new();

        smol::block_on(async {
            while let Some(item) = client.next().await {
                match item {
                    Item::Event(event) if event.id() == "1" => {
                        let id = event.id().to_string();
                        client.ack(&id).unwrap();
                    }
                    // The application stops while processing the second event.
                    Item::Event(_) => client.close(),
                    Item::Story(SessionEvent::PersistId(id)) => persisted.push(id.to_string()),
                    _ => {}
                }
            }
        });

        assert_eq!(persisted, ["1"]);
        assert_eq!(client.session().resume_id(), "1");
        assert_eq!(client.session().state(), State::Closed);
    }

    #[test]
    fn a_refused_connect_is_retried_after_the_backoff_delay() {
        let script = Script::new([Dial::Refuse, Dial::Hang]);
        let timer = FakeTimer::new(false);
        let mut memory = Memory::new();
        let mut client = client(&mut memory, &script, &timer, ClientConfig::new("h", "/"));

        let heard = drive(&mut client, 2);

        let (refused_at, refused) = heard.reconnects[0];
        let (timed_out_at, timed_out) = heard.reconnects[1];
        assert_eq!(refused_at, Instant::ZERO);
        assert_eq!(refused, ReconnectReason::Io(ErrorKind::ConnectionRefused));
        // The second attempt started at the first delay's end (3 s plus up to 50 % jitter)
        // and timed out 30 s later.
        let retried_at = timed_out_at.saturating_sub(Duration::from_secs(30));
        assert!(
            (3_000..=4_500).contains(&retried_at.as_millis()),
            "{retried_at:?}"
        );
        assert_eq!(timed_out, ReconnectReason::ConnectTimeout);
    }

    #[test]
    fn no_content_closes_for_good() {
        let conn = Conn::new(&[b"HTTP/1.1 204 No Content\r\n\r\n"]);
        let (script, timer) = (Script::new([Dial::Open(conn)]), FakeTimer::new(false));
        let mut memory = Memory::new();
        let mut client = client(&mut memory, &script, &timer, ClientConfig::new("h", "/"));

        let heard = drive(&mut client, 1);

        assert_eq!(heard.closed, Some(CloseReason::NoContent));
        assert!(smol::block_on(client.next()).is_none());
        assert_eq!(script.dials.get(), 1);
    }

    #[test]
    fn a_dropped_next_loses_no_event_and_no_connection() {
        let conn = Conn::new(&[HEAD, b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n"]).stalling_once();
        let script = Script::new([Dial::HangOnce, Dial::Open(conn)]);
        let timer = FakeTimer::frozen();
        let mut memory = Memory::new();
        let mut client = client(&mut memory, &script, &timer, ClientConfig::new("h", "/"));
        let mut cx = Context::from_waker(Waker::noop());

        // Dropped while connecting: the next call connects again, at once.
        assert!(pin!(client.next()).poll(&mut cx).is_pending());
        assert_eq!(script.dials.get(), 1);
        let item = smol::block_on(client.next());
        assert!(matches!(item, Some(Item::Connected { .. })), "{item:?}");
        assert_eq!(script.dials.get(), 2);
        // Dropped while reading (the read stalls once): the bytes are read by the next call.
        assert!(pin!(client.next()).poll(&mut cx).is_pending());
        let item = smol::block_on(client.next());
        assert!(
            matches!(item, Some(Item::Story(SessionEvent::Open { .. }))),
            "{item:?}"
        );
        let item = smol::block_on(client.next());
        let Some(Item::Event(event)) = item else {
            panic!("expected the event, got {item:?}");
        };
        assert_eq!((event.id(), event.data()), ("1", "a"));
        // The second event of the same read waits in the client for the next call.
        let item = smol::block_on(client.next());
        let Some(Item::Event(event)) = item else {
            panic!("expected the second event, got {item:?}");
        };
        assert_eq!((event.id(), event.data()), ("2", "b"));
        assert_eq!(timer.now.get(), Instant::ZERO);
    }

    #[test]
    fn headers_given_at_connected_go_into_that_attempts_request() {
        let conn = Conn::new(&[]);
        let sent = conn.written();
        let (script, timer) = (Script::new([Dial::Open(conn)]), FakeTimer::new(false));
        let mut memory = Memory::new();
        let mut client = client(&mut memory, &script, &timer, ClientConfig::new("h", "/"));

        smol::block_on(async {
            let item = client.next().await;
            assert!(
                matches!(
                    item,
                    Some(Item::Connected {
                        cross_origin: false
                    })
                ),
                "{item:?}"
            );
            client
                .attempt_headers(&[("Authorization", "Bearer t1")])
                .unwrap();
            // Too late for this request: ignored.
            client.attempt_headers(&[("X-Late", "1")]).unwrap();
            // The request is written before the connect deadline comes.
            let item = client.next().await;
            assert!(
                matches!(
                    item,
                    Some(Item::Story(SessionEvent::Reconnecting {
                        reason: ReconnectReason::ConnectTimeout,
                        ..
                    }))
                ),
                "{item:?}"
            );
        });

        let request = String::from_utf8(sent.borrow().clone()).unwrap();
        assert!(
            request.contains("\r\nAuthorization: Bearer t1\r\n"),
            "{request}"
        );
        assert!(!request.contains("X-Late"), "{request}");
    }

    #[test]
    fn a_wanted_ping_is_handed_out_and_its_pong_keeps_the_stream() {
        let conn = Conn::new(&[HEAD]);
        let (script, timer) = (Script::new([Dial::Open(conn)]), FakeTimer::new(false));
        let ping = PingConfig::new(Duration::from_secs(10), Duration::from_secs(5));
        let config = ClientConfig::new("h", "/").with_ping(ping);
        let mut memory = Memory::new();
        let mut client = client(&mut memory, &script, &timer, config);
        let mut pings = 0;

        smol::block_on(async {
            while let Some(item) = client.next().await {
                match item {
                    Item::Ping => {
                        pings += 1;
                        client.pong();
                        if pings == 3 {
                            client.close();
                        }
                    }
                    Item::Story(SessionEvent::Reconnecting { reason, .. }) => {
                        panic!("reconnected: {reason:?}")
                    }
                    _ => {}
                }
            }
        });

        assert_eq!(pings, 3);
        assert_eq!(timer.now.get(), Instant::from_millis(30_000));
    }

    // -----------------------------------------------------------------------------------------

    /// A clock that jumps to whatever deadline it is asked to sleep until; with `early`, it
    /// first wakes 1 ms before each deadline. Clones share the clock.
    #[derive(Clone)]
    struct FakeTimer {
        now: Rc<Cell<Instant>>,
        early: bool,
        /// Sleeps never end: time stands still.
        frozen: bool,
        woke_early_for: Rc<Cell<Option<Instant>>>,
        sleeps: Rc<Cell<u32>>,
    }

    impl FakeTimer {
        fn new(early: bool) -> Self {
            Self {
                now: Rc::new(Cell::new(Instant::ZERO)),
                early,
                frozen: false,
                woke_early_for: Rc::default(),
                sleeps: Rc::default(),
            }
        }

        fn frozen() -> Self {
            Self {
                frozen: true,
                ..Self::new(false)
            }
        }
    }

    impl Timer for FakeTimer {
        fn now(&mut self) -> Instant {
            self.now.get()
        }

        fn sleep_until(&mut self, deadline: Instant) -> impl Future<Output = ()> {
            self.sleeps.set(self.sleeps.get() + 1);
            let frozen = self.frozen;
            let now = self.now.get();
            let early = deadline.saturating_sub(Duration::from_millis(1));
            if self.early && self.woke_early_for.get() != Some(deadline) && early > now {
                self.woke_early_for.set(Some(deadline));
                self.now.set(early);
            } else {
                if !frozen {
                    self.now.set(now.max(deadline));
                }
            }
            core::future::poll_fn(move |_| {
                if frozen {
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
        }
    }

    /// What the n-th connect does.
    enum Dial {
        Open(Conn),
        Refuse,
        Hang,
        /// Pending once (the caller drops it), then the next entry.
        HangOnce,
    }

    /// A scripted connector; clones share the script.
    #[derive(Clone)]
    struct Script {
        dials: Rc<Cell<usize>>,
        script: Rc<RefCell<VecDeque<Dial>>>,
    }

    impl Script {
        fn new<const N: usize>(script: [Dial; N]) -> Self {
            Self {
                dials: Rc::default(),
                script: Rc::new(RefCell::new(script.into_iter().collect())),
            }
        }
    }

    impl Connect for Script {
        type Conn = Conn;
        type Error = ErrorKind;

        fn connect(&mut self, _: &str, _: u16) -> impl Future<Output = Result<Conn, ErrorKind>> {
            self.dials.set(self.dials.get() + 1);
            let dial = self.script.borrow_mut().pop_front().unwrap_or(Dial::Refuse);
            async move {
                match dial {
                    Dial::Open(conn) => Ok(conn),
                    Dial::Refuse => Err(ErrorKind::ConnectionRefused),
                    Dial::Hang | Dial::HangOnce => core::future::pending().await,
                }
            }
        }
    }

    /// A connection that reads its chunks, then stays silent, and records what is written.
    struct Conn {
        input: VecDeque<Vec<u8>>,
        written: Rc<RefCell<Vec<u8>>>,
        stall_once: bool,
    }

    impl Conn {
        fn new(chunks: &[&[u8]]) -> Self {
            Self {
                input: chunks.iter().map(|chunk| chunk.to_vec()).collect(),
                written: Rc::default(),
                stall_once: false,
            }
        }

        /// The first read is pending once, reading nothing.
        fn stalling_once(mut self) -> Self {
            self.stall_once = true;
            self
        }

        fn written(&self) -> Rc<RefCell<Vec<u8>>> {
            Rc::clone(&self.written)
        }
    }

    impl embedded_io::ErrorType for Conn {
        type Error = ErrorKind;
    }

    impl embedded_io_async::Read for Conn {
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
            if core::mem::take(&mut self.stall_once) {
                let mut polled = false;
                core::future::poll_fn(|_| {
                    if polled {
                        return Poll::Ready(());
                    }
                    polled = true;
                    Poll::Pending
                })
                .await;
                // Dropped at the first poll, this read never gets here.
                unreachable!("the stalled read was polled again");
            }
            let Some(chunk) = self.input.front_mut() else {
                return core::future::pending().await;
            };
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            chunk.drain(..n);
            if chunk.is_empty() {
                self.input.pop_front();
            }
            Ok(n)
        }
    }

    impl embedded_io_async::Write for Conn {
        async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
            self.written.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }

        async fn flush(&mut self) -> Result<(), ErrorKind> {
            Ok(())
        }
    }
}
