//! The blocking server loop: one thread per connection over [`std::net::TcpStream`].
//!
//! A blocking thread cannot wait for bytes and for a publish at once, so the loop splits the
//! wait by phase. While the request head is read, it blocks in `read` with the read timeout set
//! to the session's next deadline (the head timeout). Once the stream is open the client has
//! nothing more to say, so it blocks on the hub's condition variable until a publish, a command
//! or the next deadline, then checks the socket without blocking for the client's leaving.
//! Writes carry the next deadline as their timeout, so a peer that stops reading still trips
//! the write-stall and lease timers.

use core::ops::Range;
use core::time::Duration;
use std::io::{ErrorKind as IoKind, Read, Write};
use std::net::TcpStream;

use embedded_io::ErrorKind;

use super::{
    Answer, Decide, Handler, ServeError, Served, Server, ServerStorage, drain_events, feed, fill,
};
use crate::http::RequestHead;
use crate::io::{Hub, StdHub};
use crate::replay::{TopicLog, Topics};
use crate::server::{ServerSession, State};
use crate::time::{Instant, StdOrigin};

/// Serves one connection on the calling thread with the default config and default buffers:
/// [`Server::new`]`().`[`serve_blocking`](Server::serve_blocking)`(stream, hub, decide)`.
///
/// # Errors
///
/// As [`Server::serve_blocking`].
///
/// # Examples
///
/// A thread per connection, and a publisher thread:
///
/// ```no_run
/// use sansse::io::StdHub;
/// use sansse::io::server::{Answer, serve_blocking};
/// use sansse::replay::Ring;
/// use sansse::server::AcceptOptions;
///
/// let hub = StdHub::new(Ring::<64, 8192>::new(1));
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// std::thread::scope(|scope| {
///     scope.spawn(|| {
///         for n in 0.. {
///             let _ = hub.publish(None, &format!("tick {n}"));
///             std::thread::sleep(std::time::Duration::from_secs(1));
///         }
///     });
///     for stream in listener.incoming().flatten() {
///         let hub = &hub;
///         scope.spawn(move || {
///             let served = serve_blocking(stream, hub, |_| Answer::Accept(AcceptOptions::new()));
///             eprintln!("{served:?}");
///         });
///     }
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn serve_blocking<L, D>(
    stream: TcpStream,
    hub: &StdHub<L>,
    decide: D,
) -> Result<Served, ServeError>
where
    L: TopicLog,
    D: FnMut(&RequestHead<'_>) -> Answer<'static>,
{
    Server::new().serve_blocking(stream, hub, decide)
}

impl<'c, T> Server<'c, T> {
    /// Serves one connection on the calling thread until its session closes; the blocking twin
    /// of `serve` (feature `embedded-io-async-0.7`), with the same answers and outcomes. The
    /// server's timer is not used: the loop reads the system clock.
    ///
    /// The socket's read and write timeouts are changed as the loop goes. A client that leaves
    /// while its stream is idle is noticed at the next wake-up: a publish, a command, or a
    /// keep-alive. Without keep-alives or a lease, that may be the next publish.
    ///
    /// # Errors
    ///
    /// [`ServeError`] when an event does not fit the default transmit buffer or an answer is
    /// refused; drop the connection.
    pub fn serve_blocking<L, D>(
        &self,
        stream: TcpStream,
        hub: &StdHub<L>,
        decide: D,
    ) -> Result<Served, ServeError>
    where
        L: TopicLog,
        D: FnMut(&RequestHead<'_>) -> Answer<'c>,
    {
        let (mut stream, mut decide) = (stream, decide);
        // On the heap: a thread's stack is the wrong place for 19 KiB it keeps for its life.
        let mut storage = std::boxed::Box::new(ServerStorage::new());
        // Answers live as long as the config; the session needs them as long as the storage.
        let mut handler = Decide(|request: &RequestHead<'_>| -> Answer<'_> { decide(request) });
        self.serve_blocking_with(&mut stream, hub, &mut storage, &mut handler)
    }

    /// Serves one connection on the calling thread with caller-owned `storage` and a
    /// [`Handler`]; the stream stays the caller's, so a [`Served::Handoff`] can be answered on
    /// it. The blocking twin of `Server::serve_with`.
    ///
    /// # Errors
    ///
    /// As [`Server::serve_blocking`], with `storage`'s transmit buffer.
    pub fn serve_blocking_with<'s, L, A, const HEAD: usize, const RX: usize, const TX: usize>(
        &self,
        stream: &mut TcpStream,
        hub: &StdHub<L>,
        storage: &'s mut ServerStorage<HEAD, RX, TX>,
        handler: &mut A,
    ) -> Result<Served, ServeError>
    where
        'c: 's,
        L: TopicLog,
        A: Handler<'s, L::Cursor>,
    {
        let origin = StdOrigin::now();
        let (head, rx, tx) = storage.parts();
        let mut session = ServerSession::new(origin.current(), head, self.config);
        run_blocking(stream, &origin, hub, &mut session, handler, rx, tx)
    }
}

/// The blocking loop itself; see the module docs.
fn run_blocking<'buf, L, A>(
    stream: &mut TcpStream,
    origin: &StdOrigin,
    hub: &StdHub<L>,
    session: &mut ServerSession<'buf, L::Cursor>,
    handler: &mut A,
    rx: &mut [u8],
    tx: &mut [u8],
) -> Result<Served, ServeError>
where
    L: TopicLog,
    A: Handler<'buf, L::Cursor>,
{
    // A zero-length read returns 0 at once, which would read as the end of the stream.
    let mut one = [0u8; 1];
    let rx = if rx.is_empty() { &mut one[..] } else { rx };
    let mut pending: Range<usize> = 0..0;
    let mut body = 0..0;
    let mut topics = Topics::default();
    loop {
        let now = origin.current();
        let seen = hub.version();
        if let Some(served) = drain_events(now, session, hub, handler, &body, &mut topics)? {
            return Ok(served);
        }
        handler.poll_commands(now, session);
        if pending.is_empty() {
            pending = 0..fill(now, session, hub, &topics, tx)?;
        }
        let deadline = session.poll_timeout();
        if !pending.is_empty() {
            // Only a zero timeout is refused, and `timeout` never gives one.
            let _ = stream.set_write_timeout(timeout(origin, deadline));
            match stream.write(&tx[pending.clone()]) {
                Ok(0) => session.handle_error(origin.current(), ErrorKind::WriteZero),
                Ok(n) => {
                    let n = n.min(pending.len());
                    pending.start += n;
                    // Never more than handed out: `n` is capped at what poll_transmit gave.
                    let _ = session.handle_written(origin.current(), n);
                }
                Err(error) if timed_out(&error) => session.handle_timeout(origin.current()),
                Err(error) if error.kind() == IoKind::Interrupted => {}
                Err(error) => session.handle_error(origin.current(), error.kind().into()),
            }
            continue;
        }
        if session.state() == State::ReadingRequest {
            let _ = stream.set_read_timeout(timeout(origin, deadline));
            match stream.read(rx) {
                Ok(0) => session.handle_eof(origin.current()),
                Ok(n) => {
                    let n = n.min(rx.len());
                    let fed = feed(session, origin.current(), &rx[..n]);
                    body = fed..n;
                }
                Err(error) if timed_out(&error) => session.handle_timeout(origin.current()),
                Err(error) if error.kind() == IoKind::Interrupted => {}
                Err(error) => session.handle_error(origin.current(), error.kind().into()),
            }
            continue;
        }
        hub.wait_changed(seen, deadline.map(|at| origin.to_std(at)));
        let now = origin.current();
        session.handle_timeout(now);
        probe(stream, rx, session, now);
    }
}

/// Reads whatever the client sent without blocking, to notice that it left.
fn probe<C: Copy>(
    stream: &mut TcpStream,
    rx: &mut [u8],
    session: &mut ServerSession<'_, C>,
    now: Instant,
) {
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let read = stream.read(rx);
    // A socket left non-blocking would turn the next blocking write into a busy failure.
    if let Err(error) = stream.set_nonblocking(false) {
        session.handle_error(now, error.kind().into());
        return;
    }
    match read {
        Ok(0) => session.handle_eof(now),
        // Bytes after the request head mean nothing to an event stream.
        Ok(_) => {}
        Err(error) if matches!(error.kind(), IoKind::WouldBlock | IoKind::Interrupted) => {}
        Err(error) => session.handle_error(now, error.kind().into()),
    }
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
