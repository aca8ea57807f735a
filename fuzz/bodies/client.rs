//! Body of the `client` fuzz target, shared by the cargo-fuzz wrapper
//! (`fuzz/fuzz_targets/client.rs`) and the stable tests (`tests/fuzz_replay.rs`,
//! `tests/client_fuzz.rs`), which include this file with `#[path]`.
//!
//! The input drives a whole `ClientSession` as a hostile world would: a setup (resume mode,
//! pings, parser size, backoff shape, limits), then operations — connects, response heads
//! (valid, redirecting, retrying, refusing, garbage), body bytes in any framing and any split,
//! messages dropped half read, EOFs, errors, acks, pongs, link changes, time jumps forwards and
//! backwards. A reference `Parser` of the same size is fed the same payload bytes, reset where
//! the session's connection ends, and tells what the session must deliver.
//!
//! Invariants checked after every step:
//!
//! 1. nothing panics;
//! 2. every reconnect delay lies within the backoff's bounds for its attempt, given the
//!    reconnection time in force ([`check_delay`]);
//! 3. every request's `Last-Event-ID` is the id of a fully dispatched event block (one the
//!    reference parser committed), the initial one, or in acknowledged mode the id acknowledged
//!    last; never the id of an event cut off by a disconnect. On a stream that garbage opened
//!    (the reference cannot follow its framing) the ids the session dispatches are recorded as
//!    they happen;
//! 4. the messages handed out are exactly the reference's (a prefix of them when the
//!    application stops reading early), and the resume id is the reference's;
//! 5. after `handle_timeout(now)` no deadline is at or before the clamped `now`;
//! 6. every `Connect` is matched by one `Disconnect` before the next, request bytes flow only on
//!    a connection that is up, and a closed session never connects again.

use std::collections::HashSet;

use core::time::Duration;

use sansse::Instant;
use sansse::backoff::{BackoffConfig, DelayReason};
use sansse::client::{
    Action, ClientBuffers, ClientConfig, ClientSession, CloseReason, ReconnectReason, ResumeMode,
    SessionEvent, State,
};
use sansse::heartbeat::PingConfig;
use sansse::http::{encode_chunk, encode_last_chunk};
use sansse::parse::{Output, ParseError, Parser};

/// Parser buffer sizes the setup picks from: tiny ones make oversized events common.
const PARSER_SIZES: [usize; 4] = [64, 256, 1024, 4096];
/// The id a session may start from.
const INITIAL_ID: &str = "init-0";

/// Runs one fuzz input.
pub(crate) fn client(data: &[u8]) {
    run(data);
}

/// What a run went through, so tests can tell that inputs reach deep states.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Coverage {
    pub(crate) opened: usize,
    pub(crate) messages: usize,
    pub(crate) compared: usize,
    pub(crate) reconnects: usize,
    pub(crate) undelivered: usize,
    pub(crate) requests_checked: usize,
    pub(crate) closed: bool,
}

/// Runs one fuzz input and says how far it got.
pub(crate) fn run(data: &[u8]) -> Coverage {
    let mut input = Cursor(data);
    let setup = Setup::decode(&mut input);
    let mut parser_buf = vec![0u8; setup.parser_size];
    let mut head_buf = vec![0u8; 512];
    let mut transmit_buf = vec![0u8; 512];
    let mut redirect_buf = vec![0u8; 96];
    let buffers = ClientBuffers {
        parser: &mut parser_buf,
        head: &mut head_buf,
        transmit: &mut transmit_buf,
        redirect: &mut redirect_buf,
    };
    let session = ClientSession::new(Instant::ZERO, setup.config, buffers, setup.seed)
        .expect("the fuzz configs are valid");
    let mut sim = Sim::new(session, &setup);
    sim.settle();
    while !input.0.is_empty() {
        sim.step(&mut input);
        sim.settle();
    }
    sim.coverage.closed = sim.closed;
    sim.coverage
}

/// Reads the input byte by byte; an exhausted input reads as zeros.
pub(crate) struct Cursor<'a>(pub(crate) &'a [u8]);

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        taken
    }
}

/// What the first four bytes choose.
struct Setup {
    config: ClientConfig<'static>,
    seed: u64,
    parser_size: usize,
}

impl Setup {
    fn decode(input: &mut Cursor<'_>) -> Self {
        let [a, b, c, d] = [input.byte(), input.byte(), input.byte(), input.byte()];
        let mut backoff = BackoffConfig::new()
            .with_reconnection_time(Duration::from_millis(1 + u64::from(c) * 37))
            .with_factor(u32::from(c % 4))
            .with_max_backoff(Duration::from_millis(1 + u64::from(d) * 211))
            .with_jitter_percent(b % 101)
            .with_max_retry_after(Duration::from_secs(u64::from(b % 8) * 30));
        if a & 0x10 != 0 {
            backoff = backoff.with_max_attempts(3 + u32::from(d % 5));
        }
        let mut config = ClientConfig::new("origin.test", "/events")
            .with_backoff(backoff)
            .with_connect_timeout(Duration::from_millis(1 + u64::from(d) * 97))
            .with_max_redirects(a >> 6);
        if a & 1 != 0 {
            config = config.with_resume(ResumeMode::Acknowledged);
        }
        if a & 2 != 0 {
            let ping = PingConfig::new(
                Duration::from_millis(50 + u64::from(b) * 10),
                Duration::from_millis(10 + u64::from(c) * 5),
            );
            config = config.with_ping(ping);
        }
        if a & 0x20 != 0 {
            config = config.with_last_event_id(INITIAL_ID);
        }
        Self {
            config,
            seed: u64::from_le_bytes([a, b, c, d, a, b, c, d]),
            parser_size: PARSER_SIZES[usize::from((a >> 2) & 3)],
        }
    }
}

/// How the harness framed the body of the open connection.
#[derive(Clone, Copy, Debug)]
enum Framing {
    Close,
    Chunked,
    Length(usize),
}

/// An output of the session or the reference, owned.
#[derive(Clone, Debug, Eq, PartialEq)]
enum Item {
    Event(String, String, String),
    Error(ParseError),
}

/// The world around one session: the shell, the server and the reference parser.
struct Sim<'b> {
    session: ClientSession<'b>,
    /// The time the harness passes (it may go backwards) and the latest one passed.
    now: Instant,
    latest: Instant,
    reference: Parser<Vec<u8>>,
    /// Every id the reference ever committed, plus the initial one: what a request may carry.
    committed: HashSet<String>,
    mode: ResumeMode,
    backoff: BackoffConfig,
    /// The reconnection time in force, from the story events.
    retry_ms: u64,
    /// The acknowledged id, from `PersistId` events.
    acked: String,
    /// A `Connect` was handed out and its `Disconnect` not yet.
    socket: bool,
    connected: bool,
    /// The request bytes of the current connection, and the id it must carry.
    request: Vec<u8>,
    expected_id: Option<String>,
    /// Set while the open connection's body is framed by the harness; `None` with `open` set
    /// means a garbage head happened to open a stream the harness cannot mirror.
    framing: Option<Framing>,
    open: bool,
    /// The reference is not fed (garbage opened the stream); the session's id is recorded after
    /// every feed and the reference resynchronised when the stream ends.
    untracked: bool,
    closed: bool,
    transmit_chunk: usize,
    /// After an early drop: whether the events that follow must include an `Undelivered`
    /// reconnect.
    expect_undelivered: Option<bool>,
    coverage: Coverage,
}

impl<'b> Sim<'b> {
    fn new(session: ClientSession<'b>, setup: &Setup) -> Self {
        let mut reference = Parser::with_buffer(vec![0u8; setup.parser_size]);
        let initial = setup.config.last_event_id();
        reference
            .set_last_event_id(initial)
            .expect("the initial id fits");
        let backoff = setup.config.backoff();
        Self {
            session,
            now: Instant::ZERO,
            latest: Instant::ZERO,
            reference,
            committed: HashSet::from([String::new(), initial.to_owned()]),
            mode: setup.config.resume(),
            retry_ms: clamp_reconnection(&backoff, millis(backoff.reconnection_time())),
            backoff,
            acked: initial.to_owned(),
            socket: false,
            connected: false,
            request: Vec::new(),
            expected_id: None,
            framing: None,
            open: false,
            untracked: false,
            closed: false,
            transmit_chunk: 64,
            expect_undelivered: None,
            coverage: Coverage::default(),
        }
    }

    /// Runs one operation.
    fn step(&mut self, input: &mut Cursor<'_>) {
        let op = input.byte();
        match op % 16 {
            0 | 1 => self.connected(input),
            2 => self.respond(input),
            3..=5 => self.body(input),
            6 => self.body_dropped_early(input),
            7 => self.end_body(),
            8 => self.session.handle_eof(self.now),
            9 => self
                .session
                .handle_error(self.now, sansse::client::ErrorKind::ConnectionReset),
            10 => self.timeout_at_deadline(),
            11 => {
                let jump = u64::from(input.byte()) * [1, 10, 100, 1000][usize::from(op >> 6)];
                self.tick(Instant::from_millis(
                    self.now.as_millis().saturating_add(jump),
                ));
            }
            12 => {
                let back = u64::from(input.byte()) * 10;
                self.tick(Instant::from_millis(
                    self.now.as_millis().saturating_sub(back),
                ));
            }
            13 => self.ack(op >> 4),
            14 => match op >> 4 {
                0..=5 => self.session.handle_link_down(self.now),
                6..=11 => self.session.handle_link_up(self.now),
                12..=14 => self.session.handle_pong(self.now),
                _ => self.session.close(self.now),
            },
            _ => self.garbage(input),
        }
    }

    /// Drains actions, transmit bytes and story events, checking each.
    fn settle(&mut self) {
        while let Some(action) = self.session.poll_action() {
            match action {
                Action::Connect { .. } => {
                    assert!(!self.socket, "Connect while a connection is open");
                    assert!(!self.closed, "Connect after Closed");
                    self.socket = true;
                }
                Action::Disconnect => {
                    assert!(self.socket, "Disconnect without a connection");
                    self.socket = false;
                    self.connected = false;
                    self.end_of_connection();
                }
                Action::SendPing => assert_eq!(self.session.state(), State::Open),
                _ => {}
            }
        }
        let mut buf = vec![0u8; self.transmit_chunk];
        while let Some(n) = self.session.poll_transmit(self.now, &mut buf) {
            assert!(
                self.connected,
                "request bytes on a connection that is not up"
            );
            assert!(n <= buf.len());
            self.request.extend_from_slice(&buf[..n]);
            if n == 0 {
                break;
            }
        }
        if self.connected {
            if let Some(expected) = self.expected_id.take() {
                self.coverage.requests_checked += 1;
                assert_eq!(
                    request_id(&self.request),
                    expected,
                    "Last-Event-ID of {:?}",
                    String::from_utf8_lossy(&self.request)
                );
            }
        }
        let mut ended = false;
        let mut undelivered = false;
        let mut gave_up = false;
        while let Some(event) = self.session.poll_event() {
            match event {
                SessionEvent::RetryChanged(time) => self.retry_ms = millis(time),
                SessionEvent::Reconnecting { delay, reason } => {
                    check_delay(&self.backoff, self.retry_ms, &delay);
                    self.coverage.reconnects += 1;
                    if reason == ReconnectReason::Undelivered {
                        self.coverage.undelivered += 1;
                        undelivered = true;
                    }
                    ended = true;
                }
                SessionEvent::PersistId(id) => {
                    assert!(
                        self.committed.contains(id),
                        "acknowledged id {id:?} was never dispatched"
                    );
                    self.acked = id.to_owned();
                }
                SessionEvent::Closed { reason } => {
                    gave_up |= matches!(reason, CloseReason::GaveUp(_));
                    self.closed = true;
                    ended = true;
                }
                SessionEvent::WaitingForLink | SessionEvent::Redirected { .. } => ended = true,
                SessionEvent::Open { .. } => {}
                _ => {}
            }
        }
        if let Some(expected) = self.expect_undelivered.take() {
            // Giving up is how a reconnect ends once the backoff's limits are reached.
            let reconnected = undelivered || (expected && gave_up);
            assert_eq!(
                reconnected, expected,
                "undelivered events and reconnects disagree"
            );
            if expected {
                self.resync();
            }
        }
        if ended {
            self.end_of_connection();
        }
        if self.closed {
            assert_eq!(self.session.state(), State::Closed);
            assert_eq!(self.session.poll_timeout(), None);
        }
        if self.mode == ResumeMode::Dispatched && !self.untracked {
            assert_eq!(
                self.session.last_event_id(),
                self.reference.last_event_id(),
                "resume id differs from the reference"
            );
        }
    }

    /// The session ended its connection: the reference forgets the partial event too.
    fn end_of_connection(&mut self) {
        self.open = false;
        self.framing = None;
        if self.untracked {
            self.resync();
            self.untracked = false;
        }
        self.reference.reset();
        if self.mode == ResumeMode::Acknowledged {
            self.reference
                .set_last_event_id(&self.acked)
                .expect("acknowledged ids fit");
        }
    }

    /// Takes the session's last event ID as the reference's after a stretch the reference could
    /// not follow exactly (an early drop stops at an event the reference went past).
    fn resync(&mut self) {
        let id = self.session.last_event_id().to_owned();
        if self.mode == ResumeMode::Dispatched && !self.untracked {
            assert!(
                self.committed.contains(&id),
                "id {id:?} after an early drop was never dispatched"
            );
        }
        self.reference.set_last_event_id(&id).expect("ids fit");
        self.committed.insert(id);
    }

    fn connected(&mut self, input: &mut Cursor<'_>) {
        self.transmit_chunk = usize::from(input.byte() % 64) + 1;
        let was_waiting =
            self.socket && !self.connected && self.session.state() == State::Connecting;
        let resume = header_safe(self.session.resume_id()).to_owned();
        assert!(
            self.committed.contains(&resume) || resume == self.acked,
            "resume id {resume:?} was never dispatched"
        );
        let result = if input.byte() & 1 == 0 {
            self.session.handle_connected(self.now)
        } else {
            self.session
                .handle_connected_with_headers(self.now, &[("Authorization", "Bearer t")])
        };
        assert!(result.is_ok(), "{result:?}");
        if was_waiting {
            self.connected = true;
            self.request.clear();
            let expected = match self.mode {
                ResumeMode::Acknowledged => header_safe(&self.acked).to_owned(),
                _ => resume,
            };
            self.expected_id = Some(expected);
        }
    }

    /// A response head, valid or not, possibly in two pieces.
    fn respond(&mut self, input: &mut Cursor<'_>) {
        let kind = input.byte();
        let (head, framing) = match kind % 12 {
            0..=2 => (SSE.to_owned(), Framing::Close),
            3..=5 => (SSE_CHUNKED.to_owned(), Framing::Chunked),
            6 => {
                let len = usize::from(input.byte());
                (
                    format!("{SSE_BARE}Content-Length: {len}\r\n\r\n"),
                    Framing::Length(len),
                )
            }
            7 => ("HTTP/1.1 204 No Content\r\n\r\n".to_owned(), Framing::Close),
            8 => (
                format!(
                    "HTTP/1.1 {} Busy\r\nRetry-After: {}\r\n\r\n",
                    [503, 429, 500, 408][usize::from(kind >> 6)],
                    input.byte()
                ),
                Framing::Close,
            ),
            9 => (
                format!(
                    "HTTP/1.1 {} Moved\r\nLocation: {}\r\n\r\n",
                    [301, 302, 303, 307, 308, 302, 307, 303][usize::from((kind >> 4) & 7)],
                    [
                        "/next",
                        "http://other.test:81/x",
                        "../up?q=1",
                        "//origin.test/y"
                    ][usize::from(kind >> 6)],
                ),
                Framing::Close,
            ),
            10 => (
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n".to_owned(),
                Framing::Close,
            ),
            _ => ("HTTP/1.1 404 Not Found\r\n\r\n".to_owned(), Framing::Close),
        };
        let cut = usize::from(input.byte()) % (head.len() + 1);
        if self.open {
            // On an open stream a head would be payload the reference is not shown.
            return;
        }
        let was_reading_head = self.connected && self.session.state() == State::Connecting;
        for piece in [&head.as_bytes()[..cut], &head.as_bytes()[cut..]] {
            let mut messages = self.session.handle_bytes(self.now, piece);
            assert!(messages.next().is_none(), "a head alone holds no messages");
        }
        if was_reading_head && self.session.state() == State::Open {
            self.coverage.opened += 1;
            self.open = true;
            self.framing = Some(framing);
        }
    }

    /// Random bytes as a head (or as body, on a stream the harness cannot mirror).
    fn garbage(&mut self, input: &mut Cursor<'_>) {
        let len = usize::from(input.byte() % 64);
        let bytes = input.bytes(len).to_vec();
        self.unmirrored(&bytes);
    }

    /// Feeds bytes the reference does not see: anything before a stream is open (a head, or
    /// bytes the session ignores), or the body of a stream garbage opened.
    fn unmirrored(&mut self, bytes: &[u8]) {
        if self.open && !self.untracked {
            // On a framed stream these would be payload the reference is not shown.
            return;
        }
        let was_reading_head = self.connected && self.session.state() == State::Connecting;
        drain(self.session.handle_bytes(self.now, bytes));
        if was_reading_head && self.session.state() == State::Open {
            self.open = true;
            self.untracked = true;
        }
        if self.untracked {
            // The reference cannot follow a stream garbage opened (its framing is whatever the
            // garbage says), but the session may dispatch blocks on it, id-only ones included,
            // and those ids are then legitimately what a request or an ack carries, before the
            // connection ends. So they are recorded as they happen, as `resync` does at the end:
            // recording them only at the end let a check in between see an id it did not know.
            self.committed
                .insert(self.session.last_event_id().to_owned());
        }
    }

    /// Payload bytes, framed as the head said and fed in up to three pieces.
    fn body(&mut self, input: &mut Cursor<'_>) {
        let len = usize::from(input.byte() % 96);
        let payload = input.bytes(len).to_vec();
        let split = input.byte();
        let cuts = [usize::from(input.byte()), usize::from(input.byte())];
        let Some((wire, payload)) = self.frame(&payload, split) else {
            self.unmirrored(&payload);
            return;
        };
        let mut got = Vec::new();
        let mut at = 0;
        for cut in [cuts[0].min(cuts[1]), cuts[0].max(cuts[1]), usize::MAX] {
            let end = cut.min(wire.len()).max(at);
            got.extend(drain(self.session.handle_bytes(self.now, &wire[at..end])));
            at = end;
        }
        let want = self.feed_reference(&payload);
        assert_eq!(got, want, "messages differ from the reference");
        self.coverage.compared += 1;
        self.coverage.messages += got.len();
    }

    /// Payload fed in one piece, the messages dropped after `take` items.
    fn body_dropped_early(&mut self, input: &mut Cursor<'_>) {
        let take = usize::from(input.byte() % 4);
        let len = usize::from(input.byte() % 96);
        let payload = input.bytes(len).to_vec();
        let Some((wire, payload)) = self.frame(&payload, input.byte()) else {
            self.unmirrored(&payload);
            return;
        };
        let mut got = Vec::new();
        let mut messages = self.session.handle_bytes(self.now, &wire);
        while got.len() < take {
            let Some(item) = messages.next() else { break };
            got.push(item_of(item));
        }
        drop(messages);
        let want = self.feed_reference(&payload);
        assert!(
            want.starts_with(&got),
            "early-dropped messages are not a prefix"
        );
        // An event left unseen must cost a reconnect; none left, none.
        let unseen = want[got.len()..]
            .iter()
            .any(|item| matches!(item, Item::Event(..)));
        self.expect_undelivered = Some(unseen);
    }

    /// The wire bytes of `payload` on the open, harness-framed stream, and the part of the
    /// payload the reference must see; `None` when no such stream is open.
    fn frame(&mut self, payload: &[u8], split: u8) -> Option<(Vec<u8>, Vec<u8>)> {
        if !self.open || self.untracked {
            return None;
        }
        match self.framing? {
            Framing::Close => Some((payload.to_vec(), payload.to_vec())),
            Framing::Length(remaining) => {
                // Bytes past the announced length are sent too; the session must ignore them.
                let body = payload[..payload.len().min(remaining)].to_vec();
                self.framing = Some(Framing::Length(remaining - body.len()));
                Some((payload.to_vec(), body))
            }
            Framing::Chunked => {
                let at = usize::from(split) % (payload.len() + 1);
                let mut wire = Vec::new();
                for piece in [&payload[..at], &payload[at..]] {
                    if piece.is_empty() {
                        continue; // an empty chunk would end the body
                    }
                    let mut buf = vec![0u8; piece.len() + 32];
                    let n = encode_chunk(piece, &mut buf).expect("room for the framing");
                    wire.extend_from_slice(&buf[..n]);
                }
                Some((wire, payload.to_vec()))
            }
        }
    }

    /// Ends a chunked body with its last chunk (other framings: nothing to send).
    fn end_body(&mut self) {
        if let Some(Framing::Chunked) = self.framing {
            let mut buf = [0u8; 8];
            let n = encode_last_chunk(&mut buf).expect("room");
            drain(self.session.handle_bytes(self.now, &buf[..n]));
            assert_ne!(
                self.session.state(),
                State::Open,
                "the last chunk ends the stream"
            );
        }
    }

    /// Feeds the reference byte by byte (splitting never changes a parser's outputs), so every
    /// id it commits is seen, also those of id-only blocks that a later one replaces.
    fn feed_reference(&mut self, payload: &[u8]) -> Vec<Item> {
        let mut want = Vec::new();
        for byte in payload.chunks(1) {
            let mut feed = self.reference.feed(byte);
            while let Some(out) = feed.next() {
                match out {
                    Ok(Output::Event(e)) => want.push(Item::Event(
                        e.event_type().to_owned(),
                        e.data().to_owned(),
                        e.id().to_owned(),
                    )),
                    Err(e) => want.push(Item::Error(e)),
                    Ok(_) => {}
                }
            }
            drop(feed);
            if !self.committed.contains(self.reference.last_event_id()) {
                self.committed
                    .insert(self.reference.last_event_id().to_owned());
            }
        }
        want
    }

    fn ack(&mut self, how: u8) {
        let id = match how % 3 {
            0 | 1 => self.session.last_event_id().to_owned(),
            _ => String::new(),
        };
        let result = self.session.ack(self.now, &id);
        if result.is_ok() && self.session.state() != State::Open {
            // Between streams the acknowledged id is where the next one starts.
            self.reference
                .set_last_event_id(&id)
                .expect("acknowledged ids fit");
        }
        assert_eq!(
            result.is_ok(),
            self.mode == ResumeMode::Acknowledged,
            "{result:?}"
        );
    }

    fn timeout_at_deadline(&mut self) {
        if let Some(at) = self.session.poll_timeout() {
            self.tick(at.max(self.now));
        }
    }

    fn tick(&mut self, now: Instant) {
        self.now = now;
        self.latest = self.latest.max(now);
        self.session.handle_timeout(now);
        if let Some(deadline) = self.session.poll_timeout() {
            assert!(
                deadline > self.latest,
                "deadline {deadline} not after the clamped now {}",
                self.latest
            );
        }
    }
}

const SSE_BARE: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n";
const SSE: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
const SSE_CHUNKED: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

/// Invariant 2: the delay of attempt `n` lies in `[b, b + b * jitter / 100]` with
/// `b = min(r * factor^(n-1), max(max_backoff, r))`, or is a `Retry-After` above that and within
/// its cap.
pub(crate) fn check_delay(config: &BackoffConfig, retry_ms: u64, delay: &sansse::backoff::Delay) {
    let r = retry_ms.max(1);
    let cap = millis(config.max_backoff()).max(r);
    let growth = u64::from(config.factor().max(1)).saturating_pow(delay.attempt.saturating_sub(1));
    let base = r.saturating_mul(growth).min(cap);
    let top = base.saturating_add(base.saturating_mul(u64::from(config.jitter_percent())) / 100);
    let ms = millis(delay.delay);
    assert!(
        ms >= base,
        "delay {ms} ms below the base {base} ms ({delay:?})"
    );
    if delay.reason == DelayReason::RetryAfter {
        assert!(
            ms <= millis(config.max_retry_after()),
            "retry-after beyond its cap: {delay:?}"
        );
    } else {
        assert!(ms <= top, "delay {ms} ms above {top} ms ({delay:?})");
    }
}

/// The reconnection time a `retry` of `ms` sets, clamped as the backoff documents.
fn clamp_reconnection(config: &BackoffConfig, ms: u64) -> u64 {
    let capped = ms.min(millis(config.max_reconnection_time()));
    capped.max(millis(config.min_reconnection_time())).max(1)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Drains a `Messages` into owned items.
fn drain(mut messages: sansse::client::Messages<'_, '_, '_>) -> Vec<Item> {
    let mut items = Vec::new();
    while let Some(item) = messages.next() {
        items.push(item_of(item));
    }
    items
}

fn item_of(item: Result<sansse::parse::Event<'_>, ParseError>) -> Item {
    match item {
        Ok(e) => Item::Event(
            e.event_type().to_owned(),
            e.data().to_owned(),
            e.id().to_owned(),
        ),
        Err(e) => Item::Error(e),
    }
}

/// The `Last-Event-ID` a request carries, `""` for none.
fn request_id(request: &[u8]) -> String {
    let text = String::from_utf8_lossy(request);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n")
        .find_map(|line| line.strip_prefix("Last-Event-ID: "))
        .unwrap_or_default()
        .to_owned()
}

/// The id as the session sends it: dropped if a header cannot carry it.
fn header_safe(id: &str) -> &str {
    let safe = id
        .bytes()
        .all(|b| matches!(b, b'\t' | b' '..=b'~' | 0x80..=0xFF));
    if safe { id } else { "" }
}

/// One operation, for writing inputs by hand (seeds, tests); [`Op::encode`] produces the bytes
/// `Sim::step` reads.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// Report the connection up; request bytes leave `chunk + 1` at a time.
    Connected {
        chunk: u8,
        with_headers: bool,
    },
    /// A response head: `kind % 12` picks it (see `Sim::respond`); `arg` is the
    /// `Content-Length` or `Retry-After` where the kind takes one; `cut` splits it.
    Respond {
        kind: u8,
        arg: u8,
        cut: u8,
    },
    /// Payload (under 96 bytes), framed as the head said, fed in three pieces.
    Body {
        payload: Vec<u8>,
        split: u8,
        cuts: [u8; 2],
    },
    /// Payload fed in one piece, the messages dropped after `take % 4` items.
    DropEarly {
        take: u8,
        payload: Vec<u8>,
        split: u8,
    },
    /// The last chunk of a chunked body.
    EndBody,
    Eof,
    Error,
    /// `handle_timeout` at the next deadline.
    Deadline,
    /// Time moves on by `amount * [1, 10, 100, 1000][scale % 4]` ms.
    Jump {
        scale: u8,
        amount: u8,
    },
    /// Time steps back by `amount * 10` ms.
    Back {
        amount: u8,
    },
    /// `how % 3`: ack what was dispatched, ack the last event ID by value, ack `""`.
    Ack {
        how: u8,
    },
    LinkDown,
    LinkUp,
    Pong,
    Close,
    /// Bytes (under 64) the reference is not shown.
    Garbage {
        bytes: Vec<u8>,
    },
}

impl Op {
    /// Appends the operation's bytes.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Connected {
                chunk,
                with_headers,
            } => {
                out.extend([0, *chunk, u8::from(*with_headers)]);
            }
            Self::Respond { kind, arg, cut } => {
                out.extend([2, *kind]);
                if matches!(kind % 12, 6 | 8) {
                    out.push(*arg);
                }
                out.push(*cut);
            }
            Self::Body {
                payload,
                split,
                cuts,
            } => {
                let payload = &payload[..payload.len().min(95)];
                out.extend([3, payload.len() as u8]);
                out.extend_from_slice(payload);
                out.extend([*split, cuts[0], cuts[1]]);
            }
            Self::DropEarly {
                take,
                payload,
                split,
            } => {
                let payload = &payload[..payload.len().min(95)];
                out.extend([6, *take, payload.len() as u8]);
                out.extend_from_slice(payload);
                out.push(*split);
            }
            Self::EndBody => out.push(7),
            Self::Eof => out.push(8),
            Self::Error => out.push(9),
            Self::Deadline => out.push(10),
            Self::Jump { scale, amount } => out.extend([11 | ((scale % 4) << 6), *amount]),
            Self::Back { amount } => out.extend([12, *amount]),
            Self::Ack { how } => out.push(13 | ((how % 3) << 4)),
            Self::LinkDown => out.push(14),
            Self::LinkUp => out.push(14 | (6 << 4)),
            Self::Pong => out.push(14 | (12 << 4)),
            Self::Close => out.push(14 | (15 << 4)),
            Self::Garbage { bytes } => {
                let bytes = &bytes[..bytes.len().min(63)];
                out.extend([15, bytes.len() as u8]);
                out.extend_from_slice(bytes);
            }
        }
    }
}

/// The bytes of a setup followed by `ops`.
pub(crate) fn encode(setup: [u8; 4], ops: &[Op]) -> Vec<u8> {
    let mut out = setup.to_vec();
    for op in ops {
        op.encode(&mut out);
    }
    out
}
