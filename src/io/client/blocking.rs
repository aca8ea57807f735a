//! The blocking client loop over [`std::net::TcpStream`]: one thread per session.
//!
//! A blocking thread waits for one thing at a time, so every wait carries the session's next
//! deadline as its timeout: the connect (`connect_timeout`), each write (the write timeout) and
//! each read (the read timeout). A socket timeout that runs out is the deadline passing.

use core::ops::{ControlFlow, Range};
use core::time::Duration;
use std::io::{ErrorKind as IoKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

use embedded_io::ErrorKind;

use crate::client::{
    Action, ClientSession, CloseReason, ID_CAPACITY, ResumeMode, SessionEvent, State,
};
use crate::parse::{Event, ParseError};
use crate::time::{Instant, StdOrigin};

/// How often the loop looks at [`Handler::poll_commands`] while the session has no deadline
/// at all (it waits for the link, which only a command can bring back).
const COMMAND_POLL: Duration = Duration::from_millis(100);

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
    /// [`handle_pong`](ClientSession::handle_pong) from [`poll_commands`](Handler::poll_commands).
    /// Ignored by default, so a
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

/// Runs a client session on the calling thread until it closes or the handler stops it; the
/// callback-driven blocking counterpart of the async pull `Client`.
///
/// `origin` converts between the session's [`Instant`]s and the system clock. `rx` and `tx`
/// receive bytes and hold the request on its way out. Host names are resolved with [`ToSocketAddrs`], which
/// blocks without a timeout of its own; each address is then tried with the time left until
/// the connect deadline.
///
/// The loop cannot wait for bytes and for the application at once, so
/// [`Handler::poll_commands`] runs when bytes arrive or a deadline passes, and every 100 ms
/// while the session waits for the link.
///
/// # Examples
///
/// ```no_run
/// use core::ops::ControlFlow;
/// use sansse::client::{ClientConfig, ClientSession, ClientStorage};
/// use sansse::io::client::{Handler, run_blocking};
/// use sansse::time::StdOrigin;
/// use sansse::{Event, Instant, ParseError};
///
/// struct Print;
///
/// impl Handler for Print {
///     fn on_message(&mut self, _: Instant, message: Result<Event<'_>, ParseError>) -> ControlFlow<()> {
///         if let Ok(event) = message {
///             println!("{}: {}", event.id(), event.data());
///         }
///         ControlFlow::Continue(())
///     }
/// }
///
/// let origin = StdOrigin::now();
/// let config = ClientConfig::new("127.0.0.1", "/events").with_port(8080);
/// let mut storage: ClientStorage = ClientStorage::new();
/// let mut session = ClientSession::new(origin.current(), config, storage.buffers(), 7)?;
/// let (mut rx, mut tx) = ([0u8; 4096], [0u8; 1024]);
/// let ended = run_blocking(&mut session, &mut Print, &origin, &mut rx, &mut tx);
/// eprintln!("{ended:?}");
/// # Ok::<(), sansse::client::ConfigError>(())
/// ```
pub fn run_blocking<H: Handler>(
    session: &mut ClientSession<'_>,
    handler: &mut H,
    origin: &StdOrigin,
    rx: &mut [u8],
    tx: &mut [u8],
) -> Ended {
    // Zero-length buffers would read as the end of the stream or never drain.
    let (mut one_rx, mut one_tx) = ([0u8; 1], [0u8; 1]);
    let rx = if rx.is_empty() { &mut one_rx[..] } else { rx };
    let tx = if tx.is_empty() { &mut one_tx[..] } else { tx };
    loop {
        let now = origin.current();
        if let Some(ended) = start_turn(now, session, handler) {
            return ended;
        }
        let deadline = session.poll_timeout();
        match session.poll_action() {
            Some(Action::Connect {
                host,
                port,
                cross_origin,
            }) => match connect(host, port, origin, deadline) {
                Ok(mut stream) => {
                    let now = origin.current();
                    let headers = handler.attempt_headers(now, cross_origin);
                    if session.handle_connected_with_headers(now, headers).is_ok() {
                        let ended = connected(&mut stream, origin, session, handler, rx, tx);
                        if let Some(ended) = ended {
                            return ended;
                        }
                    }
                }
                Err(error) if timed_out(&error) => session.handle_timeout(origin.current()),
                Err(error) => session.handle_error(origin.current(), error.kind().into()),
            },
            Some(Action::SendPing) => handler.on_ping(now),
            // A `Disconnect` here ends an attempt whose connection was never made.
            Some(_) => {}
            None => {
                let wait = deadline.map_or(COMMAND_POLL, |at| {
                    at.saturating_duration_since(origin.current())
                });
                std::thread::sleep(wait);
                // A no-op before the deadline (the sleep may wake early).
                session.handle_timeout(origin.current());
            }
        }
    }
}

/// The turns of one connection, from its request to its `Disconnect` (`None`), or to the end
/// of the loop (`Some`).
fn connected<H: Handler>(
    stream: &mut TcpStream,
    origin: &StdOrigin,
    session: &mut ClientSession<'_>,
    handler: &mut H,
    rx: &mut [u8],
    tx: &mut [u8],
) -> Option<Ended> {
    let mut pending: Range<usize> = 0..0;
    loop {
        let now = origin.current();
        handler.poll_commands(now, session);
        while let Some(action) = session.poll_action() {
            match action {
                Action::Disconnect => return None,
                Action::SendPing => handler.on_ping(now),
                _ => {}
            }
        }
        if let Some(ended) = drain_story(now, session, handler) {
            return Some(ended);
        }
        if pending.is_empty() {
            pending = 0..fill(now, session, tx);
        }
        let deadline = session.poll_timeout();
        if !pending.is_empty() {
            // Only a zero timeout is refused, and `timeout` never gives one.
            let _ = stream.set_write_timeout(timeout(origin, deadline));
            match stream.write(&tx[pending.clone()]) {
                Ok(0) => session.handle_error(origin.current(), ErrorKind::WriteZero),
                Ok(n) => pending.start += n.min(pending.len()),
                Err(error) if timed_out(&error) => session.handle_timeout(origin.current()),
                Err(error) if error.kind() == IoKind::Interrupted => {}
                Err(error) => session.handle_error(origin.current(), error.kind().into()),
            }
            continue;
        }
        let _ = stream.set_read_timeout(timeout(origin, deadline));
        match stream.read(rx) {
            Ok(0) => session.handle_eof(origin.current()),
            Ok(n) => {
                let bytes = rx.get(..n).unwrap_or(rx);
                if deliver(origin.current(), session, handler, bytes) == ControlFlow::Break(()) {
                    return Some(stop(origin.current(), session));
                }
            }
            // A no-op if the socket woke a little before the deadline.
            Err(error) if timed_out(&error) => session.handle_timeout(origin.current()),
            Err(error) if error.kind() == IoKind::Interrupted => {}
            Err(error) => session.handle_error(origin.current(), error.kind().into()),
        }
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

/// Steps 1 and 3 with no connection open, shared by both loops: the application's commands,
/// then the story so far. `Some` when the loop must end (a session closed before the loop
/// started has had its story heard already).
fn start_turn<H: Handler>(
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
