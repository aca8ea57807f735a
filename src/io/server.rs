//! Server loops: one [`ServerSession`] per connection, over an async stream (`serve`, with
//! `embedded-io-async-0.7`) or a blocking `std::net::TcpStream` (`serve_blocking`, with
//! `std`).
//!
//! Both follow the session's run loop (numbered in the [`ServerSession`] docs) and give the
//! application three moments through a [`Handler`]: answering the request, hearing each step
//! of the connection's story, and issuing commands (close, renew the lease) on every turn.
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
//!    log borrowed; then write it out, flush, and confirm it with
//!    [`ServerSession::handle_written`], each step raced against the session's next deadline
//!    so that a stalled peer trips the write-stall timer.
//! 5. With nothing to write, wait for the first of: bytes (the request head, or the end of the
//!    stream), the session's deadline, a change of the hub's version. Feed what happened and go
//!    to 1.

use core::fmt;
use core::ops::Range;

use crate::http::{ErrorResponse, RequestHead};
use crate::replay::{Cursor, ReplayLog};
use crate::server::{
    AcceptError, AcceptOptions, CloseReason, RejectError, ServerSession, SessionEvent,
    SessionState, TransmitError,
};
use crate::time::Instant;

use super::Hub;

#[cfg(feature = "std")]
mod blocking;

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
///     fn on_event(&mut self, now: Instant, event: SessionEvent) {
///         println!("{now}: {event:?}");
///     }
/// }
/// ```
pub trait Handler<'buf, C: Copy = Cursor> {
    /// Answers a complete request head; `request` is the session's
    /// [`request`](ServerSession::request).
    fn decide(&mut self, now: Instant, request: &RequestHead<'_>) -> Answer<'buf>;

    /// Hears every step of the connection's story, in order, before the loop acts on it (the
    /// `RequestReady` answered by [`Handler::decide`], the gap events, the final `Closed`).
    /// Does nothing by default.
    fn on_event(&mut self, now: Instant, event: SessionEvent) {
        let _ = (now, event);
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
pub enum Answer<'buf> {
    /// Open the event stream, after the usual checks
    /// ([`accept_checked`](ServerSession::accept_checked): `GET` only, and an `Accept` that
    /// allows `text/event-stream`; the matching error response otherwise).
    Accept(AcceptOptions<'buf>),
    /// Send this error response and close.
    Reject(ErrorResponse<'buf>),
    /// Not an event stream: the loop returns [`Served::Handoff`] and the caller answers the
    /// request on the same connection itself.
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
    /// [`Handler::decide`] handed the request back. The request head is still in the session
    /// ([`ServerSession::request`]); the bytes read after it, the start of a body, are
    /// `rx[body]`.
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
    /// The transmit buffer cannot take the next piece of output (an event larger than it).
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

/// Serves one connection over an async stream until its session closes or a request is handed
/// back.
///
/// `session` is fresh from [`ServerSession::new`] (or already fed bytes; the loop carries on
/// from wherever it stands). `rx` receives the request head and, later, whatever the client
/// sends (only its end matters then); a few hundred bytes do. `tx` holds output between
/// [`ServerSession::poll_transmit`] and the socket; it must take the largest event plus
/// [`MAX_CHUNK_OVERHEAD`](crate::http::MAX_CHUNK_OVERHEAD).
///
/// The loop is described in the [module docs](self). Output counts as written, for the
/// write-stall timer, once it was written and flushed.
///
/// # Cancel safety
///
/// `stream`'s `read`, `write` and `flush` and the [`Timer`](super::Timer) and
/// [`Hub::changed`] futures must be cancel-safe: the loop drops whichever loses a race and
/// creates it again on the next turn. Smol's streams through `FuturesIo`
/// and embassy-net's `TcpSocket` are. The future this function returns is not cancel-safe
/// itself: dropped mid-write, it leaves part of an event on the wire, so drop the connection
/// with it.
///
/// # Errors
///
/// [`ServeError`] when `tx` is too small for the next event or when an answer is refused; the
/// session is left as it was, and the connection should be dropped.
///
/// # Examples
///
/// The loopback test `tests/io_server.rs` and `examples/server.rs` run this with smol; the
/// README's "Serving over TCP" shows the lines that matter.
#[cfg(feature = "embedded-io-async-0.7")]
pub async fn serve<'buf, S, T, H, A>(
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
    let mut unflushed = 0;
    let mut body = 0..0;
    loop {
        let now = timer.now();
        let seen = hub.version();
        if let Some(served) = drain_events(now, session, hub, handler, &body)? {
            return Ok(served);
        }
        handler.poll_commands(now, session);
        if pending.is_empty() && unflushed == 0 {
            pending = 0..fill(now, session, hub, tx)?;
        }
        let deadline = session.poll_timeout();
        if !pending.is_empty() {
            let write = stream.write(&tx[pending.clone()]);
            match select(write, sleep_until(timer, deadline)).await {
                Either::Left(Ok(0)) => {
                    session.handle_write_failed(timer.now(), ErrorKind::WriteZero)
                }
                Either::Left(Ok(n)) => {
                    let n = n.min(pending.len());
                    pending.start += n;
                    unflushed += n;
                }
                Either::Left(Err(error)) => session.handle_write_failed(timer.now(), error.kind()),
                Either::Right(()) => session.handle_timeout(timer.now()),
            }
            continue;
        }
        if unflushed > 0 {
            match select(stream.flush(), sleep_until(timer, deadline)).await {
                Either::Left(Ok(())) => {
                    // Never more than handed out: `unflushed` counts bytes from poll_transmit.
                    let _ = session.handle_written(timer.now(), unflushed);
                    unflushed = 0;
                }
                Either::Left(Err(error)) => session.handle_write_failed(timer.now(), error.kind()),
                Either::Right(()) => session.handle_timeout(timer.now()),
            }
            continue;
        }
        let wait = select(sleep_until(timer, deadline), hub.changed(seen));
        match select(stream.read(rx), wait).await {
            Either::Left(Ok(0)) => session.handle_eof(timer.now()),
            Either::Left(Ok(n)) => {
                let n = n.min(rx.len());
                let reading = session.state() == SessionState::ReadingRequest;
                let fed = feed(session, timer.now(), &rx[..n]);
                if reading {
                    body = fed..n;
                }
            }
            Either::Left(Err(error)) => session.handle_error(timer.now(), error.kind()),
            Either::Right(Either::Left(())) => session.handle_timeout(timer.now()),
            // Something was published or commanded; the next turn looks.
            Either::Right(Either::Right(())) => {}
        }
    }
}

/// Step 2: drains the story, answering the request. `Some` ends the loop.
fn drain_events<'buf, H, A>(
    now: Instant,
    session: &mut ServerSession<'buf, <H::Log as ReplayLog>::Cursor>,
    hub: &H,
    handler: &mut A,
    body: &Range<usize>,
) -> Result<Option<Served>, ServeError>
where
    H: Hub,
    A: Handler<'buf, <H::Log as ReplayLog>::Cursor>,
{
    while let Some(event) = session.poll_event() {
        handler.on_event(now, event);
        match event {
            SessionEvent::RequestReady => {
                let Some(request) = session.request() else {
                    continue;
                };
                match handler.decide(now, &request) {
                    Answer::Accept(options) => {
                        hub.with_log(|log| session.accept_checked(now, log, options))
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
    tx: &mut [u8],
) -> Result<usize, ServeError> {
    hub.with_log(|log| {
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
    while fed < bytes.len() && session.state() == SessionState::ReadingRequest {
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
        assert_eq!(session.state(), SessionState::AwaitingDecision);
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
        assert_eq!(session.state(), SessionState::Closing);
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
