//! Body of the `server_session` fuzz target, shared by the cargo-fuzz wrapper
//! (`fuzz/fuzz_targets/server_session.rs`) and the stable tests, which include this file with
//! `#[path]` so every corpus file and artifact is replayed by `cargo test` without nightly.
//!
//! A [`ServerSession`] on a shared [`Ring`] is driven by a fuzz-chosen script of inputs: request
//! bytes, time jumps (also backwards), transmits into buffers of any size, partial and excessive
//! write confirmations, publishes, answers, closes, lease renewals and transport failures.
//! After every step it checks:
//!
//! 1. nothing panics;
//! 2. every transmit is whole pieces: a whole response head, then whole chunks (or, when
//!    close-delimited, raw body) whose payload is whole event blocks and comment lines; after the
//!    last chunk or an error response nothing more is sent;
//! 3. a buffer too small is left untouched, the size reported is larger than it, and a buffer of
//!    exactly that size then takes the output;
//! 4. the events the client parses arrive in order, none twice; a jump in sequence numbers only
//!    ever comes with a gap event, whose id resumes right before the next event and whose
//!    `missed` count is the size of the jump;
//! 5. no deadline is ever before the session's clamped now, and after `handle_timeout(now)` every
//!    deadline is after `now`; the clamped now is the latest instant fed;
//! 6. the bytes handed out minus those confirmed is what the session reports as unconfirmed, and
//!    over-confirming is refused without effect;
//! 7. the story is well formed: `RequestReady` and `Accepted` at most once and in that order,
//!    `Closed` at most once and last; once closed nothing is sent and no timer runs.

use core::time::Duration;

use sansse::BufferTooSmall;
use sansse::Instant;
use sansse::encode::{EventName, Message};
use sansse::http::ErrorResponse;
use sansse::parse::{Output, Parser};
use sansse::replay::Ring;
use sansse::server::{
    AcceptOptions, CloseOptions, OverrunPolicy, ServerConfig, ServerSession, SessionEvent, State,
    TransmitError, WrittenError,
};

/// The ring's epoch; ids on the wire are `3-<seq>`.
const EPOCH: u32 = 3;

/// Runs one fuzz input.
pub(crate) fn server_session(data: &[u8]) {
    let mut script = Script(data);
    let flags = script.byte();
    let scale = u64::from(script.byte());
    let head_timeout = u64::from(script.byte()) * 10;
    let config = config(flags, scale, head_timeout);

    let mut ring = Ring::<8, 512>::new(EPOCH);
    let mut storage = [0u8; 256];
    let mut now = 0u64;
    let mut session = ServerSession::new(Instant::from_millis(now), &mut storage, config);
    let mut shell = Shell::default();
    if flags & 0x40 != 0 {
        let resume: &[u8] = if flags & 0x80 != 0 {
            b"Last-Event-ID: 3-2\r\n"
        } else {
            b""
        };
        let mut head = b"GET /events HTTP/1.1\r\nHost: h\r\n".to_vec();
        head.extend_from_slice(resume);
        head.extend_from_slice(b"\r\n");
        session.handle_bytes(Instant::from_millis(now), &head);
    }

    while let Some(op) = script.next() {
        let t = Instant::from_millis(now);
        // Moving the clock and publishing give the session no input.
        let fed = !matches!(op % 12, 1 | 2 | 5 | 11);
        match op % 12 {
            0 => {
                let len = usize::from(script.byte() % 64);
                session.handle_bytes(t, script.take(len));
            }
            1 => now = now.saturating_add(u64::from(script.u16())),
            2 => now = now.saturating_sub(u64::from(script.byte()) * 10),
            3 => {
                let size = usize::from(script.byte()) * 4 + usize::from(script.byte() % 4);
                shell.transmit(&mut session, t, &ring, size);
            }
            4 => shell.confirm(&mut session, t, script.byte()),
            5 => {
                let len = usize::from(script.byte() % 48);
                let text = String::from_utf8_lossy(script.take(len)).into_owned();
                let name = EventName::new("tick").ok().filter(|_| len % 3 == 0);
                // Too large for the ring is a refusal, not a failure.
                let _ = ring.publish(name, &text);
            }
            6 => {
                session.handle_timeout(t);
                if let Some(deadline) = session.poll_timeout() {
                    assert!(
                        deadline > session.now(),
                        "deadline {deadline} not after now"
                    );
                }
            }
            7 => answer(&mut session, t, &ring, script.byte()),
            8 => close(&mut session, t, script.byte()),
            9 => {
                let _ = session.renew_lease(t);
            }
            10 => match script.byte() % 16 {
                0 => session.handle_eof(t),
                1 => session.handle_error(t, embedded_io::ErrorKind::BrokenPipe),
                2 => session.handle_error(t, embedded_io::ErrorKind::ConnectionReset),
                // Mostly the connection lives on; still an input at `t`.
                _ => session.handle_timeout(t),
            },
            _ => shell.story(&mut session),
        }
        shell.after_input(&mut session, fed.then_some(now));
    }

    // Drain to the end: what is left must be whole too.
    let end = Instant::from_millis(now);
    for _ in 0..64 {
        if !shell.transmit(&mut session, end, &ring, 4096) {
            break;
        }
        shell.confirm(&mut session, end, 254);
    }
    shell.story(&mut session);
}

/// The fuzz-chosen config: bits of `flags` turn features on, `scale` sizes the durations.
fn config(flags: u8, scale: u64, head_timeout: u64) -> ServerConfig<'static> {
    let ms = Duration::from_millis;
    let on = |bit: u8, value: Duration| (flags & bit != 0).then_some(value);
    let overrun = if flags & 0x08 != 0 {
        OverrunPolicy::Disconnect {
            retry: Some(ms(scale)),
        }
    } else {
        OverrunPolicy::Gap
    };
    ServerConfig::new()
        .with_head_timeout(ms(head_timeout))
        .with_keepalive(on(0x01, ms(scale * 4)))
        .with_lease(on(0x02, ms(scale * 8)))
        .with_write_timeout(on(0x04, ms(scale * 2)))
        .with_overrun(overrun)
        .with_retry(on(0x10, ms(scale * 3)))
        .with_close_delimited(flags & 0x20 != 0)
}

fn answer<const E: usize, const B: usize>(
    session: &mut ServerSession<'_>,
    now: Instant,
    ring: &Ring<E, B>,
    choice: u8,
) {
    static RESERVED: [(&str, &str); 1] = [("Connection", "upgrade")];
    static CORS: [(&str, &str); 1] = [("Access-Control-Allow-Origin", "*")];
    // Deadlines due at `now` fire first in any input; only what the accept adds must be nil.
    session.handle_timeout(now);
    let state = session.state();
    match choice % 6 {
        0 => {
            let _ = session.accept(now, ring, AcceptOptions::new());
        }
        1 => {
            let _ = session.accept(now, ring, AcceptOptions::new().with_headers(&CORS));
        }
        2 => {
            let options = AcceptOptions::new().with_headers(&RESERVED);
            assert!(session.accept(now, ring, options).is_err());
            assert_eq!(
                session.state(),
                state,
                "a refused accept changed the session"
            );
        }
        3 => {
            let _ = session.reject(now, ErrorResponse::not_found());
        }
        4 => {
            let _ = session.reject(now, ErrorResponse::service_unavailable(None));
        }
        _ => {
            let _ = session.accept(now, ring, AcceptOptions::new().with_close_delimited(true));
        }
    }
}

fn close(session: &mut ServerSession<'_>, now: Instant, choice: u8) {
    let mut options = CloseOptions::new();
    if choice & 1 != 0 {
        let name = EventName::new("bye").ok();
        let bye = Message::new("bye\nnow");
        options = options.with_event(name.map_or(bye, |name| bye.with_name(name)));
    }
    if choice & 2 != 0 {
        options = options.with_retry(Duration::from_millis(u64::from(choice)));
    }
    let _ = session.close_with(now, options);
}

/// Reads the fuzz input as a script; reads past the end give zeros.
struct Script<'a>(&'a [u8]);

impl<'a> Script<'a> {
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn byte(&mut self) -> u8 {
        self.next().unwrap_or(0)
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn take(&mut self, len: usize) -> &'a [u8] {
        let (taken, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        taken
    }
}

/// The shell and the client in one: hands bytes to a checker, confirms writes, reads the story.
#[derive(Default)]
struct Shell {
    handed: usize,
    confirmed: usize,
    latest: u64,
    wire: WireCheck,
    events: Vec<SessionEvent>,
    closed: bool,
}

impl Shell {
    /// One `poll_transmit`; returns whether bytes were handed out.
    fn transmit<const E: usize, const B: usize>(
        &mut self,
        session: &mut ServerSession<'_>,
        now: Instant,
        ring: &Ring<E, B>,
        size: usize,
    ) -> bool {
        let mut buf = vec![0xA5u8; size];
        let n = match session.poll_transmit(now, ring, &mut buf) {
            Ok(Some(n)) => n,
            Ok(None) => return false,
            Err(TransmitError::BufferTooSmall(BufferTooSmall { needed })) => {
                assert!(needed > size, "needed {needed} fits in {size}");
                assert!(
                    buf.iter().all(|&b| b == 0xA5),
                    "a refused buffer was written"
                );
                buf = vec![0u8; needed];
                match session.poll_transmit(now, ring, &mut buf) {
                    Ok(Some(n)) => n,
                    other => panic!("a buffer of the size needed got {other:?}"),
                }
            }
            Err(error) => panic!("unexpected transmit error {error}"),
        };
        assert!(n > 0 && n <= buf.len());
        assert!(!self.closed, "bytes after Closed");
        self.handed += n;
        self.wire.transmit(&buf[..n]);
        true
    }

    /// Confirms a fuzz-chosen share of the unconfirmed bytes; 255 over-confirms by one.
    fn confirm(&mut self, session: &mut ServerSession<'_>, now: Instant, share: u8) {
        let unconfirmed = self.handed - self.confirmed;
        if share == 255 {
            let before = session.unconfirmed();
            let result = session.handle_written(now, unconfirmed + 1);
            if session.state() != State::Closed {
                assert_eq!(
                    result,
                    Err(WrittenError::MoreThanHandedOut {
                        unconfirmed,
                        written: unconfirmed + 1
                    })
                );
                assert_eq!(session.unconfirmed(), before);
            }
            return;
        }
        let written = unconfirmed * usize::from(share) / 254;
        assert_eq!(session.handle_written(now, written), Ok(()));
        self.confirmed += written;
    }

    /// Drains and checks the connection story.
    fn story(&mut self, session: &mut ServerSession<'_>) {
        while let Some(event) = session.poll_event() {
            assert!(!self.closed, "{event:?} after Closed");
            let count = |wanted: fn(&SessionEvent) -> bool| {
                self.events.iter().filter(|event| wanted(event)).count()
            };
            match event {
                SessionEvent::RequestReady => {
                    assert_eq!(count(|e| matches!(e, SessionEvent::RequestReady)), 0);
                }
                SessionEvent::Accepted { .. } => {
                    assert_eq!(count(|e| matches!(e, SessionEvent::Accepted { .. })), 0);
                    assert_eq!(count(|e| matches!(e, SessionEvent::RequestReady)), 1);
                }
                SessionEvent::Closed { .. } => self.closed = true,
                _ => {}
            }
            self.events.push(event);
        }
    }

    /// The checks every input is followed by.
    fn after_input(&mut self, session: &mut ServerSession<'_>, fed: Option<u64>) {
        self.latest = self.latest.max(fed.unwrap_or(0));
        assert_eq!(session.now(), Instant::from_millis(self.latest));
        if let Some(deadline) = session.poll_timeout() {
            assert!(deadline >= session.now(), "deadline {deadline} in the past");
        }
        if session.state() == State::Closed {
            assert_eq!(session.poll_timeout(), None, "a timer runs after Closed");
            assert!(session.close_reason().is_some());
        } else {
            assert_eq!(session.unconfirmed(), self.handed - self.confirmed);
        }
    }
}

/// Checks what goes on the wire, transmit by transmit, as a strict client would read it.
#[derive(Default)]
struct WireCheck {
    stage: Stage,
    parser: Parser<[u8; 1024]>,
    /// The sequence number of the last event or gap event.
    last_seq: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
enum Stage {
    #[default]
    Head,
    Chunked,
    Raw,
    Ended,
}

impl WireCheck {
    fn transmit(&mut self, mut bytes: &[u8]) {
        assert_ne!(
            self.stage,
            Stage::Ended,
            "bytes after the end of the response"
        );
        if self.stage == Stage::Head {
            let end = find(bytes, b"\r\n\r\n").expect("the response head is whole") + 4;
            let head = core::str::from_utf8(&bytes[..end]).expect("an ASCII head");
            assert!(head.starts_with("HTTP/1.1 "), "{head}");
            bytes = &bytes[end..];
            if head.starts_with("HTTP/1.1 200 ") {
                self.stage = if head.contains("Transfer-Encoding: chunked\r\n") {
                    Stage::Chunked
                } else {
                    Stage::Raw
                };
            } else {
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("Content-Length: "))
                    .map_or(0, |n| n.parse::<usize>().expect("a decimal length"));
                assert_eq!(bytes.len(), length, "the error response is whole");
                self.stage = Stage::Ended;
                return;
            }
        }
        match self.stage {
            Stage::Chunked => self.chunks(bytes),
            Stage::Raw if bytes.is_empty() => {}
            Stage::Raw => self.payload(bytes),
            Stage::Head | Stage::Ended => assert!(bytes.is_empty()),
        }
    }

    /// Whole chunks only; the last chunk ends the body.
    fn chunks(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            assert_ne!(self.stage, Stage::Ended, "bytes after the last chunk");
            let line = find(bytes, b"\r\n").expect("a whole chunk size line");
            let size = core::str::from_utf8(&bytes[..line])
                .ok()
                .and_then(|hex| usize::from_str_radix(hex, 16).ok())
                .expect("a hex chunk size");
            bytes = &bytes[line + 2..];
            if size == 0 {
                assert_eq!(bytes, b"\r\n", "the last chunk is whole and last");
                self.stage = Stage::Ended;
                return;
            }
            assert!(bytes.len() >= size + 2, "a whole chunk");
            let (payload, rest) = bytes.split_at(size);
            assert_eq!(&rest[..2], b"\r\n");
            self.payload(payload);
            bytes = &rest[2..];
        }
    }

    /// Event blocks and comment lines, parsed for order. A ring event larger than the buffer
    /// goes out in pieces, so a piece may end anywhere inside it; anything written between
    /// two pieces (a comment, a gap event) would land inside its lines, which the id checks
    /// below catch.
    fn payload(&mut self, payload: &[u8]) {
        let mut feed = self.parser.feed(payload);
        while let Some(output) = feed.next() {
            let Output::Event(event) = output.expect("events fit the parser") else {
                continue;
            };
            // The last event of a close has no id of its own.
            if event.event_type() == "bye" {
                continue;
            }
            let seq = event
                .id()
                .strip_prefix("3-")
                .and_then(|seq| seq.parse::<u64>().ok())
                .expect("every event carries a ring id");
            if event.event_type() == "sansse-gap" {
                // Its id resumes right before the next event it lets through.
                if let Some(last) = self.last_seq {
                    assert!(seq > last, "gap event {seq} does not move past {last}");
                    let missed = format!("\"missed\":{}}}", seq - last);
                    assert!(
                        event.data().ends_with(&missed),
                        "{} after {last}",
                        event.data()
                    );
                }
            } else if let Some(last) = self.last_seq {
                assert_eq!(seq, last + 1, "event {seq} after {last} with no gap event");
            }
            self.last_seq = Some(seq);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
