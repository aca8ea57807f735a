//! Server loops: one [`ServerSession`] per connection, over an async stream (with
//! `embedded-io-async-0.7`) or a blocking `std::net::TcpStream` (with `std`), on any executor.
//!
//! # The paved path
//!
//! Serving one connection takes the stream, the [`Hub`] every connection shares, and a
//! decision: a closure from the request head to an [`Answer`]. With `std`,
//! `serve(stream, &hub, decide)` needs nothing else: the buffers come from a default
//! [`ServerStorage`], the clock is the crate's `StdTimer`, the settings are
//! [`ServerConfig::new`](crate::server::ServerConfig::new). A complete smol server, with a
//! publisher, one task per connection, and `Last-Event-ID` resume and replay from the ring
//! (24 lines of user code, the comment included):
//!
//! ```no_run
//! use std::time::Duration;
//! use sansse::{AcceptOptions, Answer, Ring, StdHub, io::FuturesIo, serve};
//!
//! fn main() -> std::io::Result<()> {
//!     // One ring for every connection, for the life of the program.
//!     let hub = &*Box::leak(Box::new(StdHub::new(Ring::<256, 65_536>::new(1))));
//!     smol::spawn(async move {
//!         for n in 0.. {
//!             let _ = hub.publish(None, &format!("tick {n}"));
//!             smol::Timer::after(Duration::from_secs(1)).await;
//!         }
//!     })
//!     .detach();
//!     smol::block_on(async {
//!         let listener = smol::net::TcpListener::bind("127.0.0.1:8080").await?;
//!         loop {
//!             let (stream, _) = listener.accept().await?;
//!             smol::spawn(async move {
//!                 let served = serve(FuturesIo::new(stream), hub, |_| Answer::Accept(AcceptOptions::new()));
//!                 eprintln!("{:?}", served.await);
//!             })
//!             .detach();
//!         }
//!     })
//! }
//! ```
//!
//! A [`Server`] holds what every connection of a server shares, built once: the clock (any
//! [`Timer`](super::Timer), so embedded executors bring theirs) and the [`ServerConfig`]. Its
//! `serve_with` is the full form, for applications that route requests
//! to other handlers, hear the connection's story, or act on a session while it streams: it
//! takes caller-owned [`ServerStorage`] (any size) and a [`Handler`].
//!
//! [`ServerConfig`]: crate::server::ServerConfig
//!
//! # The loop
//!
//! Every form follows the session's run loop (numbered in the [`ServerSession`] docs) and gives
//! the application three moments through a [`Handler`]: answering the request, hearing each
//! step of the connection's story, and issuing commands (close, renew the lease) on every turn.
//! Routes that are not event streams (a page, a publish endpoint) are handed back to the caller
//! with [`Answer::Handoff`], together with the body bytes already read.
//!
//! One turn of either loop:
//!
//! 1. Read the clock and the hub's [version](Hub::version) (before draining, so that a publish
//!    landing meanwhile wakes the next wait at once).
//! 2. Drain [`ServerSession::poll_event`]: answer `RequestReady` through
//!    [`Handler::decide`], return on `Closed` or on a handoff.
//! 3. Let [`Handler::poll_commands`] act on the session.
//! 4. If the transmit buffer is empty, fill it from [`ServerSession::poll_transmit`] with the
//!    log borrowed; then write it out, confirming each write with
//!    [`ServerSession::handle_written`] as it goes (so that a slow reader's progress counts),
//!    and flush, confirming the last byte; each step raced against the session's next
//!    deadline so that a stalled peer trips the write-stall timer.
//! 5. With nothing to write, wait for the first of: bytes (the request head, or the end of the
//!    stream), the session's deadline, a change of the hub's version. Feed what happened and go
//!    to 1.

use core::fmt;
use core::ops::{ControlFlow, Range};

use crate::http::{ErrorResponse, RequestHead};
use crate::replay::{Cursor, ReplayLog, TopicLog, Topics};
use crate::server::{
    AcceptError, AcceptOptions, CloseReason, RejectError, ServerConfig, ServerSession,
    SessionEvent, State, TransmitError,
};
use crate::time::Instant;

use super::Hub;

#[cfg(feature = "std")]
mod blocking;

#[cfg(feature = "std")]
use super::StdTimer;
#[cfg(feature = "std")]
pub use blocking::serve_blocking;

/// The application's side of one connection, as a server loop calls it.
///
/// `'buf` is the session's lifetime: whatever an [`Answer`] lends (extra response headers)
/// must live that long, so a `static` header list is the usual choice. `C` is the log's cursor
/// type ([`Cursor`] for a [`Ring`](crate::replay::Ring)).
///
/// # Examples
///
/// An endpoint that serves `/events` with a CORS header and rejects every other path:
///
/// ```
/// use core::ops::ControlFlow;
/// use sansse::http::{ErrorResponse, RequestHead};
/// use sansse::io::server::{Answer, Handler};
/// use sansse::server::{AcceptOptions, SessionEvent};
/// use sansse::Instant;
///
/// static CORS: [(&str, &str); 1] = [("Access-Control-Allow-Origin", "*")];
///
/// struct Events;
///
/// impl<'buf> Handler<'buf> for Events {
///     fn decide(&mut self, _now: Instant, request: &RequestHead<'_>) -> Answer<'buf> {
///         match request.path() {
///             "/events" => Answer::Accept(AcceptOptions::new().with_headers(&CORS)),
///             _ => Answer::Reject(ErrorResponse::not_found()),
///         }
///     }
///
///     fn on_event(&mut self, now: Instant, event: SessionEvent) -> ControlFlow<()> {
///         println!("{now}: {event:?}");
///         ControlFlow::Continue(())
///     }
/// }
/// ```
pub trait Handler<'buf, C: Copy = Cursor> {
    /// Answers a complete request head; `request` is the session's
    /// [`request`](ServerSession::request).
    fn decide(&mut self, now: Instant, request: &RequestHead<'_>) -> Answer<'buf>;

    /// Hears every step of the connection's story, in order, before the loop acts on it (the
    /// `RequestReady` answered by [`Handler::decide`], the gap events, the final `Closed`).
    /// `Break` closes the session gracefully ([`ServerSession::close`]), as the client's
    /// handler ends its loop. Continues by default.
    fn on_event(&mut self, now: Instant, event: SessionEvent) -> ControlFlow<()> {
        let _ = (now, event);
        ControlFlow::Continue(())
    }

    /// Runs on every turn of the loop, before output is drawn: the place to
    /// [`close`](ServerSession::close) the session or [`renew_lease`](ServerSession::renew_lease)
    /// when the application asked for it. The loop wakes for it when the hub's version changes.
    /// Does nothing by default.
    fn poll_commands(&mut self, now: Instant, session: &mut ServerSession<'buf, C>) {
        let _ = (now, session);
    }
}

/// What [`Handler::decide`] does with a request.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "one answer per request, moved once; boxing would need an allocator"
)]
pub enum Answer<'buf> {
    /// Open the event stream with [`ServerSession::accept`], which refuses what is not an
    /// event-stream request (`GET` only, and an `Accept` that allows `text/event-stream`) with
    /// the matching error response.
    Accept(AcceptOptions<'buf>),
    /// Open the event stream as [`Answer::Accept`] does, reading only the events of these
    /// topics: the ones the application granted this request (see
    /// [`Topics::from_query`](crate::replay::Topics::from_query) for reading what it asks for).
    /// `Accept` is the same with [`Topics::default`], the default topic alone.
    Follow(AcceptOptions<'buf>, Topics),
    /// Send this error response and close.
    Reject(ErrorResponse<'buf>),
    /// Not an event stream: the loop returns [`Served::Handoff`] and the caller answers the
    /// request on the same connection itself. Only `Server::serve_with` (and
    /// `Server::serve_blocking_with`) keep the stream and the bytes read for the caller;
    /// the short forms return and the connection closes with them.
    Handoff,
}

/// How a server loop ended without an error.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Served {
    /// The session closed (see its reason); close the connection.
    Closed {
        /// Why.
        reason: CloseReason,
    },
    /// [`Handler::decide`] handed the request back. The bytes read after the head, the start
    /// of a body, are [`ServerStorage::received`]`()[body]`; note what the answer needs from
    /// the request head in [`Handler::decide`].
    Handoff {
        /// Where the bytes after the head lie in the receive buffer.
        body: Range<usize>,
    },
}

/// Why a server loop stopped before the session closed: the application broke a contract.
/// Transport failures are not errors here; they close the session with a [`CloseReason`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum ServeError {
    /// The transmit buffer cannot take the next piece of output (a response head, gap event or
    /// last event larger than it; events go out in pieces).
    Transmit(TransmitError),
    /// [`Answer::Accept`] carried headers the response writer refuses.
    Accept(AcceptError),
    /// [`Answer::Reject`] carried a response the writer refuses.
    Reject(RejectError),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transmit(error) => write!(f, "transmit: {error}"),
            Self::Accept(error) => write!(f, "accept: {error}"),
            Self::Reject(error) => write!(f, "reject: {error}"),
        }
    }
}

impl core::error::Error for ServeError {}

/// The memory one connection needs: the request head, received bytes, and output on its way
/// to the socket. [`ServerStorage::new`] gives the default sizes, with no type to write.
///
/// | buffer | default | holds |
/// |---|---:|---|
/// | `HEAD` | 2 KiB | the request head (with [`ServerConfig::head_limits`], its cap) |
/// | `RX` | 512 B | bytes read from the client: the head in pieces, then a body's start |
/// | `TX` | 4 KiB | output between `poll_transmit` and the socket: several events per write; larger events go out in pieces |
///
/// Events larger than `TX` are written in pieces, so `TX` bounds only the response head (with
/// the extra headers an answer adds), a gap event and a last event: one of those larger than
/// `TX` allows ends the connection with [`ServeError::Transmit`]. Pick other sizes with
/// [`ServerStorage::sized`]: a server holding many idle streams lends each a small one.
///
/// # Examples
///
/// ```
/// use sansse::io::server::ServerStorage;
///
/// let default = ServerStorage::new();
/// assert_eq!(core::mem::size_of_val(&default), 2048 + 512 + 4096);
/// let small = ServerStorage::<512, 64, 1024>::sized();
/// assert_eq!(core::mem::size_of_val(&small), 512 + 64 + 1024);
/// assert_eq!(format!("{small:?}"), "ServerStorage { head: 512, rx: 64, tx: 1024 }");
/// ```
pub struct ServerStorage<const HEAD: usize = 2048, const RX: usize = 512, const TX: usize = 4096> {
    head: [u8; HEAD],
    rx: [u8; RX],
    tx: [u8; TX],
}

impl<const HEAD: usize, const RX: usize, const TX: usize> fmt::Debug
    for ServerStorage<HEAD, RX, TX>
{
    /// The sizes only: the bytes are scratch space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerStorage")
            .field("head", &HEAD)
            .field("rx", &RX)
            .field("tx", &TX)
            .finish()
    }
}

impl ServerStorage {
    /// Storage of the default sizes (see the table above).
    pub const fn new() -> Self {
        Self::sized()
    }
}

impl Default for ServerStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl<const HEAD: usize, const RX: usize, const TX: usize> ServerStorage<HEAD, RX, TX> {
    /// Storage of the sizes in the type: `ServerStorage::<HEAD, RX, TX>::sized()`. `RX` of 0
    /// counts as 1.
    pub const fn sized() -> Self {
        Self {
            head: [0; HEAD],
            rx: [0; RX],
            tx: [0; TX],
        }
    }

    /// The receive buffer, where a [`Served::Handoff`]'s `body` range points.
    pub fn received(&self) -> &[u8] {
        &self.rx
    }

    /// The three buffers, lent to one connection.
    #[cfg_attr(
        not(any(feature = "std", feature = "embedded-io-async-0.7")),
        allow(dead_code)
    )]
    fn parts(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        (&mut self.head, &mut self.rx, &mut self.tx)
    }
}

/// What every connection of one server shares, built once: the clock and the settings.
///
/// `'c` is the lifetime of the config (of its gap event's name; `'static` for
/// [`ServerConfig::new`]). `T` is the clock: [`StdTimer`] from `Server::new` with `std`,
/// or any [`Timer`](super::Timer) through [`Server::with_timer`]. Each connection gets a clone of it.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use sansse::io::server::Server;
/// use sansse::server::ServerConfig;
///
/// let server = Server::new().with_config(
///     ServerConfig::new().with_keepalive(Some(Duration::from_secs(5))),
/// );
/// assert_eq!(server.config().keepalive(), Some(Duration::from_secs(5)));
/// ```
#[derive(Clone, Debug)]
pub struct Server<'c, T> {
    timer: T,
    config: ServerConfig<'c>,
}

#[cfg(feature = "std")]
impl Server<'static, StdTimer> {
    /// A server on the [`StdTimer`] with the default [`ServerConfig`].
    pub fn new() -> Self {
        Self::with_timer(StdTimer::new())
    }
}

#[cfg(feature = "std")]
impl Default for Server<'static, StdTimer> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'c, T> Server<'c, T> {
    /// A server on `timer` with the default [`ServerConfig`].
    pub const fn with_timer(timer: T) -> Server<'static, T> {
        Server {
            timer,
            config: ServerConfig::new(),
        }
    }

    /// Replaces the settings every connection starts with.
    #[must_use]
    pub fn with_config<'d>(self, config: ServerConfig<'d>) -> Server<'d, T> {
        Server {
            timer: self.timer,
            config,
        }
    }

    /// The settings every connection starts with.
    pub const fn config(&self) -> &ServerConfig<'c> {
        &self.config
    }
}

#[cfg(feature = "embedded-io-async-0.7")]
impl<'c, T: super::Timer + Clone> Server<'c, T> {
    /// Serves one connection until its session closes: the request head goes to `decide`,
    /// whose [`Answer`] opens the stream (resuming after the request's `Last-Event-ID` from
    /// the hub's log), rejects the request, or ends the connection
    /// ([`Answer::Handoff`] needs [`Server::serve_with`]). Buffers of the default sizes live
    /// in the returned future ([`ServerStorage::new`]).
    ///
    /// # Cancel safety
    ///
    /// `stream`'s `read`, `write` and `flush`, the timer's sleep and [`Hub::changed`] must be
    /// cancel-safe, as smol's and tokio's streams (through `FuturesIo`) and embassy-net's
    /// `TcpSocket` are. The returned future is not cancel-safe itself: dropped mid-write, it
    /// leaves part of an event on the wire, so drop the connection with it.
    ///
    /// # Errors
    ///
    /// [`ServeError`] when a response head or last event does not fit the default transmit buffer or an answer is
    /// refused; drop the connection.
    pub async fn serve<S, H, D>(&self, stream: S, hub: &H, decide: D) -> Result<Served, ServeError>
    where
        S: embedded_io_async::Read + embedded_io_async::Write,
        H: Hub,
        D: FnMut(&RequestHead<'_>) -> Answer<'c>,
    {
        let (mut stream, mut decide) = (stream, decide);
        let mut storage = ServerStorage::new();
        // Answers live as long as the config; the session needs them as long as the storage.
        let mut handler = Decide(|request: &RequestHead<'_>| -> Answer<'_> { decide(request) });
        self.serve_with(&mut stream, hub, &mut storage, &mut handler)
            .await
    }

    /// Serves one connection with caller-owned `storage` and a [`Handler`] that answers the
    /// request, hears the story and acts on the session between turns; the stream stays the
    /// caller's, so a [`Served::Handoff`] can be answered on it, with the bytes already read in
    /// [`ServerStorage::received`].
    ///
    /// # Cancel safety
    ///
    /// As [`Server::serve`].
    ///
    /// # Errors
    ///
    /// [`ServeError`] when `storage`'s transmit buffer is too small for the response head or an
    /// answer is refused; drop the connection.
    pub async fn serve_with<'s, S, H, A, const HEAD: usize, const RX: usize, const TX: usize>(
        &self,
        stream: &mut S,
        hub: &H,
        storage: &'s mut ServerStorage<HEAD, RX, TX>,
        handler: &mut A,
    ) -> Result<Served, ServeError>
    where
        'c: 's,
        S: embedded_io_async::Read + embedded_io_async::Write,
        H: Hub,
        A: Handler<'s, <H::Log as ReplayLog>::Cursor>,
    {
        let mut timer = self.timer.clone();
        let (head, rx, tx) = storage.parts();
        let mut session = ServerSession::new(timer.now(), head, self.config);
        run(stream, &mut timer, hub, &mut session, handler, rx, tx).await
    }
}

/// Serves one connection with the [`StdTimer`], the default config and default buffers:
/// [`Server::new`]`().`[`serve`](Server::serve)`(stream, hub, decide)`; see the
/// [module docs](self) for a whole server.
///
/// # Errors
///
/// As [`Server::serve`].
#[cfg(all(feature = "std", feature = "embedded-io-async-0.7"))]
pub async fn serve<S, H, D>(stream: S, hub: &H, decide: D) -> Result<Served, ServeError>
where
    S: embedded_io_async::Read + embedded_io_async::Write,
    H: Hub,
    D: FnMut(&RequestHead<'_>) -> Answer<'static>,
{
    Server::new().serve(stream, hub, decide).await
}

/// A `decide` closure as a [`Handler`]: the short forms' handler.
#[cfg_attr(
    not(any(feature = "std", feature = "embedded-io-async-0.7")),
    allow(dead_code)
)]
struct Decide<D>(D);

impl<'buf, C: Copy, D> Handler<'buf, C> for Decide<D>
where
    D: FnMut(&RequestHead<'_>) -> Answer<'buf>,
{
    fn decide(&mut self, _: Instant, request: &RequestHead<'_>) -> Answer<'buf> {
        (self.0)(request)
    }
}

/// The async loop itself (see the module docs): every async form ends here. `rx` must not be
/// empty; `tx` must take the response head, a gap event and a last event (events go out in
/// pieces).
///
/// `stream`'s `read`, `write` and `flush` and the [`Timer`](super::Timer) and [`Hub::changed`] futures must
/// be cancel-safe: the loop drops whichever loses a race and creates it again on the next turn.
#[cfg(feature = "embedded-io-async-0.7")]
async fn run<'buf, S, T, H, A>(
    stream: &mut S,
    timer: &mut T,
    hub: &H,
    session: &mut ServerSession<'buf, <H::Log as ReplayLog>::Cursor>,
    handler: &mut A,
    rx: &mut [u8],
    tx: &mut [u8],
) -> Result<Served, ServeError>
where
    S: embedded_io_async::Read + embedded_io_async::Write,
    T: super::Timer,
    H: Hub,
    A: Handler<'buf, <H::Log as ReplayLog>::Cursor>,
{
    use super::{Either, select, sleep_until};
    use embedded_io::{Error as _, ErrorKind};

    // A zero-length read returns at once with 0, which would read as the end of the stream.
    let mut one = [0u8; 1];
    let rx = if rx.is_empty() { &mut one[..] } else { rx };
    let mut pending = 0..0;
    // Bytes written and not yet flushed, and how many of them were confirmed already.
    let mut unflushed = 0;
    let mut confirmed = 0;
    let mut body = 0..0;
    // What the stream reads, once the answer says; until then only commands wake it.
    let mut topics = Topics::default();
    loop {
        let now = timer.now();
        let seen = hub.version();
        if let Some(served) = drain_events(now, session, hub, handler, &body, &mut topics)? {
            return Ok(served);
        }
        handler.poll_commands(now, session);
        if pending.is_empty() && unflushed == 0 {
            pending = 0..fill(now, session, hub, &topics, tx)?;
        }
        let deadline = session.poll_timeout();
        if !pending.is_empty() {
            let write = stream.write(&tx[pending.clone()]);
            match select(write, sleep_until(timer, deadline)).await {
                Either::Left(Ok(0)) => session.handle_error(timer.now(), ErrorKind::WriteZero),
                Either::Left(Ok(n)) => {
                    let n = n.min(pending.len());
                    pending.start += n;
                    unflushed += n;
                    // Every write is progress: confirming it at once re-arms the write-stall
                    // timer, so a slow reader that keeps taking bytes is not shed as stalled
                    // while a large buffer drains (the blocking loop confirms each write too).
                    // The last byte waits for the flush: the session closes once everything is
                    // confirmed, and must not before its last bytes are flushed.
                    let early = unflushed.saturating_sub(1);
                    if early > confirmed {
                        let _ = session.handle_written(timer.now(), early - confirmed);
                        confirmed = early;
                    }
                }
                Either::Left(Err(error)) => session.handle_error(timer.now(), error.kind()),
                Either::Right(()) => session.handle_timeout(timer.now()),
            }
            continue;
        }
        if unflushed > 0 {
            match select(stream.flush(), sleep_until(timer, deadline)).await {
                Either::Left(Ok(())) => {
                    // Never more than handed out: `unflushed` counts bytes from poll_transmit.
                    let rest = unflushed.saturating_sub(confirmed);
                    let _ = session.handle_written(timer.now(), rest);
                    unflushed = 0;
                    confirmed = 0;
                }
                Either::Left(Err(error)) => session.handle_error(timer.now(), error.kind()),
                Either::Right(()) => session.handle_timeout(timer.now()),
            }
            continue;
        }
        let wait = select(
            sleep_until(timer, deadline),
            hub.changed(seen, topics.interest()),
        );
        match select(stream.read(rx), wait).await {
            Either::Left(Ok(0)) => session.handle_eof(timer.now()),
            Either::Left(Ok(n)) => {
                let n = n.min(rx.len());
                let reading = session.state() == State::ReadingRequest;
                let fed = feed(session, timer.now(), &rx[..n]);
                if reading {
                    body = fed..n;
                } else {
                    // Bytes after the head mean nothing, and a peer can send them without
                    // end: reads that never wait would keep this task, and every other task
                    // on the executor's thread, running here. Let the others go first.
                    yield_now().await;
                }
            }
            Either::Left(Err(error)) => session.handle_error(timer.now(), error.kind()),
            Either::Right(Either::Left(())) => session.handle_timeout(timer.now()),
            // Something was published or commanded; the next turn looks.
            Either::Right(Either::Right(())) => {}
        }
    }
}

/// Returns to the executor once (waking the task first), so that other tasks run before this
/// one goes on.
#[cfg(feature = "embedded-io-async-0.7")]
async fn yield_now() {
    let mut yielded = false;
    core::future::poll_fn(|cx| {
        if yielded {
            return core::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        core::task::Poll::Pending
    })
    .await;
}

/// Step 2: drains the story, answering the request. `Some` ends the loop.
fn drain_events<'buf, H, A>(
    now: Instant,
    session: &mut ServerSession<'buf, <H::Log as ReplayLog>::Cursor>,
    hub: &H,
    handler: &mut A,
    body: &Range<usize>,
    topics: &mut Topics,
) -> Result<Option<Served>, ServeError>
where
    H: Hub,
    A: Handler<'buf, <H::Log as ReplayLog>::Cursor>,
{
    while let Some(event) = session.poll_event() {
        if handler.on_event(now, event).is_break() {
            session.close(now);
        }
        match event {
            SessionEvent::RequestReady => {
                let Some(request) = session.request() else {
                    continue;
                };
                match handler.decide(now, &request) {
                    Answer::Accept(options) => {
                        // A refusal (not GET, a wrong Accept) is an answer too: the error
                        // response goes out and the session closes.
                        *topics = Topics::default();
                        hub.with_log(|log| session.accept(now, &log.following(topics), options))
                            .map_err(ServeError::Accept)?;
                    }
                    Answer::Follow(options, granted) => {
                        *topics = granted;
                        hub.with_log(|log| session.accept(now, &log.following(topics), options))
                            .map_err(ServeError::Accept)?;
                    }
                    Answer::Reject(response) => {
                        session.reject(now, response).map_err(ServeError::Reject)?;
                    }
                    Answer::Handoff => {
                        return Ok(Some(Served::Handoff { body: body.clone() }));
                    }
                }
            }
            SessionEvent::Closed { reason } => return Ok(Some(Served::Closed { reason })),
            _ => {}
        }
    }
    Ok(None)
}

/// Step 4, first half: moves as much output as fits into `tx`, with the log borrowed only for
/// the copy, and returns its length.
fn fill<H: Hub>(
    now: Instant,
    session: &mut ServerSession<'_, <H::Log as ReplayLog>::Cursor>,
    hub: &H,
    topics: &Topics,
    tx: &mut [u8],
) -> Result<usize, ServeError> {
    hub.with_log(|log| {
        let log = &log.following(topics);
        let mut len = 0;
        while len < tx.len() {
            match session.poll_transmit(now, log, &mut tx[len..]) {
                Ok(Some(n)) => len += n,
                Ok(None) => break,
                // The next piece waits for the room this turn's output frees.
                Err(_) if len > 0 => break,
                Err(error) => return Err(ServeError::Transmit(error)),
            }
        }
        Ok(len)
    })
}

/// Feeds received bytes and returns how many the request head took.
///
/// While the head is incomplete the bytes go in a line at a time, because the session takes
/// whole slices and does not say where the head ended, and a handoff must know where the body
/// starts; a head always ends with a line feed. Bytes after the head are not fed: the session
/// would ignore them.
fn feed<C: Copy>(session: &mut ServerSession<'_, C>, now: Instant, bytes: &[u8]) -> usize {
    let mut fed = 0;
    while fed < bytes.len() && session.state() == State::ReadingRequest {
        let rest = &bytes[fed..];
        let line = memchr::memchr(b'\n', rest).map_or(rest.len(), |at| at + 1);
        session.handle_bytes(now, &rest[..line]);
        fed += line;
    }
    fed
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::server::ServerConfig;

    #[test]
    fn feeding_stops_where_the_head_ends() {
        let mut storage = [0u8; 256];
        let mut session: ServerSession<'_> =
            ServerSession::new(Instant::ZERO, &mut storage, ServerConfig::new());

        let fed = feed(&mut session, Instant::ZERO, b"POST /p HTTP/1.1\r\nHo");
        assert_eq!(fed, 20);
        let rest = b"st: h\r\nContent-Length: 5\r\n\r\nhello";
        let fed = feed(&mut session, Instant::ZERO, rest);

        assert_eq!(&rest[fed..], b"hello");
        assert_eq!(session.state(), State::AwaitingDecision);
        assert_eq!(session.request().unwrap().path(), "/p");
        assert_eq!(feed(&mut session, Instant::ZERO, b"more"), 0);
    }

    #[test]
    fn feeding_a_bad_head_stops_at_the_error() {
        let mut storage = [0u8; 256];
        let mut session: ServerSession<'_> =
            ServerSession::new(Instant::ZERO, &mut storage, ServerConfig::new());

        let fed = feed(
            &mut session,
            Instant::ZERO,
            b"GET / HTTP/9.9\r\nHost: h\r\n\r\n",
        );

        assert_eq!(fed, 16);
        assert_eq!(session.state(), State::Closing);
    }

    /// Accepts every request and asks to close as soon as the stream opens.
    struct CloseOnAccept;

    impl<'buf> Handler<'buf> for CloseOnAccept {
        fn decide(&mut self, _: Instant, _: &RequestHead<'_>) -> Answer<'buf> {
            Answer::Accept(AcceptOptions::new())
        }

        fn on_event(&mut self, _: Instant, event: SessionEvent) -> ControlFlow<()> {
            match event {
                SessionEvent::Accepted { .. } => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        }
    }

    #[cfg(feature = "std")]
    #[test]
    fn a_story_callback_that_breaks_closes_the_session_gracefully() {
        let hub = crate::io::StdHub::new(crate::replay::Ring::<4, 256>::new(1));
        let mut storage = [0u8; 256];
        let mut session = ServerSession::new(Instant::ZERO, &mut storage, ServerConfig::new());
        feed(
            &mut session,
            Instant::ZERO,
            b"GET /e HTTP/1.1\r\nHost: h\r\n\r\n",
        );

        // One drain answers the request, then hears Accepted, which breaks.
        let served = drain_events(
            Instant::ZERO,
            &mut session,
            &hub,
            &mut CloseOnAccept,
            &(0..0),
            &mut Topics::default(),
        );

        assert_eq!(served, Ok(None));
        assert_eq!(session.state(), State::Closing);
        let mut tx = [0u8; 512];
        let n = fill(
            Instant::ZERO,
            &mut session,
            &hub,
            &Topics::default(),
            &mut tx,
        )
        .unwrap();
        assert!(tx[..n].ends_with(b"0\r\n\r\n"), "a graceful end of body");
    }

    /// A fake clock shared by the timer and the stream below.
    #[cfg(all(feature = "std", feature = "embedded-io-async-0.7"))]
    #[derive(Clone, Default)]
    struct FakeClock(std::rc::Rc<core::cell::Cell<u64>>);

    #[cfg(all(feature = "std", feature = "embedded-io-async-0.7"))]
    impl crate::io::Timer for FakeClock {
        fn now(&mut self) -> Instant {
            Instant::from_millis(self.0.get())
        }

        async fn sleep_until(&mut self, deadline: Instant) {
            // Nothing else moves this clock: a sleep that is not due yet never ends.
            if Instant::from_millis(self.0.get()) < deadline {
                core::future::pending::<()>().await;
            }
        }
    }

    /// A client on a slow link: it sends `request`, then takes `per_write` bytes per write,
    /// one write every `step_ms` of the fake clock, and leaves once it has `wanted` bytes.
    #[cfg(all(feature = "std", feature = "embedded-io-async-0.7"))]
    struct Trickle {
        clock: FakeClock,
        request: &'static [u8],
        written: std::vec::Vec<u8>,
        /// How many of `written` were flushed.
        flushed: usize,
        per_write: usize,
        step_ms: u64,
        wanted: usize,
    }

    #[cfg(all(feature = "std", feature = "embedded-io-async-0.7"))]
    impl embedded_io::ErrorType for Trickle {
        type Error = embedded_io::ErrorKind;
    }

    #[cfg(all(feature = "std", feature = "embedded-io-async-0.7"))]
    impl embedded_io_async::Read for Trickle {
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            if !self.request.is_empty() {
                let n = self.request.len().min(buf.len());
                buf[..n].copy_from_slice(&self.request[..n]);
                self.request = &self.request[n..];
                return Ok(n);
            }
            if self.written.len() >= self.wanted {
                return Ok(0);
            }
            core::future::pending().await
        }
    }

    #[cfg(all(feature = "std", feature = "embedded-io-async-0.7"))]
    impl embedded_io_async::Write for Trickle {
        async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            let clock = &self.clock.0;
            clock.set(clock.get() + self.step_ms);
            let n = buf.len().min(self.per_write);
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        async fn flush(&mut self) -> Result<(), Self::Error> {
            self.flushed = self.written.len();
            Ok(())
        }
    }

    #[cfg(all(feature = "std", feature = "embedded-io-async-0.7"))]
    #[test]
    fn a_slow_reader_that_keeps_taking_bytes_is_not_shed_as_stalled() {
        use crate::io::Hub as _;

        let hub = crate::io::StdHub::new(crate::replay::Ring::<4, 16_384>::new(1));
        let data = "x".repeat(8000);
        hub.publish(None, &data).unwrap();
        let clock = FakeClock::default();
        // 100 ms per KiB: every write is progress, but the whole transmit buffer (head,
        // announcement, the 8 KB event) takes about 900 ms, three times the stall limit.
        let mut client = Trickle {
            clock: clock.clone(),
            request: b"GET /e HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 1-0\r\n\r\n",
            written: std::vec::Vec::new(),
            flushed: 0,
            per_write: 1024,
            step_ms: 100,
            wanted: 8000,
        };
        let config =
            ServerConfig::new().with_write_timeout(Some(core::time::Duration::from_millis(300)));
        let server = Server::with_timer(clock.clone()).with_config(config);
        let mut storage = ServerStorage::<512, 64, 16_384>::sized();
        let mut handler = Decide(|_: &RequestHead<'_>| Answer::Accept(AcceptOptions::new()));

        let served =
            smol::block_on(server.serve_with(&mut client, &hub, &mut storage, &mut handler));

        assert_eq!(
            served,
            Ok(Served::Closed {
                reason: CloseReason::PeerClosed
            })
        );
        let text = std::string::String::from_utf8(client.written).unwrap();
        assert!(text.contains(&std::format!("id: 1-1\ndata: {data}\n\n")));
        assert_eq!(hub.with_log(|log| log.len()), 1);
    }

    #[cfg(all(feature = "std", feature = "embedded-io-async-0.7"))]
    #[test]
    fn a_session_that_closes_gracefully_is_flushed_before_the_loop_returns() {
        let hub = crate::io::StdHub::new(crate::replay::Ring::<4, 256>::new(1));
        let clock = FakeClock::default();
        let mut client = Trickle {
            clock: clock.clone(),
            request: b"GET /e HTTP/1.1\r\nHost: h\r\n\r\n",
            written: std::vec::Vec::new(),
            flushed: 0,
            per_write: 7,
            step_ms: 1,
            wanted: usize::MAX,
        };
        let server = Server::with_timer(clock);
        let mut storage = ServerStorage::<512, 64, 1024>::sized();

        let served =
            smol::block_on(server.serve_with(&mut client, &hub, &mut storage, &mut CloseOnAccept));

        assert_eq!(
            served,
            Ok(Served::Closed {
                reason: CloseReason::Requested
            })
        );
        assert!(
            client.written.ends_with(b"0\r\n\r\n"),
            "the end of the body"
        );
        assert_eq!(client.flushed, client.written.len(), "every byte flushed");
    }

    #[test]
    fn serve_errors_display_short_and_lowercase() {
        let error = ServeError::Transmit(TransmitError::BufferTooSmall(crate::BufferTooSmall {
            needed: 9,
        }));
        assert_eq!(
            std::string::ToString::to_string(&error),
            "transmit: buffer too small: 9 bytes needed"
        );
    }
}
