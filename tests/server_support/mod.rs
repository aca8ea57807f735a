//! Shared by the server-session tests: a fake network and a client made of the crate's own
//! client-side pieces (response-head reader, body decoder, event parser).
#![allow(dead_code)]

use sansse::Instant;
use sansse::http::{BodyDecoder, HeadLimits, HeadStatus, ResponseReader};
use sansse::parse::{Output, Parser};
use sansse::replay::{Cursor, ReplayLog};
use sansse::server::{AcceptOptions, Decision, ServerSession, SessionEvent, StreamStart};

/// A fake-clock instant.
pub(crate) fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// An EventSource-like HTTP/1.1 request, with `Last-Event-ID` when resuming.
pub(crate) fn request(last_event_id: Option<&str>) -> Vec<u8> {
    let mut head = b"GET /events HTTP/1.1\r\nHost: example.com\r\nAccept: text/event-stream\r\n\
                     Cache-Control: no-cache\r\n"
        .to_vec();
    if let Some(id) = last_event_id {
        head.extend_from_slice(format!("Last-Event-ID: {id}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// Feeds `request` and accepts it, checking the story so far.
pub(crate) fn open<R: ReplayLog<Cursor = Cursor>>(
    session: &mut ServerSession<'_>,
    now: Instant,
    ring: &R,
    request: &[u8],
) -> StreamStart {
    session.handle_bytes(now, request);
    assert_eq!(session.poll_event(), Some(SessionEvent::RequestReady));
    let Decision::Accepted { start } = session
        .accept(now, ring, AcceptOptions::new())
        .expect("request answered")
    else {
        panic!("request refused");
    };
    assert_eq!(session.poll_event(), Some(SessionEvent::Accepted { start }));
    start
}

/// Drains `poll_transmit` with a roomy buffer, confirming every byte at once; returns the bytes.
pub(crate) fn drain<R: ReplayLog<Cursor = Cursor>>(
    session: &mut ServerSession<'_>,
    now: Instant,
    ring: &R,
) -> Vec<u8> {
    let mut buf = [0u8; 8192];
    let mut wire = Vec::new();
    while let Some(n) = session
        .poll_transmit(now, ring, &mut buf)
        .expect("8 KiB holds any test event")
    {
        wire.extend_from_slice(&buf[..n]);
        session.handle_written(now, n).expect("handed out");
    }
    wire
}

/// Everything queued by `poll_event`.
pub(crate) fn events(session: &mut ServerSession<'_>) -> Vec<SessionEvent> {
    core::iter::from_fn(|| session.poll_event()).collect()
}

/// The client's view of one connection: the response head, then the de-framed body.
pub(crate) struct Wire<'s> {
    reader: ResponseReader<'s>,
    status: Option<u16>,
    decoder: Option<BodyDecoder>,
    /// The body's end (the last chunk) was read.
    pub(crate) ended: bool,
}

impl<'s> Wire<'s> {
    pub(crate) fn new(storage: &'s mut [u8]) -> Self {
        Self {
            reader: ResponseReader::new(storage, HeadLimits::DEFAULT),
            status: None,
            decoder: None,
            ended: false,
        }
    }

    /// The response status, once the head was read.
    pub(crate) fn status(&self) -> Option<u16> {
        self.status
    }

    /// Reads `bytes` off the wire, handing every body byte to `body`.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], mut body: impl FnMut(&[u8])) {
        if self.decoder.is_none() {
            match self
                .reader
                .handle_bytes(bytes)
                .expect("valid response head")
            {
                HeadStatus::Partial => return,
                HeadStatus::Complete { consumed } => {
                    let head = self.reader.head().expect("complete head");
                    self.status = Some(head.status());
                    if head.status() == 200 {
                        assert!(head.is_event_stream(), "200 without text/event-stream");
                    }
                    let framing = head.framing().expect("supported framing");
                    self.decoder = Some(BodyDecoder::new(framing));
                    bytes = &bytes[consumed..];
                }
            }
        }
        let Some(decoder) = self.decoder.as_mut() else {
            return;
        };
        while !bytes.is_empty() && !self.ended {
            let decoded = decoder.decode(bytes).expect("valid body framing");
            body(decoded.data);
            self.ended = decoded.end;
            bytes = &bytes[decoded.consumed..];
        }
        assert!(bytes.is_empty(), "bytes after the end of the body");
    }
}

/// What an EventSource saw, in order.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) enum Seen {
    Event {
        event_type: String,
        data: String,
        id: String,
    },
    Comment(String),
    Retry(u64),
}

impl Seen {
    pub(crate) fn event(event_type: &str, data: &str, id: &str) -> Self {
        Self::Event {
            event_type: event_type.to_owned(),
            data: data.to_owned(),
            id: id.to_owned(),
        }
    }
}

/// The event-stream side of a client; it lives across reconnects, as an EventSource's last
/// event ID does.
pub(crate) struct Listener {
    parser: Parser<[u8; 4096]>,
    pub(crate) seen: Vec<Seen>,
}

impl Default for Listener {
    fn default() -> Self {
        Self::new()
    }
}

impl Listener {
    pub(crate) fn new() -> Self {
        Self {
            parser: Parser::new(),
            seen: Vec::new(),
        }
    }

    /// Parses body bytes.
    pub(crate) fn feed(&mut self, body: &[u8]) {
        let mut feed = self.parser.feed(body);
        while let Some(output) = feed.next() {
            match output.expect("no oversized events in these tests") {
                Output::Event(event) => {
                    self.seen
                        .push(Seen::event(event.event_type(), event.data(), event.id()))
                }
                Output::Comment(text) => self.seen.push(Seen::Comment(text.to_owned())),
                Output::Retry(ms) => self.seen.push(Seen::Retry(ms)),
                _ => {}
            }
        }
    }

    /// The connection dropped: a half-received event is discarded, the last event ID kept.
    pub(crate) fn disconnected(&mut self) {
        self.parser.reset();
    }

    /// What to send as `Last-Event-ID`, if anything.
    pub(crate) fn last_event_id(&self) -> Option<String> {
        let id = self.parser.last_event_id();
        (!id.is_empty()).then(|| id.to_owned())
    }

    /// The events seen (no comments or retries).
    pub(crate) fn events(&self) -> Vec<(String, String, String)> {
        self.seen
            .iter()
            .filter_map(|seen| match seen {
                Seen::Event {
                    event_type,
                    data,
                    id,
                } => Some((event_type.clone(), data.clone(), id.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Reads a whole response (head and body) into a fresh listener.
pub(crate) fn read_response(bytes: &[u8]) -> (Option<u16>, Listener, bool) {
    let mut storage = [0u8; 2048];
    let mut wire = Wire::new(&mut storage);
    let mut listener = Listener::new();
    wire.feed(bytes, |body| listener.feed(body));
    (wire.status(), listener, wire.ended)
}

/// A small deterministic generator (xorshift64*), so every run is the same.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
