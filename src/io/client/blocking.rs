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

use super::{Ended, Handler, deliver, drain_story, fill, start_turn, stop};
use crate::client::{Action, ClientSession};
use crate::time::{Instant, StdOrigin};

/// How often the loop looks at [`Handler::poll_commands`] while the session has no deadline
/// at all (it waits for the link, which only a command can bring back).
const COMMAND_POLL: Duration = Duration::from_millis(100);

/// Runs a client session on the calling thread until it closes or the handler stops it; the
/// blocking twin of `run` (the async loop), with the same [`Handler`] and outcomes.
///
/// `origin` converts between the session's [`Instant`]s and the system clock. `rx` and `tx`
/// are as for the async `run`. Host names are resolved with [`ToSocketAddrs`], which
/// blocks without a timeout of its own; each address is then tried with the time left until
/// the connect deadline.
///
/// The loop cannot wait for bytes and for the application at once, so
/// [`Handler::changed`] is never called: [`Handler::poll_commands`] runs when bytes arrive or a
/// deadline passes, and every 100 ms while the session waits for the link.
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
    // As in `run`: zero-length buffers would read as the end of the stream or never drain.
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

/// The turns of one connection, as `connected` in the async loop.
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
