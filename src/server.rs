//! The server session: one per connection, from the request head to the end of the stream.
//!
//! # States
//!
//! ```text
//! ReadingRequest --head complete--> AwaitingDecision --accept--> Streaming --close/overrun--> Closing
//!       |                                 |                          |                          |
//!       | bad head: error response        | reject: error response   | lease, stall, EOF,       | all written
//!       +------------> Closing <----------+                          | read/write failure       | and confirmed
//!       | head timeout, EOF                                          v                          v
//!       +----------------------------------------------------------> Closed <-------------------+
//! ```
//!
//! Rules the machine keeps:
//!
//! - The response head goes out before anything else, then (when configured) a `retry:` block
//!   and the keep-alive announcement `:keepalive <ms>` (see [`heartbeat`](crate::heartbeat)),
//!   then a gap event if the `Last-Event-ID` could not be resumed from, then the replay, then
//!   live events. Each of these is written whole or not at all.
//! - The session never owns the replay log. Many sessions read one log through their own
//!   cursor; the calls that need the log take it as an argument. A session's memory is its
//!   request-head storage and a few words, whatever the log holds.
//! - A peer that breaks the protocol ends the session with a [`CloseReason`]; a caller that
//!   breaks the contract gets an error and the session is unchanged.
//! - Every input takes `now` and first acts on every deadline at or before it, exactly as
//!   [`ServerSession::handle_timeout`] would, so results do not depend on whether the shell
//!   called that first. Deadlines are inclusive: one at `t` fires for `now == t`. A `now`
//!   older than one already seen counts as the latest seen.

mod config;
mod error;
mod event;
mod output;

pub use config::{AcceptOptions, CloseOptions, OverrunPolicy, ServerConfig};
pub use error::{AcceptError, CloseError, LeaseError, RejectError, TransmitError, WrittenError};
pub use event::{CloseReason, Deadline, SessionEvent, State, StreamStart, TimerReason};

use core::time::Duration;

use embedded_io::ErrorKind;
use heapless::Deque;

use crate::heartbeat::{KeepAlive, Lease};
use crate::http::{ErrorResponse, RequestHead, RequestReader, StreamResponse};
use crate::replay::{Cursor, Gap, ReplayLog, Resume};
use crate::time::{Instant, Monotonic};

use output::Outbox;

/// One server-side SSE connection as a sans-IO machine: request bytes and timestamps in; the
/// response, events, keep-alives and the connection's fate out.
///
/// `'buf` is the lifetime of the storage lent for the request head and of everything the
/// session keeps borrowed until it is written (config, extra response headers, a last event).
/// `C` is the cursor type of the [`ReplayLog`] it reads ([`Cursor`] for [`Ring`]).
///
/// # Run loop
///
/// 1. On a new connection, create the session with [`ServerSession::new`], lending it storage
///    for the request head (its size caps the head, with [`ServerConfig::head_limits`]).
/// 2. Feed what the transport reports: [`handle_bytes`] for received bytes, [`handle_eof`] when reading
///    ends, [`handle_error`] when the transport fails. Bytes after the request head are ignored.
/// 3. Drain [`poll_event`] until `None`. On [`SessionEvent::RequestReady`] read
///    [`request`] and answer with [`accept`] (which also refuses what is not an event-stream
///    request) or [`reject`]. On [`SessionEvent::Closed`] close the connection and drop the session;
///    it is the last event. *Skipped:* the request is never answered and the client waits.
/// 4. Drain [`poll_transmit`] until it returns `Ok(None)`: send `buf[..n]`, then report it with
///    [`handle_written`] (or [`handle_error`] when the write failed). Reporting as the transport accepts bytes,
///    in pieces, is fine. *Skipped:* events queue in the log until the reader falls behind it
///    (the overrun policy applies); unconfirmed bytes trip the write-stall timer; a closing
///    session never reports `Closed`. On [`TransmitError::BufferTooSmall`] lend at least
///    `needed` bytes. Events from the log go out in pieces when they are larger than the
///    buffer, so its size bounds only the other pieces (the response head, a gap event, a
///    last event), never the events published.
/// 5. Wait for the earliest of: more bytes, the instant from [`poll_timeout`] (then call
///    [`handle_timeout`]), a publish to the log, or an application command. Then go to 2.
///
/// At any time the application may [`close`] (or [`close_with`]) the session or [`renew_lease`]. After publishing
/// to the log, run step 4 for every session: a session learns of new events only when polled.
///
/// Safe to repeat: [`handle_timeout`] early or twice (a no-op), every `poll_*` (each returns
/// `None` when there is nothing), [`handle_written`] with 0. After `Closed`, inputs are ignored
/// and commands return errors.
///
/// # Examples
///
/// A whole connection under a fake clock, with no network:
///
/// ```
/// use sansse::replay::{ReplayLog, Ring};
/// use sansse::server::{AcceptOptions, ServerConfig, ServerSession, SessionEvent};
/// use sansse::Instant;
///
/// let mut ring = Ring::<64, 4096>::new(1);
/// let mut storage = [0u8; 1024];
/// let mut session = ServerSession::new(Instant::ZERO, &mut storage, ServerConfig::new());
/// let mut wire = Vec::new();
/// let mut buf = [0u8; 512];
///
/// // 2: the request arrives; 3: the application accepts it.
/// let now = Instant::from_millis(5);
/// session.handle_bytes(now, b"GET /events HTTP/1.1\r\nHost: example.com\r\n\r\n");
/// assert_eq!(session.poll_event(), Some(SessionEvent::RequestReady));
/// assert_eq!(session.request().unwrap().path(), "/events");
/// session.accept(now, &ring, AcceptOptions::new())?;
///
/// // Publishing appends once to the shared ring; 4: each session copies it out when polled.
/// ring.publish(None, "hello")?;
/// while let Some(n) = session.poll_transmit(now, &ring, &mut buf)? {
///     wire.extend_from_slice(&buf[..n]);
///     session.handle_written(now, n)?;
/// }
/// let text = String::from_utf8(wire.clone())?;
/// assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(text.ends_with(":keepalive 15000\nid: 1-1\ndata: hello\n\n\r\n"));
///
/// // 5: nothing to say for 15 s, so a keep-alive comment is due, to the millisecond.
/// assert_eq!(session.poll_timeout(), Some(Instant::from_millis(15_005)));
/// session.handle_timeout(Instant::from_millis(15_005));
/// let n = session.poll_transmit(Instant::from_millis(15_005), &ring, &mut buf)?.unwrap();
/// assert_eq!(&buf[..n], b"2\r\n:\n\r\n");
/// session.handle_written(Instant::from_millis(15_005), n)?;
///
/// // A graceful close writes the end of the chunked body, then reports Closed.
/// session.close(Instant::from_millis(16_000));
/// let n = session.poll_transmit(Instant::from_millis(16_000), &ring, &mut buf)?.unwrap();
/// assert_eq!(&buf[..n], b"0\r\n\r\n");
/// session.handle_written(Instant::from_millis(16_000), n)?;
/// assert!(matches!(session.poll_event(), Some(SessionEvent::Accepted { .. })));
/// assert!(matches!(session.poll_event(), Some(SessionEvent::Closed { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`Ring`]: crate::replay::Ring
/// [`handle_bytes`]: ServerSession::handle_bytes
/// [`handle_eof`]: ServerSession::handle_eof
/// [`handle_error`]: ServerSession::handle_error
/// [`poll_event`]: ServerSession::poll_event
/// [`request`]: ServerSession::request
/// [`accept`]: ServerSession::accept
/// [`reject`]: ServerSession::reject
/// [`poll_transmit`]: ServerSession::poll_transmit
/// [`handle_written`]: ServerSession::handle_written
/// [`poll_timeout`]: ServerSession::poll_timeout
/// [`handle_timeout`]: ServerSession::handle_timeout
/// [`close`]: ServerSession::close
/// [`close_with`]: ServerSession::close_with
/// [`renew_lease`]: ServerSession::renew_lease
#[derive(Debug)]
pub struct ServerSession<'buf, C = Cursor> {
    config: ServerConfig<'buf>,
    clock: Monotonic,
    reader: RequestReader<'buf>,
    phase: Phase,
    outbox: Outbox<'buf, C>,
    keepalive: Option<KeepAlive>,
    lease: Option<Lease>,
    /// Bytes handed out by `poll_transmit` and not yet confirmed by `handle_written`.
    unconfirmed: usize,
    /// The last write progress: a confirmation, or the first handout after a full flush.
    progress_at: Instant,
    events: Deque<SessionEvent, EVENT_SLOTS>,
}

impl<'buf, C: Copy> ServerSession<'buf, C> {
    /// Starts a session at `now` for a connection just accepted, reading the request head into
    /// `storage`.
    ///
    /// The head must be complete within [`ServerConfig::head_timeout`] of `now`.
    ///
    /// `C` is inferred from the log later passed to [`ServerSession::accept`]; where nothing
    /// pins it, name the type: `let session: ServerSession<'_> = ServerSession::new(..)`.
    pub fn new(now: Instant, storage: &'buf mut [u8], config: ServerConfig<'buf>) -> Self {
        Self {
            reader: RequestReader::new(storage, config.head_limits()),
            phase: Phase::Reading {
                deadline: now + config.head_timeout(),
            },
            config,
            clock: Monotonic::new(now),
            outbox: Outbox::idle(),
            keepalive: None,
            lease: None,
            unconfirmed: 0,
            progress_at: now,
            events: Deque::new(),
        }
    }

    /// Feeds bytes received from the client at `now`.
    ///
    /// While the head is incomplete they are read into the lent storage. A complete head
    /// queues [`SessionEvent::RequestReady`]; a head that breaks a limit or the grammar queues
    /// the matching error response (400, 414, 431 or 505) and the session closes once it is
    /// written. Bytes after the head (a body, pipelined requests) are ignored, as are bytes
    /// after the session closed.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        self.observe(now);
        if !matches!(self.phase, Phase::Reading { .. }) || bytes.is_empty() {
            return;
        }
        match self.reader.handle_bytes(bytes) {
            Ok(crate::http::HeadStatus::Partial) => {}
            Ok(crate::http::HeadStatus::Complete { .. }) => {
                self.phase = Phase::Deciding;
                self.push_event(SessionEvent::RequestReady);
            }
            Err(error) => {
                let reason = CloseReason::BadRequest { error };
                self.outbox = Outbox::reject(error.response(), reason);
                self.phase = Phase::Sending;
            }
        }
    }

    /// Acts on every deadline at or before `now`: the request-head timeout, the write stall,
    /// the lease, and the keep-alive (which makes the next [`ServerSession::poll_transmit`]
    /// write a comment).
    ///
    /// Calling it before the next deadline, or again at the same instant, is a harmless no-op.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.observe(now);
    }

    /// Reports that `written` of the bytes handed out by [`ServerSession::poll_transmit`]
    /// reached the transport at `now`. Partial reports are fine; any progress re-arms the
    /// write-stall timer.
    ///
    /// # Errors
    ///
    /// [`WrittenError::MoreThanHandedOut`] if `written` exceeds the bytes handed out and not
    /// yet confirmed; nothing is counted.
    pub fn handle_written(&mut self, now: Instant, written: usize) -> Result<(), WrittenError> {
        let now = self.observe(now);
        if matches!(self.phase, Phase::Closed { .. }) {
            return Ok(());
        }
        if written > self.unconfirmed {
            return Err(WrittenError::MoreThanHandedOut {
                unconfirmed: self.unconfirmed,
                written,
            });
        }
        if written > 0 {
            self.unconfirmed -= written;
            self.progress_at = now;
        }
        self.finish_if_done();
        Ok(())
    }

    /// Reports that the client closed the connection (a read returned end of stream); the
    /// session closes without writing more. An SSE client keeps its side open while it
    /// listens, so a half-close is treated as the client leaving.
    pub fn handle_eof(&mut self, now: Instant) {
        self.observe(now);
        self.close_now(CloseReason::PeerClosed);
    }

    /// Reports that the transport failed, reading or writing; the session closes at once with
    /// [`CloseReason::Io`] and writes nothing more.
    ///
    /// One input for both directions: either way the connection is unusable, nothing more can
    /// be written, and what was handed out and not confirmed is lost.
    pub fn handle_error(&mut self, now: Instant, kind: ErrorKind) {
        self.observe(now);
        self.close_now(CloseReason::Io { kind });
    }

    /// Answers the request as an event stream, when it is one: a `GET` (405 with `Allow: GET`
    /// otherwise) whose `Accept` header, if any, allows `text/event-stream` (400 otherwise; a
    /// browser's EventSource always sends a matching one). A request that passes opens the
    /// stream, starting where its `Last-Event-ID` says in `log`, and keep-alives and the lease
    /// (when configured) start at `now`; one that fails gets the matching error response, and
    /// the session closes once it is written. Routing (404 for an unknown path) is left to the
    /// application, with [`ServerSession::reject`].
    ///
    /// The response is chunked for HTTP/1.1 and close-delimited for HTTP/1.0 or when the config
    /// or `options` ask for it.
    ///
    /// # Errors
    ///
    /// [`AcceptError::RequestNotReady`] before [`SessionEvent::RequestReady`],
    /// [`AcceptError::AlreadyAnswered`] after an accept or reject, [`AcceptError::Closed`] once
    /// closed, and [`AcceptError::InvalidHeaders`] for extra headers the response writer
    /// refuses. The session is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::replay::Ring;
    /// use sansse::server::{AcceptOptions, Decision, ServerConfig, ServerSession};
    /// use sansse::Instant;
    ///
    /// let ring = Ring::<8, 512>::new(1);
    /// let mut storage = [0u8; 512];
    /// let mut session = ServerSession::new(Instant::ZERO, &mut storage, ServerConfig::new());
    /// session.handle_bytes(Instant::ZERO, b"POST /events HTTP/1.1\r\nHost: h\r\n\r\n");
    ///
    /// let decision = session.accept(Instant::ZERO, &ring, AcceptOptions::new())?;
    /// assert_eq!(decision, Decision::Rejected { status: 405 });
    /// # Ok::<(), sansse::server::AcceptError>(())
    /// ```
    pub fn accept<R: ReplayLog<Cursor = C>>(
        &mut self,
        now: Instant,
        log: &R,
        options: AcceptOptions<'buf>,
    ) -> Result<Decision, AcceptError> {
        let now = self.observe(now);
        self.check_undecided()?;
        let Some(head) = self.reader.head() else {
            return Err(AcceptError::RequestNotReady);
        };
        // Options the writer refuses are the caller's mistake whatever the request: refuse
        // them before the checks, so a bad option never hides behind a refusal.
        if let Err(error) = self.stream_response(&head, options).encoded_len() {
            return Err(AcceptError::InvalidHeaders { error });
        }
        match check_request(&head, options.any_method()) {
            Ok(()) => self
                .open_stream(now, log, options)
                .map(|start| Decision::Accepted { start }),
            Err(response) => match self.reject(now, response) {
                Ok(()) => Ok(Decision::Rejected {
                    status: response.status_code(),
                }),
                Err(RejectError::InvalidResponse { error }) => {
                    Err(AcceptError::InvalidHeaders { error })
                }
                Err(RejectError::Closed) => Err(AcceptError::Closed),
                Err(RejectError::AlreadyAnswered) => Err(AcceptError::AlreadyAnswered),
            },
        }
    }

    /// Opens the stream for a request that passed the checks; the phase is `Deciding`.
    fn open_stream<R: ReplayLog<Cursor = C>>(
        &mut self,
        now: Instant,
        log: &R,
        options: AcceptOptions<'buf>,
    ) -> Result<StreamStart, AcceptError> {
        let Some(head) = self.reader.head() else {
            return Err(AcceptError::RequestNotReady);
        };
        let response = self.stream_response(&head, options);
        let resume = log.resume(head.header("last-event-id"));
        let start = match resume {
            Resume::Live(_) => StreamStart::Live,
            Resume::Replay(_) => StreamStart::Replay,
            Resume::Gap { gap, .. } => StreamStart::Gap { gap },
        };
        let retry_ms = self.config.retry().map(crate::ascii::millis);
        let interval = self.config.keepalive();
        self.outbox = Outbox::stream(response, retry_ms, interval, resume);
        self.keepalive = interval.map(|interval| KeepAlive::new(now, interval));
        self.lease = self
            .config
            .lease()
            .map(|duration| Lease::new(now, duration));
        self.phase = Phase::Sending;
        self.push_event(SessionEvent::Accepted { start });
        Ok(start)
    }

    /// The response head that opens the stream for `head`.
    fn stream_response(
        &self,
        head: &RequestHead<'_>,
        options: AcceptOptions<'buf>,
    ) -> StreamResponse<'buf> {
        let framing = if self.config.close_delimited() || options.close_delimited() {
            StreamResponse::close_delimited()
        } else {
            StreamResponse::for_request(head)
        };
        framing.headers(options.headers())
    }

    /// Rejects the request with `response`; the session closes once it is written.
    ///
    /// It may be called before the head is complete, for example to shed load with
    /// `ErrorResponse::service_unavailable` as soon as a connection arrives.
    ///
    /// # Errors
    ///
    /// [`RejectError::AlreadyAnswered`] after an accept or reject, [`RejectError::Closed`] once
    /// closed, and [`RejectError::InvalidResponse`] for a response the writer refuses. The
    /// session is then unchanged.
    pub fn reject(
        &mut self,
        now: Instant,
        response: ErrorResponse<'buf>,
    ) -> Result<(), RejectError> {
        self.observe(now);
        match self.phase {
            Phase::Reading { .. } | Phase::Deciding => {}
            Phase::Sending | Phase::Flushing { .. } => return Err(RejectError::AlreadyAnswered),
            Phase::Closed { .. } => return Err(RejectError::Closed),
        }
        if let Err(error) = response.encoded_len() {
            return Err(RejectError::InvalidResponse { error });
        }
        let status = response.status_code();
        self.outbox = Outbox::reject(response, CloseReason::Rejected { status });
        self.phase = Phase::Sending;
        Ok(())
    }

    /// Ends the session gracefully with the default [`CloseOptions`] (no last event, no
    /// `retry:` block): what was not written yet is dropped, the end of a chunked body is
    /// written, and [`SessionEvent::Closed`] follows once it is confirmed written. Before the
    /// request was accepted there is no stream, so this answers `503 Service Unavailable`
    /// instead.
    ///
    /// A no-op while the session is already closing or closed, as the client's `close` is.
    pub fn close(&mut self, now: Instant) {
        let _ = self.close_with(now, CloseOptions::new());
    }

    /// Ends the session gracefully, as [`ServerSession::close`], writing what `options` ask
    /// for after the dropped output: the optional last event, then the optional `retry:` block,
    /// then the end of a chunked body. Before the request was accepted this answers
    /// `503 Service Unavailable` (with `Retry-After` from the retry time).
    ///
    /// # Errors
    ///
    /// [`CloseError::AlreadyClosing`] while an earlier close, a rejection or an overrun
    /// disconnect is being written, [`CloseError::Closed`] once closed: `options` were not
    /// used.
    pub fn close_with(
        &mut self,
        now: Instant,
        options: CloseOptions<'buf>,
    ) -> Result<(), CloseError> {
        self.observe(now);
        match self.phase {
            Phase::Reading { .. } | Phase::Deciding => {
                let response = ErrorResponse::service_unavailable(options.retry());
                self.outbox = Outbox::reject(response, CloseReason::Requested);
                self.phase = Phase::Sending;
            }
            Phase::Sending if !self.outbox.is_closing() => {
                let reason = CloseReason::Requested;
                self.outbox
                    .begin_close(options.event(), options.retry_ms(), reason);
                self.finish_if_done();
            }
            Phase::Sending | Phase::Flushing { .. } => return Err(CloseError::AlreadyClosing),
            Phase::Closed { .. } => return Err(CloseError::Closed),
        }
        Ok(())
    }

    /// Renews the client's lease from `now`, for example when the client's ping arrives on
    /// another connection.
    ///
    /// # Errors
    ///
    /// [`LeaseError::Disabled`] without a lease in the config, [`LeaseError::NotStreaming`]
    /// before the request was accepted or once the session ends for another reason, and
    /// [`LeaseError::Expired`] once the lease lapsed (the session is then closed).
    pub fn renew_lease(&mut self, now: Instant) -> Result<(), LeaseError> {
        let now = self.observe(now);
        if self.config.lease().is_none() {
            return Err(LeaseError::Disabled);
        }
        let streaming = self.is_streaming();
        let Some(lease) = self.lease.as_mut() else {
            return Err(LeaseError::NotStreaming);
        };
        if let Some(expired) = lease.expired() {
            return Err(LeaseError::Expired { expired });
        }
        if !streaming {
            return Err(LeaseError::NotStreaming);
        }
        lease
            .renew(now)
            .map_err(|expired| LeaseError::Expired { expired })
    }

    /// Writes the next output into `buf` and returns its length: as many whole pieces as fit
    /// (the response head, the stream-start blocks, gap events, events from `log`, a keep-alive
    /// comment, the end of the stream), never part of one, except that an event from `log`
    /// larger than the room left goes out over several calls, nothing else between its parts.
    /// In a chunked stream the body pieces of one call share one chunk. `Ok(None)` means there
    /// is nothing to send now.
    ///
    /// An event evicted from the log while only part of it went out cannot be finished: the
    /// stream then ends ([`CloseReason::Overrun`]) without a gap event, and a last event asked
    /// for with [`ServerSession::close_with`] meanwhile is dropped, since its lines would join
    /// the unfinished ones. The client discards the unfinished event at the end of the stream.
    ///
    /// Every byte handed out must be reported with [`ServerSession::handle_written`] (or
    /// [`ServerSession::handle_error`]); the write-stall timer runs until it is.
    ///
    /// # Errors
    ///
    /// [`TransmitError::BufferTooSmall`] when the next piece does not fit (for an event: not
    /// even its first byte with the chunk framing); `buf` is untouched and the piece waits for
    /// a larger buffer.
    #[must_use = "bytes handed out must be sent and reported with handle_written"]
    pub fn poll_transmit<R: ReplayLog<Cursor = C>>(
        &mut self,
        now: Instant,
        log: &R,
        buf: &mut [u8],
    ) -> Result<Option<usize>, TransmitError> {
        let now = self.observe(now);
        if !matches!(self.phase, Phase::Sending) {
            return Ok(None);
        }
        let events = &mut self.events;
        let result = self
            .outbox
            .transmit(log, &self.config, buf, |gap| push_gap(events, gap));
        let written = match result {
            Ok(written) => written,
            Err(error) => {
                self.finish_if_done();
                return Err(error);
            }
        };
        if written > 0 {
            if self.unconfirmed == 0 {
                self.progress_at = now;
            }
            self.unconfirmed = self.unconfirmed.saturating_add(written);
            if let Some(keepalive) = self.keepalive.as_mut() {
                keepalive.handle_write(now);
            }
        }
        self.finish_if_done();
        Ok((written > 0).then_some(written))
    }

    /// The next step of the connection's story, oldest first; `None` when there is none.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// The instant [`ServerSession::handle_timeout`] is next needed; `None` when no timer runs.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.poll_deadline().map(|deadline| deadline.at)
    }

    /// The next deadline with the timer it belongs to, for logs and tests.
    ///
    /// When several timers fall due at once, the one that ends the session is named.
    #[must_use]
    pub fn poll_deadline(&self) -> Option<Deadline> {
        let deadline = |at: Option<Instant>, reason| at.map(|at| Deadline { at, reason });
        let timers = match self.phase {
            Phase::Reading { deadline: at } => {
                [deadline(Some(at), TimerReason::RequestHead), None, None]
            }
            Phase::Sending | Phase::Flushing { .. } => {
                let streaming = self.is_streaming();
                let lease = self.lease.as_ref().filter(|_| streaming);
                let keepalive = self.keepalive.as_ref().filter(|_| streaming);
                [
                    deadline(self.stall_deadline(), TimerReason::WriteStall),
                    deadline(lease.and_then(Lease::poll_timeout), TimerReason::Lease),
                    deadline(
                        keepalive.and_then(KeepAlive::poll_timeout),
                        TimerReason::KeepAlive,
                    ),
                ]
            }
            Phase::Deciding | Phase::Closed { .. } => [None; 3],
        };
        // Earliest first; on a tie the timer that closes the session is named, as it fires
        // first.
        timers
            .into_iter()
            .flatten()
            .min_by_key(|d| (d.at, d.reason))
    }

    /// The request head, once complete (and for the rest of the session).
    pub fn request(&self) -> Option<RequestHead<'_>> {
        self.reader.head()
    }

    /// Where the session stands.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Reading { .. } => State::ReadingRequest,
            Phase::Deciding => State::AwaitingDecision,
            Phase::Sending if self.outbox.is_closing() => State::Closing,
            Phase::Sending => State::Streaming,
            Phase::Flushing { .. } => State::Closing,
            Phase::Closed { .. } => State::Closed,
        }
    }

    /// Why the session ended, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        match self.phase {
            Phase::Closed { reason } => Some(reason),
            _ => None,
        }
    }

    /// Bytes handed out by [`ServerSession::poll_transmit`] and not yet confirmed written.
    pub fn unconfirmed(&self) -> usize {
        self.unconfirmed
    }

    /// The session's position in the replay log while the stream is live.
    pub fn cursor(&self) -> Option<C> {
        self.outbox.cursor()
    }

    /// The latest instant the session has seen; earlier inputs are clamped to it.
    pub fn now(&self) -> Instant {
        self.clock.last()
    }

    /// Clamps `now` and acts on every deadline at or before it.
    fn observe(&mut self, now: Instant) -> Instant {
        let now = self.clock.observe(now);
        self.fire_timers(now);
        now
    }

    fn fire_timers(&mut self, now: Instant) {
        match self.phase {
            Phase::Reading { deadline } if now >= deadline => {
                self.close_now(CloseReason::HeadTimeout);
            }
            Phase::Sending | Phase::Flushing { .. } => {
                if self
                    .stall_deadline()
                    .is_some_and(|deadline| now >= deadline)
                {
                    let reason = CloseReason::WriteStalled {
                        unconfirmed: self.unconfirmed,
                        since: self.progress_at,
                    };
                    self.close_now(reason);
                    return;
                }
                if !self.is_streaming() {
                    return;
                }
                let lapsed = self
                    .lease
                    .as_mut()
                    .and_then(|lease| lease.handle_timeout(now));
                if let Some(expired) = lapsed {
                    self.close_now(CloseReason::LeaseExpired { expired });
                    return;
                }
                if self
                    .keepalive
                    .as_mut()
                    .is_some_and(|keepalive| keepalive.handle_timeout(now))
                {
                    self.outbox.set_keepalive_due();
                }
            }
            Phase::Reading { .. } | Phase::Deciding | Phase::Closed { .. } => {}
        }
    }

    /// Answering is allowed only while the request waits for it.
    fn check_undecided(&self) -> Result<(), AcceptError> {
        match self.phase {
            Phase::Deciding => Ok(()),
            Phase::Reading { .. } => Err(AcceptError::RequestNotReady),
            Phase::Sending | Phase::Flushing { .. } => Err(AcceptError::AlreadyAnswered),
            Phase::Closed { .. } => Err(AcceptError::Closed),
        }
    }

    /// Accepted, and not closing.
    fn is_streaming(&self) -> bool {
        matches!(self.phase, Phase::Sending) && !self.outbox.is_closing()
    }

    fn stall_deadline(&self) -> Option<Instant> {
        if self.unconfirmed == 0 {
            return None;
        }
        let timeout = self.config.write_timeout()?;
        // At least 1 ms: bytes handed out and confirmed at the same instant never stall.
        Some(self.progress_at + timeout.max(Duration::from_millis(1)))
    }

    /// Moves on once everything owed was written, then once it was confirmed.
    fn finish_if_done(&mut self) {
        if let Phase::Sending = self.phase {
            if let Some(reason) = self.outbox.finished() {
                self.phase = Phase::Flushing { reason };
            }
        }
        if let Phase::Flushing { reason } = self.phase {
            if self.unconfirmed == 0 {
                self.close_now(reason);
            }
        }
    }

    /// Ends the session at once: nothing more is written.
    fn close_now(&mut self, reason: CloseReason) {
        if matches!(self.phase, Phase::Closed { .. }) {
            return;
        }
        self.phase = Phase::Closed { reason };
        self.outbox = Outbox::idle();
        self.keepalive = None;
        self.push_event(SessionEvent::Closed { reason });
    }

    fn push_event(&mut self, event: SessionEvent) {
        // The queue holds the longest story (see EVENT_SLOTS), so this never drops.
        let _ = self.events.push_back(event);
    }
}

/// The checks [`ServerSession::accept`] applies: `GET` only, and an `Accept` that allows
/// `text/event-stream`; the error response to send otherwise.
fn check_request(
    request: &RequestHead<'_>,
    any_method: bool,
) -> Result<(), ErrorResponse<'static>> {
    if !any_method && request.method() != "GET" {
        return Err(ErrorResponse::method_not_allowed("GET"));
    }
    if !request.accepts_event_stream() {
        return Err(ErrorResponse::bad_request());
    }
    Ok(())
}

/// How [`ServerSession::accept`] answered the request.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Decision {
    /// The request is for an event stream, and the stream opened.
    Accepted {
        /// Where the stream starts.
        start: StreamStart,
    },
    /// The request is not for an event stream (not a `GET`, or an `Accept` header without
    /// `text/event-stream`); the error response is being sent.
    Rejected {
        /// The status code sent.
        status: u16,
    },
}

/// Room for the longest story: RequestReady, Accepted, a resume gap, coalesced overrun gaps,
/// Closed.
const EVENT_SLOTS: usize = 6;

/// Where a session is in its life; see the module docs.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Reading the request head, which must be complete by `deadline`.
    Reading { deadline: Instant },
    /// The head is complete; waiting for accept or reject.
    Deciding,
    /// The outbox owes output: a stream, an error response, or the end of a stream.
    Sending,
    /// Everything owed was handed out; waiting for the shell to confirm it.
    Flushing { reason: CloseReason },
    /// Over.
    Closed { reason: CloseReason },
}

/// Queues a gap report, adding consecutive overruns up so the queue stays bounded.
fn push_gap(events: &mut Deque<SessionEvent, EVENT_SLOTS>, gap: Gap) {
    if let (
        Some(SessionEvent::GapSent {
            gap: Gap::Overrun { missed },
        }),
        Gap::Overrun { missed: more },
    ) = (events.back_mut(), gap)
    {
        *missed = missed.saturating_add(more);
        return;
    }
    let _ = events.push_back(SessionEvent::GapSent { gap });
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::replay::Ring;
    use std::string::ToString;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    const REQUEST: &[u8] = b"GET /e HTTP/1.1\r\nHost: h\r\n\r\n";

    #[test]
    fn overrun_reports_coalesce_but_other_gaps_stay_apart() {
        let mut events = Deque::new();

        push_gap(&mut events, Gap::Evicted { missed: 1 });
        push_gap(&mut events, Gap::Overrun { missed: 2 });
        push_gap(&mut events, Gap::Overrun { missed: 3 });

        let gaps: [Option<SessionEvent>; 3] = core::array::from_fn(|_| events.pop_front());
        assert_eq!(
            gaps,
            [
                Some(SessionEvent::GapSent {
                    gap: Gap::Evicted { missed: 1 }
                }),
                Some(SessionEvent::GapSent {
                    gap: Gap::Overrun { missed: 5 }
                }),
                None
            ]
        );
    }

    #[test]
    fn the_longest_story_fits_the_event_queue() {
        let mut ring = Ring::<2, 256>::new(1);
        for _ in 0..4 {
            ring.publish(None, "x").unwrap();
        }
        let mut storage = [0u8; 256];
        let config = ServerConfig::new().with_keepalive(None);
        let mut session = ServerSession::new(at(0), &mut storage, config);
        session.handle_bytes(
            at(0),
            b"GET /e HTTP/1.1\r\nHost: h\r\nLast-Event-ID: 1-1\r\n\r\n",
        );
        session.accept(at(0), &ring, AcceptOptions::new()).unwrap();
        let mut buf = [0u8; 1024];

        // Resume gap, then two overruns, then a close, all before the application drains.
        for round in 0..3 {
            while let Some(n) = session.poll_transmit(at(round), &ring, &mut buf).unwrap() {
                session.handle_written(at(round), n).unwrap();
            }
            for _ in 0..3 {
                ring.publish(None, "y").unwrap();
            }
        }
        session.close(at(9));
        while let Some(n) = session.poll_transmit(at(9), &ring, &mut buf).unwrap() {
            session.handle_written(at(9), n).unwrap();
        }

        let story: heapless::Vec<SessionEvent, 8> =
            core::iter::from_fn(|| session.poll_event()).collect();
        assert_eq!(
            story,
            [
                SessionEvent::RequestReady,
                SessionEvent::Accepted {
                    start: StreamStart::Gap {
                        gap: Gap::Evicted { missed: 1 }
                    }
                },
                SessionEvent::GapSent {
                    gap: Gap::Evicted { missed: 1 }
                },
                SessionEvent::GapSent {
                    gap: Gap::Overrun { missed: 2 }
                },
                SessionEvent::Closed {
                    reason: CloseReason::Requested
                },
            ]
        );
    }

    /// Un-chunks a chunked body, checking every chunk is whole.
    fn dechunk(mut wire: &[u8]) -> std::vec::Vec<u8> {
        let mut body = std::vec::Vec::new();
        while let Some(line) = wire.windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(core::str::from_utf8(&wire[..line]).unwrap(), 16).unwrap();
            body.extend_from_slice(&wire[line + 2..line + 2 + size]);
            assert_eq!(&wire[line + 2 + size..line + 4 + size], b"\r\n");
            wire = &wire[line + 4 + size..];
        }
        assert!(wire.is_empty(), "a partial chunk");
        body
    }

    /// A session on `ring` past its head and stream-start blocks.
    fn streaming<'s>(ring: &Ring<2, 8192>, storage: &'s mut [u8]) -> ServerSession<'s> {
        let config = ServerConfig::new().with_keepalive(None);
        let mut session = ServerSession::new(at(0), storage, config);
        session.handle_bytes(at(0), REQUEST);
        session.accept(at(0), ring, AcceptOptions::new()).unwrap();
        let mut buf = [0u8; 512];
        let n = session
            .poll_transmit(at(0), ring, &mut buf)
            .unwrap()
            .unwrap();
        session.handle_written(at(0), n).unwrap();
        session
    }

    #[test]
    fn an_event_larger_than_the_buffer_goes_out_in_pieces_with_nothing_between() {
        let mut ring = Ring::<2, 8192>::new(1);
        let mut storage = [0u8; 256];
        let mut session = streaming(&ring, &mut storage);
        let data = "0123456789".repeat(300);
        ring.publish(None, &data).unwrap();
        ring.publish(None, "small").unwrap();
        let big = ring
            .event(crate::replay::EventSeq::new(1))
            .unwrap()
            .to_vec();

        let mut wire = std::vec::Vec::new();
        let mut buf = [0u8; 100];
        let mut polls = 0;
        while let Some(n) = session.poll_transmit(at(1), &ring, &mut buf).unwrap() {
            wire.extend_from_slice(&buf[..n]);
            session.handle_written(at(1), n).unwrap();
            // A keep-alive due halfway must not land inside the event.
            if polls < 10 {
                session.outbox.set_keepalive_due();
            }
            polls += 1;
        }

        let body = dechunk(&wire);
        assert!(polls > 30, "{polls} polls");
        assert_eq!(&body[..big.len()], &big[..]);
        assert_eq!(&body[big.len()..], b"id: 1-2\ndata: small\n\n");
        assert_eq!(session.cursor(), Some(ring.live_cursor()));
    }

    #[test]
    fn an_event_evicted_halfway_ends_the_stream_with_nothing_after_it() {
        let mut ring = Ring::<2, 8192>::new(1);
        let mut storage = [0u8; 256];
        let mut session = streaming(&ring, &mut storage);
        ring.publish(None, &"x".repeat(1000)).unwrap();
        let mut buf = [0u8; 100];
        let n = session
            .poll_transmit(at(1), &ring, &mut buf)
            .unwrap()
            .unwrap();
        session.handle_written(at(1), n).unwrap();
        // Two more events evict the half-written one.
        ring.publish(None, "a").unwrap();
        ring.publish(None, "b").unwrap();

        let n = session
            .poll_transmit(at(2), &ring, &mut buf)
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"0\r\n\r\n");
        session.handle_written(at(2), n).unwrap();
        assert_eq!(
            session.close_reason(),
            Some(CloseReason::Overrun { missed: 1 })
        );
    }

    #[test]
    fn a_buffer_without_room_for_one_byte_of_event_is_refused_with_the_size_that_suffices() {
        let mut ring = Ring::<2, 8192>::new(1);
        let mut storage = [0u8; 256];
        let mut session = streaming(&ring, &mut storage);
        ring.publish(None, "hello").unwrap();
        let mut tiny = [0u8; 4];

        let Err(TransmitError::BufferTooSmall(crate::BufferTooSmall { needed })) =
            session.poll_transmit(at(1), &ring, &mut tiny)
        else {
            panic!("expected a refusal");
        };

        assert_eq!(tiny, [0; 4]);
        let mut enough = std::vec![0u8; needed];
        let n = session
            .poll_transmit(at(1), &ring, &mut enough)
            .unwrap()
            .unwrap();
        assert!(n > 0);
    }

    #[test]
    fn state_follows_the_phases() {
        let ring = Ring::<2, 256>::new(1);
        let mut storage = [0u8; 256];
        let mut session = ServerSession::new(at(0), &mut storage, ServerConfig::new());
        assert_eq!(session.state(), State::ReadingRequest);

        session.handle_bytes(at(0), REQUEST);
        assert_eq!(session.state(), State::AwaitingDecision);
        session.accept(at(0), &ring, AcceptOptions::new()).unwrap();
        assert_eq!(session.state(), State::Streaming);
        assert_eq!(session.cursor(), Some(ring.live_cursor()));
        session.close(at(0));
        assert_eq!(session.state(), State::Closing);
        assert_eq!(session.cursor(), None);
        let mut buf = [0u8; 512];
        let n = session
            .poll_transmit(at(0), &ring, &mut buf)
            .unwrap()
            .unwrap();
        // Everything was handed out; the session waits for the confirmation.
        assert!(matches!(session.phase, Phase::Flushing { .. }));
        assert_eq!(session.state(), State::Closing);
        session.handle_written(at(0), n).unwrap();
        assert_eq!(session.state(), State::Closed);
        assert_eq!(session.close_reason(), Some(CloseReason::Requested));
    }

    #[test]
    fn a_zero_write_timeout_still_allows_confirming_at_the_same_instant() {
        let ring = Ring::<2, 256>::new(1);
        let mut storage = [0u8; 256];
        let config = ServerConfig::new().with_write_timeout(Some(Duration::ZERO));
        let mut session = ServerSession::new(at(0), &mut storage, config);
        session.handle_bytes(at(0), REQUEST);
        session.accept(at(0), &ring, AcceptOptions::new()).unwrap();
        let mut buf = [0u8; 512];

        let n = session
            .poll_transmit(at(5), &ring, &mut buf)
            .unwrap()
            .unwrap();

        assert_eq!(
            session.poll_deadline(),
            Some(Deadline {
                at: at(6),
                reason: TimerReason::WriteStall
            })
        );
        assert_eq!(session.handle_written(at(5), n), Ok(()));
        assert_eq!(session.state(), State::Streaming);
    }

    #[test]
    fn errors_and_reasons_display_short_and_lowercase() {
        let texts = [
            AcceptError::RequestNotReady.to_string(),
            RejectError::AlreadyAnswered.to_string(),
            TransmitError::BufferTooSmall(crate::BufferTooSmall { needed: 7 }).to_string(),
            WrittenError::MoreThanHandedOut {
                unconfirmed: 1,
                written: 2,
            }
            .to_string(),
            LeaseError::Disabled.to_string(),
            CloseError::AlreadyClosing.to_string(),
            CloseReason::Overrun { missed: 3 }.to_string(),
            Deadline {
                at: at(5),
                reason: TimerReason::KeepAlive,
            }
            .to_string(),
        ];

        assert_eq!(
            texts,
            [
                "request head not complete",
                "request already answered",
                "buffer too small: 7 bytes needed",
                "2 bytes reported written but only 1 unconfirmed",
                "leases are off",
                "session already closing",
                "reader fell behind: 3 events missed",
                "keep-alive at 5ms",
            ]
        );
    }
}
