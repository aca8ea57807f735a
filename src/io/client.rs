//! Client loops: one [`ClientSession`] driven over an async stream (`run`, with
//! `embedded-io-async-0.7`) or a blocking `std::net::TcpStream` (`run_blocking`, with `std`),
//! until the session closes or the application stops it.
//!
//! Both follow the session's run loop (numbered in the [`ClientSession`] docs) and talk to the
//! application through one [`Handler`]: the messages, the story of the connection, fresh
//! headers for each attempt, pings, and commands such as link changes or `close`.
//!
//! One turn of either loop:
//!
//! 1. Read the clock and let [`Handler::poll_commands`] act on the session.
//! 2. Drain [`ClientSession::poll_action`]: open a connection for `Connect` (raced against the
//!    connect deadline; report it with
//!    [`handle_connected_with_headers`](ClientSession::handle_connected_with_headers) and the
//!    handler's [`attempt_headers`](Handler::attempt_headers)), drop it for `Disconnect`, pass
//!    `SendPing` to [`Handler::on_ping`].
//! 3. Drain [`ClientSession::poll_event`] into [`Handler::on_event`]; return on `Closed`.
//! 4. If the request is not all written, write the next piece, raced against the deadline.
//! 5. Otherwise wait for the first of: bytes, the session's deadline, the handler's
//!    [`changed`](Handler::changed) (async only). Feed what happened, handing every message of
//!    the bytes to [`Handler::on_message`], and go to 1.
//!
//! A wait that ends early (a timer that fires before its deadline) costs a turn: the loops wait
//! again until the clock has really passed the deadline before they call
//! [`handle_timeout`](ClientSession::handle_timeout), so a race is never lost to a timer that
//! fires early.

use core::future::Future;
use core::ops::ControlFlow;

#[cfg(feature = "embedded-io-async-0.7")]
use crate::client::Action;
use crate::client::{ClientSession, CloseReason, ID_CAPACITY, ResumeMode, SessionEvent, State};
use crate::parse::{Event, ParseError};
use crate::time::Instant;

#[cfg(feature = "std")]
mod blocking;

#[cfg(feature = "std")]
pub use blocking::run_blocking;

/// Opens the TCP connections of an async client loop: one small trait, so that embassy-net,
/// smol or a test can each supply theirs.
///
/// The connection may borrow the connector (`Conn<'c>`), as embassy-net's `TcpSocket` borrows
/// its stack and buffers; the loop drops it before it asks for the next one.
///
/// # Examples
///
/// smol's `TcpStream` through `FuturesIo`:
///
/// ```
/// # #[cfg(feature = "futures-io-0.3")] {
/// use sansse::io::FuturesIo;
/// use sansse::io::client::Connect;
///
/// struct Smol;
///
/// impl Connect for Smol {
///     type Conn<'c> = FuturesIo<smol::net::TcpStream>;
///     type Error = std::io::Error;
///
///     async fn connect(&mut self, host: &str, port: u16) -> std::io::Result<Self::Conn<'_>> {
///         let stream = smol::net::TcpStream::connect((host, port)).await?;
///         stream.set_nodelay(true)?;
///         Ok(FuturesIo::new(stream))
///     }
/// }
/// # }
/// ```
#[cfg(feature = "embedded-io-async-0.7")]
pub trait Connect {
    /// An open connection.
    type Conn<'c>: embedded_io_async::Read + embedded_io_async::Write
    where
        Self: 'c;

    /// Why a connect failed; its [`kind`](embedded_io::Error::kind) goes to the session.
    type Error: embedded_io::Error;

    /// Opens a TCP connection to `host:port` (a name to resolve, or an address; an IPv6
    /// literal comes without brackets).
    ///
    /// Dropping the future must abandon the attempt: the loop races it against the session's
    /// connect deadline and drops it when the deadline comes first.
    fn connect(
        &mut self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = Result<Self::Conn<'_>, Self::Error>>;
}

/// The application's side of a client loop: what to do with messages, the story of the
/// connection, and the few moments where the loop asks it for something.
///
/// Only [`on_message`](Handler::on_message) is required. Returning [`ControlFlow::Break`] from
/// it or from [`on_event`](Handler::on_event) stops the loop: the connection is dropped, the
/// session is [closed](ClientSession::close), and the loop returns [`Ended::Stopped`].
///
/// # Examples
///
/// Print every event and stop after ten:
///
/// ```
/// use core::ops::ControlFlow;
/// use sansse::client::SessionEvent;
/// use sansse::io::client::Handler;
/// use sansse::{Event, Instant, ParseError};
///
/// struct Print {
///     left: u32,
/// }
///
/// impl Handler for Print {
///     fn on_message(&mut self, _: Instant, message: Result<Event<'_>, ParseError>) -> ControlFlow<()> {
///         match message {
///             Ok(event) => println!("{} {}: {}", event.id(), event.event_type(), event.data()),
///             Err(skipped) => eprintln!("{skipped}"),
///         }
///         self.left = self.left.saturating_sub(1);
///         if self.left == 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
///     }
///
///     fn on_event(&mut self, _: Instant, event: SessionEvent<'_>) -> ControlFlow<()> {
///         eprintln!("{event:?}");
///         ControlFlow::Continue(())
///     }
/// }
/// # let _ = Print { left: 10 };
/// ```
pub trait Handler {
    /// Takes one message: an event, or an event that was skipped because it did not fit the
    /// parser's buffer (the stream is already back in sync).
    ///
    /// The event borrows the loop's buffers: copy what you keep. In
    /// [`ResumeMode::Acknowledged`] the loop acknowledges the event when this returns
    /// `Continue`, never when it returns `Break`, so an event whose processing was cut short
    /// is sent again on the next connection.
    fn on_message(
        &mut self,
        now: Instant,
        message: Result<Event<'_>, ParseError>,
    ) -> ControlFlow<()>;

    /// Hears every step of the connection's story, in order: opens, retry changes, redirects,
    /// reconnects with their reason and delay, ids to persist, and the final `Closed` (after
    /// which the loop returns whatever this answers). Does nothing by default.
    ///
    /// Steps that bytes cause are heard after the messages in those bytes: the `Open` of a
    /// stream comes after the events that arrived in the same read as its response head.
    fn on_event(&mut self, now: Instant, event: SessionEvent<'_>) -> ControlFlow<()> {
        let _ = (now, event);
        ControlFlow::Continue(())
    }

    /// Headers for this attempt's request, added after the configured ones: the place for
    /// credentials that expire. `cross_origin` is set when a redirect leads to another host or
    /// port than the configured one; withhold credentials then. None by default.
    fn attempt_headers(&mut self, now: Instant, cross_origin: bool) -> &[(&str, &str)] {
        let _ = (now, cross_origin);
        &[]
    }

    /// The session wants a ping ([`SendPing`](crate::client::Action::SendPing)): start a
    /// request on a second connection, and report its answer with
    /// [`handle_pong`](ClientSession::handle_pong) from [`poll_commands`](Handler::poll_commands)
    /// (waking the async loop with [`changed`](Handler::changed)). Ignored by default, so a
    /// session configured with pings and no ping here reconnects when the pong is overdue.
    fn on_ping(&mut self, now: Instant) {
        let _ = now;
    }

    /// Runs at the start of every turn: the place to report link changes
    /// ([`handle_link_down`](ClientSession::handle_link_down),
    /// [`handle_link_up`](ClientSession::handle_link_up)), pongs, acknowledgements, or to
    /// [`close`](ClientSession::close) the session. Does nothing by default.
    fn poll_commands(&mut self, now: Instant, session: &mut ClientSession<'_>) {
        let _ = (now, session);
    }

    /// Completes when [`poll_commands`](Handler::poll_commands) has something to do, so the
    /// async loop wakes for it; never, by default. The blocking loop (`run_blocking`) does not
    /// call it.
    ///
    /// Must be cancel-safe: the loop drops it whenever bytes or a deadline come first, and
    /// creates it again on the next turn. A spurious completion costs a turn, nothing more. A
    /// session waiting for the link has no deadline, so a handler that reports the link down
    /// must complete this once it is up again, or the loop sleeps for good.
    fn changed(&mut self) -> impl Future<Output = ()> {
        core::future::pending()
    }
}

/// How a client loop ended.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Ended {
    /// The session closed for good: `204`, a refused response, a give-up, a redirect it could
    /// not follow, or [`close`](ClientSession::close) from
    /// [`poll_commands`](Handler::poll_commands).
    Closed {
        /// Why.
        reason: CloseReason,
    },
    /// The handler returned [`ControlFlow::Break`] (or the session was already closed when the
    /// loop started). The session is closed; [`ClientSession::resume_id`] says where a new one
    /// would resume.
    Stopped,
}

/// Runs a client session over async connections from `connector` until it closes or the
/// handler stops it.
///
/// `session` is fresh from [`ClientSession::new`] (or carries on from wherever it stands).
/// `rx` receives bytes from the server; a few hundred bytes are enough, and more means fewer
/// turns. `tx` holds the request between [`ClientSession::poll_transmit`] and the socket; any
/// size works, and the whole request head at once is best. The loop itself is described in the
/// [module docs](self).
///
/// # Cancel safety
///
/// Every future the loop races must be cancel-safe, because it drops whichever loses and
/// creates it again on the next turn: the connection's `read`, `write` and `flush` (the
/// [`embedded_io_async::Read`] docs ask implementations to be; smol's streams through
/// `FuturesIo` and embassy-net's `TcpSocket` are), the
/// [`Timer`](super::Timer)'s sleep and [`Handler::changed`]. A connect that loses to its
/// deadline is dropped for good, which must abandon the attempt.
///
/// The future this function returns is not cancel-safe itself: dropped mid-request, it leaves
/// part of a request on the wire and the session waiting for a connection that is gone. Drop
/// (or [`close`](ClientSession::close)) the session with it, and start a new one from
/// [`ClientSession::resume_id`] to carry on.
///
/// # Examples
///
/// The README's "Consuming over TCP" and `examples/client.rs` run it with smol;
/// `tests/io_client.rs` against a small server on loopback.
#[cfg(feature = "embedded-io-async-0.7")]
pub async fn run<C, T, H>(
    connector: &mut C,
    timer: &mut T,
    session: &mut ClientSession<'_>,
    handler: &mut H,
    rx: &mut [u8],
    tx: &mut [u8],
) -> Ended
where
    C: Connect,
    T: super::Timer,
    H: Handler,
{
    use super::{Either, select};
    use embedded_io::Error as _;

    // A zero-length read returns 0 at once, which would read as the end of the stream, and a
    // zero-length transmit buffer never empties the request queue.
    let (mut one_rx, mut one_tx) = ([0u8; 1], [0u8; 1]);
    let rx = if rx.is_empty() { &mut one_rx[..] } else { rx };
    let tx = if tx.is_empty() { &mut one_tx[..] } else { tx };
    loop {
        // Steps 1 and 3 with no connection open.
        let now = timer.now();
        if let Some(ended) = start_turn(now, session, handler) {
            return ended;
        }
        // Read before `poll_action`, whose `Connect` borrows the session: taking the action
        // leaves the deadline where it is.
        let deadline = session.poll_timeout();
        match session.poll_action() {
            Some(Action::Connect {
                host,
                port,
                cross_origin,
            }) => {
                let opened = select(connector.connect(host, port), sleep_past(timer, deadline));
                match opened.await {
                    Either::Left(Ok(mut conn)) => {
                        let now = timer.now();
                        let headers = handler.attempt_headers(now, cross_origin);
                        // An error closes the session, and the next turn hears why.
                        if session.handle_connected_with_headers(now, headers).is_ok() {
                            let ended = connected(&mut conn, timer, session, handler, rx, tx).await;
                            if let Some(ended) = ended {
                                return ended;
                            }
                        }
                    }
                    Either::Left(Err(error)) => session.handle_error(timer.now(), error.kind()),
                    Either::Right(()) => session.handle_timeout(timer.now()),
                }
            }
            Some(Action::SendPing) => handler.on_ping(now),
            // A `Disconnect` here ends an attempt whose connection was never made.
            Some(_) => {}
            None => match select(sleep_past(timer, deadline), handler.changed()).await {
                Either::Left(()) => session.handle_timeout(timer.now()),
                Either::Right(()) => {}
            },
        }
    }
}

/// The turns of one connection, from its request to its `Disconnect` (`None`), or to the end
/// of the loop (`Some`).
#[cfg(feature = "embedded-io-async-0.7")]
async fn connected<S, T, H>(
    conn: &mut S,
    timer: &mut T,
    session: &mut ClientSession<'_>,
    handler: &mut H,
    rx: &mut [u8],
    tx: &mut [u8],
) -> Option<Ended>
where
    S: embedded_io_async::Read + embedded_io_async::Write,
    T: super::Timer,
    H: Handler,
{
    use super::{Either, select};
    use embedded_io::{Error as _, ErrorKind};

    let mut pending = 0..0;
    let mut unflushed = false;
    loop {
        let now = timer.now();
        handler.poll_commands(now, session);
        while let Some(action) = session.poll_action() {
            match action {
                // What follows (the next `Connect`) is the outer loop's.
                Action::Disconnect => return None,
                Action::SendPing => handler.on_ping(now),
                // A `Connect` never comes before the `Disconnect` of this connection (the
                // session's contract); were it to, the attempt would time out and be retried.
                _ => {}
            }
        }
        if let Some(ended) = drain_story(now, session, handler) {
            return Some(ended);
        }
        if pending.is_empty() && !unflushed {
            pending = 0..fill(now, session, tx);
        }
        let deadline = session.poll_timeout();
        if !pending.is_empty() {
            match select(
                conn.write(&tx[pending.clone()]),
                sleep_past(timer, deadline),
            )
            .await
            {
                Either::Left(Ok(0)) => session.handle_error(timer.now(), ErrorKind::WriteZero),
                Either::Left(Ok(n)) => {
                    pending.start += n.min(pending.len());
                    unflushed = true;
                }
                Either::Left(Err(error)) => session.handle_error(timer.now(), error.kind()),
                Either::Right(()) => session.handle_timeout(timer.now()),
            }
            continue;
        }
        if unflushed {
            match select(conn.flush(), sleep_past(timer, deadline)).await {
                Either::Left(Ok(())) => unflushed = false,
                Either::Left(Err(error)) => session.handle_error(timer.now(), error.kind()),
                Either::Right(()) => session.handle_timeout(timer.now()),
            }
            continue;
        }
        let wait = select(sleep_past(timer, deadline), handler.changed());
        match select(conn.read(rx), wait).await {
            Either::Left(Ok(0)) => session.handle_eof(timer.now()),
            Either::Left(Ok(n)) => {
                let bytes = rx.get(..n).unwrap_or(rx);
                if deliver(timer.now(), session, handler, bytes).is_break() {
                    return Some(stop(timer.now(), session));
                }
            }
            Either::Left(Err(error)) => session.handle_error(timer.now(), error.kind()),
            Either::Right(Either::Left(())) => session.handle_timeout(timer.now()),
            // A command is waiting; the next turn runs it.
            Either::Right(Either::Right(())) => {}
        }
    }
}

/// Sleeps until the clock has passed `deadline` (forever without one), however early the
/// timer fires, so that the `handle_timeout` after it always acts. Cancel-safe when the
/// timer's sleep is.
#[cfg(feature = "embedded-io-async-0.7")]
async fn sleep_past<T: super::Timer>(timer: &mut T, deadline: Option<Instant>) {
    let Some(deadline) = deadline else {
        return core::future::pending().await;
    };
    while timer.now() < deadline {
        timer.sleep_until(deadline).await;
    }
}

/// Step 3: hands the story to the handler. `Some` ends the loop.
/// Steps 1 and 3 with no connection open, shared by both loops: the application's commands,
/// then the story so far. `Some` when the loop must end (a session closed before the loop
/// started has had its story heard already).
pub(super) fn start_turn<H: Handler>(
    now: Instant,
    session: &mut ClientSession<'_>,
    handler: &mut H,
) -> Option<Ended> {
    handler.poll_commands(now, session);
    if let Some(ended) = drain_story(now, session, handler) {
        return Some(ended);
    }
    (session.state() == State::Closed).then_some(Ended::Stopped)
}

fn drain_story<H: Handler>(
    now: Instant,
    session: &mut ClientSession<'_>,
    handler: &mut H,
) -> Option<Ended> {
    while let Some(event) = session.poll_event() {
        let flow = handler.on_event(now, event);
        if let SessionEvent::Closed { reason } = event {
            return Some(Ended::Closed { reason });
        }
        if flow.is_break() {
            return Some(stop(now, session));
        }
    }
    None
}

/// Ends the loop at the handler's request: the session closes, and its `Closed` story goes
/// unheard (the handler asked for it).
fn stop(now: Instant, session: &mut ClientSession<'_>) -> Ended {
    session.close(now);
    while session.poll_event().is_some() {}
    Ended::Stopped
}

/// Step 4, first half: moves as much of the queued request as fits into `tx` and returns its
/// length.
fn fill(now: Instant, session: &mut ClientSession<'_>, tx: &mut [u8]) -> usize {
    let mut len = 0;
    while let Some(rest) = tx.get_mut(len..) {
        match session.poll_transmit(now, rest) {
            Some(n) if n > 0 => len += n,
            _ => break,
        }
    }
    len
}

/// Step 5 for bytes: feeds them and hands every message to the handler, acknowledging the
/// last processed event in acknowledged mode. `Break` means the handler asked to stop.
fn deliver<H: Handler>(
    now: Instant,
    session: &mut ClientSession<'_>,
    handler: &mut H,
    bytes: &[u8],
) -> ControlFlow<()> {
    let acknowledged = session.config().resume() == ResumeMode::Acknowledged;
    // The id of the last event the handler finished; acknowledged once the messages (which
    // borrow the session) are done.
    let mut processed: Option<heapless::String<ID_CAPACITY>> = None;
    let mut messages = session.handle_bytes(now, bytes);
    let mut flow = ControlFlow::Continue(());
    while let Some(message) = messages.next() {
        let id = match &message {
            Ok(event) if acknowledged => heapless::String::try_from(event.id()).ok(),
            _ => None,
        };
        flow = handler.on_message(now, message);
        if flow.is_break() {
            break;
        }
        if id.is_some() {
            processed = id;
        }
    }
    drop(messages);
    if let Some(id) = processed {
        // Cannot fail: the session is in acknowledged mode and the id came from its parser.
        let _ = session.ack(now, &id);
    }
    flow
}

#[cfg(all(test, feature = "embedded-io-async-0.7"))]
mod tests {
    extern crate std;

    use core::cell::RefCell;
    use core::time::Duration;
    use std::collections::VecDeque;
    use std::rc::Rc;
    use std::vec::Vec;

    use embedded_io::ErrorKind;

    use super::*;
    use crate::client::{ClientConfig, ClientStorage, ReconnectReason};
    use crate::io::Timer;

    const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";

    #[test]
    fn a_connect_that_never_completes_times_out_at_the_connect_deadline() {
        let mut connector = Script::new([Dial::Hang]);
        let mut timer = FakeTimer::new(false);
        let mut handler = Recorder::stopping_at_reconnect(1);

        let ended = drive(
            &mut connector,
            &mut timer,
            &mut handler,
            ClientConfig::new("h", "/"),
        );

        assert_eq!(ended, Ended::Stopped);
        assert_eq!(
            handler.reconnects,
            [(
                Instant::from_millis(30_000),
                ReconnectReason::ConnectTimeout
            )]
        );
        assert_eq!(timer.sleeps, 1);
    }

    #[test]
    fn an_early_timer_costs_a_turn_not_a_lost_race() {
        let mut connector = Script::new([Dial::Hang]);
        let mut timer = FakeTimer::new(true);
        let mut handler = Recorder::stopping_at_reconnect(1);

        drive(
            &mut connector,
            &mut timer,
            &mut handler,
            ClientConfig::new("h", "/"),
        );

        // Woken at 29 999 ms, the loop sleeps again instead of giving up the connect early.
        assert_eq!(
            handler.reconnects,
            [(
                Instant::from_millis(30_000),
                ReconnectReason::ConnectTimeout
            )]
        );
        assert_eq!(timer.sleeps, 2);
    }

    #[test]
    fn a_silent_stream_is_dropped_exactly_at_its_idle_deadline_and_resumed() {
        let first = Conn::new(&[HEAD, b":keepalive 1000\nid: 1\ndata: a\n\n"]);
        let second = Conn::new(&[]);
        let (sent_first, sent_second) = (first.written(), second.written());
        let mut connector = Script::new([Dial::Open(first), Dial::Open(second)]);
        let mut timer = FakeTimer::new(false);
        let mut handler = Recorder::stopping_at_reconnect(2);

        drive(
            &mut connector,
            &mut timer,
            &mut handler,
            ClientConfig::new("h", "/e"),
        );

        assert_eq!(handler.events, ["1 a"]);
        // The announcement sized the limit: 1000 ms * 2 + 5000 ms, from the bytes at 0 ms.
        let (at, reason) = handler.reconnects[0];
        assert_eq!(at, Instant::from_millis(7_000));
        assert!(matches!(reason, ReconnectReason::Idle(_)), "{reason:?}");
        // Written through a 7-byte transmit buffer, both requests arrived whole.
        let first = std::string::String::from_utf8(sent_first.borrow().clone()).unwrap();
        let second = std::string::String::from_utf8(sent_second.borrow().clone()).unwrap();
        assert!(first.starts_with("GET /e HTTP/1.1\r\n") && first.ends_with("\r\n\r\n"));
        assert!(!first.contains("Last-Event-ID"));
        assert!(second.contains("\r\nLast-Event-ID: 1\r\n"), "{second}");
    }

    #[test]
    fn acknowledged_mode_acks_what_the_handler_finished_and_not_what_it_stopped_on() {
        let conn = Conn::new(&[HEAD, b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n"]);
        let mut connector = Script::new([Dial::Open(conn)]);
        let mut timer = FakeTimer::new(false);
        let mut handler = Recorder::stopping_at_reconnect(1);
        handler.stop_at_event = Some(2);
        let config = ClientConfig::new("h", "/").with_resume(ResumeMode::Acknowledged);
        let mut storage: ClientStorage = ClientStorage::new();
        let mut session = ClientSession::new(Instant::ZERO, config, storage.buffers(), 1).unwrap();
        let (mut rx, mut tx) = ([0u8; 64], [0u8; 7]);

        let ended = smol::block_on(run(
            &mut connector,
            &mut timer,
            &mut session,
            &mut handler,
            &mut rx,
            &mut tx,
        ));

        assert_eq!(ended, Ended::Stopped);
        assert_eq!(handler.events, ["1 a", "2 b"]);
        assert_eq!(session.resume_id(), "1");
        assert_eq!(session.state(), State::Closed);
    }

    #[test]
    fn a_refused_connect_is_retried_after_the_backoff_delay() {
        let mut connector = Script::new([Dial::Refuse, Dial::Hang]);
        let mut timer = FakeTimer::new(false);
        let mut handler = Recorder::stopping_at_reconnect(2);

        drive(
            &mut connector,
            &mut timer,
            &mut handler,
            ClientConfig::new("h", "/"),
        );

        let (refused_at, refused) = handler.reconnects[0];
        let (timed_out_at, timed_out) = handler.reconnects[1];
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
    fn no_content_closes_and_a_closed_session_returns_at_once() {
        let conn = Conn::new(&[b"HTTP/1.1 204 No Content\r\n\r\n"]);
        let mut connector = Script::new([Dial::Open(conn)]);
        let mut timer = FakeTimer::new(false);
        let mut handler = Recorder::stopping_at_reconnect(1);
        let mut storage: ClientStorage = ClientStorage::new();
        let config = ClientConfig::new("h", "/");
        let mut session = ClientSession::new(Instant::ZERO, config, storage.buffers(), 1).unwrap();
        let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);

        let first = smol::block_on(run(
            &mut connector,
            &mut timer,
            &mut session,
            &mut handler,
            &mut rx,
            &mut tx,
        ));
        let again = smol::block_on(run(
            &mut connector,
            &mut timer,
            &mut session,
            &mut handler,
            &mut rx,
            &mut tx,
        ));

        assert_eq!(
            first,
            Ended::Closed {
                reason: CloseReason::NoContent
            }
        );
        assert_eq!(again, Ended::Stopped);
        assert_eq!(connector.dials, 1);
    }

    // -----------------------------------------------------------------------------------------

    fn drive(
        connector: &mut Script,
        timer: &mut FakeTimer,
        handler: &mut Recorder,
        config: ClientConfig<'_>,
    ) -> Ended {
        let mut storage: ClientStorage = ClientStorage::new();
        let mut session = ClientSession::new(timer.now, config, storage.buffers(), 1).unwrap();
        let (mut rx, mut tx) = ([0u8; 64], [0u8; 7]);
        smol::block_on(run(
            connector,
            timer,
            &mut session,
            handler,
            &mut rx,
            &mut tx,
        ))
    }

    /// A clock that jumps to whatever deadline it is asked to sleep until; with `early`, it
    /// first wakes 1 ms before each deadline.
    struct FakeTimer {
        now: Instant,
        early: bool,
        woke_early_for: Option<Instant>,
        sleeps: u32,
    }

    impl FakeTimer {
        fn new(early: bool) -> Self {
            Self {
                now: Instant::ZERO,
                early,
                woke_early_for: None,
                sleeps: 0,
            }
        }
    }

    impl Timer for FakeTimer {
        fn now(&mut self) -> Instant {
            self.now
        }

        fn sleep_until(&mut self, deadline: Instant) -> impl Future<Output = ()> {
            self.sleeps += 1;
            let early = deadline.saturating_sub(Duration::from_millis(1));
            if self.early && self.woke_early_for != Some(deadline) && early > self.now {
                self.woke_early_for = Some(deadline);
                self.now = early;
            } else {
                self.now = self.now.max(deadline);
            }
            core::future::ready(())
        }
    }

    /// What the n-th connect does.
    enum Dial {
        Open(Conn),
        Refuse,
        Hang,
    }

    struct Script {
        dials: usize,
        script: VecDeque<Dial>,
    }

    impl Script {
        fn new<const N: usize>(script: [Dial; N]) -> Self {
            Self {
                dials: 0,
                script: script.into_iter().collect(),
            }
        }
    }

    impl Connect for Script {
        type Conn<'c> = Conn;
        type Error = ErrorKind;

        fn connect(
            &mut self,
            _: &str,
            _: u16,
        ) -> impl Future<Output = Result<Self::Conn<'_>, Self::Error>> {
            self.dials += 1;
            let dial = self.script.pop_front().unwrap_or(Dial::Refuse);
            async move {
                match dial {
                    Dial::Open(conn) => Ok(conn),
                    Dial::Refuse => Err(ErrorKind::ConnectionRefused),
                    Dial::Hang => core::future::pending().await,
                }
            }
        }
    }

    /// A connection that reads its chunks, then stays silent, and records what is written.
    struct Conn {
        input: VecDeque<Vec<u8>>,
        written: Rc<RefCell<Vec<u8>>>,
    }

    impl Conn {
        fn new(chunks: &[&[u8]]) -> Self {
            Self {
                input: chunks.iter().map(|chunk| chunk.to_vec()).collect(),
                written: Rc::default(),
            }
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

    /// Records events as `"id data"` and reconnects with their time; stops at the n-th
    /// reconnect or the n-th event.
    struct Recorder {
        stop_at_reconnect: usize,
        stop_at_event: Option<usize>,
        events: Vec<std::string::String>,
        reconnects: Vec<(Instant, ReconnectReason)>,
    }

    impl Recorder {
        fn stopping_at_reconnect(n: usize) -> Self {
            Self {
                stop_at_reconnect: n,
                stop_at_event: None,
                events: Vec::new(),
                reconnects: Vec::new(),
            }
        }
    }

    impl Handler for Recorder {
        fn on_message(
            &mut self,
            _: Instant,
            message: Result<Event<'_>, ParseError>,
        ) -> ControlFlow<()> {
            let event = message.unwrap();
            self.events
                .push(std::format!("{} {}", event.id(), event.data()));
            if self.stop_at_event == Some(self.events.len()) {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }

        fn on_event(&mut self, now: Instant, event: SessionEvent<'_>) -> ControlFlow<()> {
            if let SessionEvent::Reconnecting { reason, .. } = event {
                self.reconnects.push((now, reason));
                if self.reconnects.len() == self.stop_at_reconnect {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
}
