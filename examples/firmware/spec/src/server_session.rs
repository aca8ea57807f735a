//! `ServerSession`s reading one 32-event `replay::Ring` under a fake clock: a request arrives
//! in pieces and is accepted; the response head, the `retry:` block and the keep-alive
//! announcement go out, then published events in chunks, then a keep-alive comment exactly at
//! the interval. A second session resuming with the first one's `Last-Event-ID` gets exactly
//! the events it missed; ids the ring cannot resume from (evicted, or from another epoch) get
//! the gap event, then every kept event. Then two sensors publish to topics of their own on the
//! same ring, and sessions following one, the other, or both read exactly theirs, with no
//! allocator: a topic set is a fixed-size value.
//!
//! Everything the sessions write is read back the way a client would, with the crate's own
//! response reader, body decoder and event parser.

use core::fmt::Write as _;
use core::time::Duration;

use heapless::{String, Vec};
use sansse::Instant;
use sansse::encode::EventName;
use sansse::http::{BodyDecoder, BodyFraming, HeadLimits, HeadStatus, ResponseReader};
use sansse::parse::{Output, Parser};
use sansse::replay::{Cursor, Gap, ReplayLog, Ring, Topics};
use sansse::server::{
    AcceptOptions, CloseReason, Decision, ServerConfig, ServerSession, SessionEvent, State,
    StreamStart, TimerReason,
};

use crate::report::Report;

/// The ring's epoch: every id it hands out is `7-<seq>`.
const EPOCH: u32 = 7;

/// 32 events in 2 KiB: the test's events take about 20 bytes each, so the event count is the
/// bound that evicts.
type Log = Ring<32, 2048>;

const KEEPALIVE: Duration = Duration::from_secs(15);
const RETRY: Duration = Duration::from_secs(2);
const CONFIG: ServerConfig<'static> = ServerConfig::new()
    .with_retry(Some(RETRY))
    .with_keepalive(Some(KEEPALIVE));

/// Request pieces, cycled, as reads from a socket might cut them.
const PIECES: [usize; 5] = [5, 11, 2, 17, 31];

/// Output buffer lent to `poll_transmit`: several events per call, never all of them.
const TRANSMIT: usize = 256;

/// The sessions' start: any origin works, as long as the script never goes below it.
const T0: Instant = Instant::from_millis(2_000_000);
const ONE_MS: Duration = Duration::from_millis(1);

pub(crate) fn run(report: &mut Report) {
    let mut ring = Log::new(EPOCH);
    let mut head_storage = [0u8; 512];
    let mut wire = Wire::new(&mut head_storage);
    let mut now = T0;

    let last_id = first_client(report, &mut ring, &mut wire, &mut now);
    report.eq(
        "server: the client's last event id",
        last_id.as_str(),
        "7-3",
    );
    for n in 4..=6 {
        publish_numbered(report, &mut ring, n);
    }
    resuming_client(report, &mut ring, &mut wire, &mut now, &last_id);

    // 33 more events: the ring keeps the newest 32, 9 to 40.
    for n in 8..=40 {
        publish_numbered(report, &mut ring, n);
    }
    report.eq("server: the ring holds 32 events", ring.len(), 32);
    unresumable_client(
        report,
        &ring,
        &mut wire,
        &mut now,
        "server: evicted id",
        "7-2",
        Gap::Evicted { missed: 6 },
        "{\"reason\":\"evicted\",\"missed\":6}",
    );
    unresumable_client(
        report,
        &ring,
        &mut wire,
        &mut now,
        "server: unknown id",
        "3-99",
        Gap::OtherEpoch,
        "{\"reason\":\"other-epoch\"}",
    );
    topic_clients(report, &mut ring, &mut wire, &mut now);
}

/// Sensor 1 and sensor 2 publish to their own topics (events 41 to 44); sessions resuming from
/// 7-40 and following one sensor, the other, or both, read exactly their events, in publish
/// order, with the ring's ids.
#[inline(never)]
fn topic_clients(report: &mut Report, ring: &mut Log, wire: &mut Wire<'_>, now: &mut Instant) {
    let published = [
        ("sensor/1", "t41"),
        ("sensor/2", "t42"),
        ("sensor/1", "t43"),
        ("sensor/2", "t44"),
    ];
    for (topic, data) in published {
        let result = Topics::one(topic).map(|topics| ring.publish_to(&topics, None, data));
        report.check(
            format_args!("server: publish {data} to {topic}"),
            matches!(result, Ok(Ok(_))),
        );
    }
    let readers: [(&[&str], &[u64]); 3] = [
        (&["sensor/1"], &[41, 43]),
        (&["sensor/2"], &[42, 44]),
        (&["sensor/2", "sensor/1"], &[41, 42, 43, 44]),
    ];
    for (names, expected) in readers {
        let Ok(topics) = Topics::from_names(names.iter().copied()) else {
            report.check("server: topic names", false);
            return;
        };
        wire.reconnect();
        wire.seen.clear();
        *now += Duration::from_millis(1_000);
        let mut storage = [0u8; 256];
        let mut session = ServerSession::new(*now, &mut storage, CONFIG);
        receive(report, &mut session, now, Some("7-40"), "server: topic reader");
        let view = ring.following(&topics);
        report.eq(
            format_args!("server: {names:?} resumes"),
            session.accept(*now, &view, AcceptOptions::new()),
            Ok(Decision::Accepted {
                start: StreamStart::Replay
            }),
        );
        drain(&mut session, *now, &view, wire);
        let got = wire.seen.get(2..).unwrap_or_default();
        report.eq(
            format_args!("server: {names:?} event count"),
            got.len(),
            expected.len(),
        );
        let mut wrong = None;
        for (seen, n) in got.iter().zip(expected) {
            let mut data = String::<8>::new();
            let mut id = String::<8>::new();
            let _ = write!(data, "t{n}");
            let _ = write!(id, "{EPOCH}-{n}");
            if *seen != event("message", &data, &id) {
                wrong = Some(*n);
            }
        }
        report.eq(format_args!("server: {names:?} first wrong"), wrong, None);
    }
}

/// A fresh client: the stream opens live, three events are published, a keep-alive follows
/// exactly one interval after the last write, then the client leaves. Returns its last event
/// ID.
#[inline(never)]
fn first_client(
    report: &mut Report,
    ring: &mut Log,
    wire: &mut Wire<'_>,
    now: &mut Instant,
) -> String<16> {
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(*now, &mut storage, CONFIG);
    report.eq(
        "server: request head timeout armed",
        deadline(&session),
        Some((
            *now + ServerConfig::DEFAULT_HEAD_TIMEOUT,
            TimerReason::RequestHead,
        )),
    );
    receive(report, &mut session, now, None, "server: first request");
    report.eq(
        "server: first request accepted",
        session.accept(*now, &*ring, AcceptOptions::new()),
        Ok(Decision::Accepted {
            start: StreamStart::Live,
        }),
    );
    report.eq(
        "server: accepted event",
        session.poll_event(),
        Some(SessionEvent::Accepted {
            start: StreamStart::Live,
        }),
    );
    drain(&mut session, *now, ring, wire);
    report.eq("server: status", wire.status, Some(200));
    report.check("server: text/event-stream", wire.event_stream);
    report.eq("server: framing", wire.framing, Some(BodyFraming::Chunked));
    report.eq(
        "server: retry and keep-alive announcement first",
        wire.seen.as_slice(),
        &[Seen::Retry(2_000), comment("keepalive 15000")][..],
    );
    wire.seen.clear();

    *now += Duration::from_millis(100);
    publish(report, ring, EventName::new("reading").ok(), "t=21.5");
    publish(report, ring, None, "line one\nline two");
    publish(report, ring, None, "e3");
    let written_at = *now;
    let writes = drain(&mut session, *now, ring, wire);
    report.eq("server: three events in one write", writes, 1);
    report.eq("server: live events in whole chunks", wire.bad_chunks, 0);
    report.eq("server: live events read back", wire.broken, 0);
    report.eq(
        "server: live events",
        wire.seen.as_slice(),
        &[
            event("reading", "t=21.5", "7-1"),
            event("message", "line one\nline two", "7-2"),
            event("message", "e3", "7-3"),
        ][..],
    );
    wire.seen.clear();

    // Nothing to say for the interval: a keep-alive comment, to the millisecond.
    let due = written_at + KEEPALIVE;
    report.eq(
        "server: keep-alive deadline",
        deadline(&session),
        Some((due, TimerReason::KeepAlive)),
    );
    let early = due.saturating_sub(ONE_MS);
    session.handle_timeout(early);
    let mut buf = [0u8; 16];
    report.eq(
        "server: 1 ms before the keep-alive, nothing to send",
        session.poll_transmit(early, &*ring, &mut buf),
        Ok(None),
    );
    session.handle_timeout(due);
    let sent = session.poll_transmit(due, &*ring, &mut buf);
    report.eq("server: keep-alive at the interval", sent, Ok(Some(7)));
    let keepalive = buf.get(..7).unwrap_or_default();
    report.eq("server: keep-alive bytes", keepalive, b"2\r\n:\n\r\n");
    report.eq(
        "server: keep-alive confirmed",
        session.handle_written(due, 7),
        Ok(()),
    );
    wire.feed(keepalive);
    report.eq(
        "server: keep-alive read as a comment",
        wire.seen.as_slice(),
        &[comment("")][..],
    );
    wire.seen.clear();
    report.eq(
        "server: next keep-alive one interval later",
        deadline(&session),
        Some((due + KEEPALIVE, TimerReason::KeepAlive)),
    );

    // The client drops.
    *now = due + Duration::from_millis(500);
    session.handle_eof(*now);
    report.eq(
        "server: client gone",
        session.poll_event(),
        Some(SessionEvent::Closed {
            reason: CloseReason::PeerClosed,
        }),
    );
    report.eq("server: closed", session.state(), State::Closed);
    text(wire.parser.last_event_id())
}

/// A client resuming from `last_id` after events 4 to 6 were published: exactly those, then
/// live event 7.
#[inline(never)]
fn resuming_client(
    report: &mut Report,
    ring: &mut Log,
    wire: &mut Wire<'_>,
    now: &mut Instant,
    last_id: &str,
) {
    wire.reconnect();
    *now += Duration::from_millis(2_000);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(*now, &mut storage, CONFIG);
    receive(
        report,
        &mut session,
        now,
        Some(last_id),
        "server: resuming request",
    );
    report.eq(
        "server: resume accepted",
        session.accept(*now, &*ring, AcceptOptions::new()),
        Ok(Decision::Accepted {
            start: StreamStart::Replay
        }),
    );
    drain(&mut session, *now, ring, wire);
    report.eq(
        "server: replay after the head blocks",
        wire.seen.get(..2),
        Some(&[Seen::Retry(2_000), comment("keepalive 15000")][..]),
    );
    expect_numbered(report, "server: replay", wire, 2, 4..=6);
    wire.seen.clear();
    *now += Duration::from_millis(10);
    publish_numbered(report, ring, 7);
    drain(&mut session, *now, ring, wire);
    expect_numbered(report, "server: live after the replay", wire, 0, 7..=7);
    report.eq("server: resumed stream in whole chunks", wire.bad_chunks, 0);
    session.handle_eof(*now);
}

/// A client whose `Last-Event-ID` the ring cannot resume from: the gap event (with the id
/// before the oldest kept event, 7-8), then every kept event, 9 to 40, over several writes.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn unresumable_client(
    report: &mut Report,
    ring: &Log,
    wire: &mut Wire<'_>,
    now: &mut Instant,
    what: &str,
    id: &str,
    gap: Gap,
    gap_data: &str,
) {
    wire.reconnect();
    wire.seen.clear();
    *now += Duration::from_millis(1_000);
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(*now, &mut storage, CONFIG);
    receive(report, &mut session, now, Some(id), what);
    report.eq(
        format_args!("{what}: accepted with a gap"),
        session.accept(*now, ring, AcceptOptions::new()),
        Ok(Decision::Accepted {
            start: StreamStart::Gap { gap }
        }),
    );
    let writes = drain(&mut session, *now, ring, wire);
    report.check(format_args!("{what}: several writes"), writes > 1);
    report.eq(
        format_args!("{what}: gap event after the head blocks"),
        wire.seen.get(..3),
        Some(
            &[
                Seen::Retry(2_000),
                comment("keepalive 15000"),
                event("sansse-gap", gap_data, "7-8"),
            ][..],
        ),
    );
    expect_numbered(report, what, wire, 3, 9..=40);
    report.eq(format_args!("{what}: whole chunks"), wire.bad_chunks, 0);
    report.eq(
        format_args!("{what}: accepted event"),
        session.poll_event(),
        Some(SessionEvent::Accepted {
            start: StreamStart::Gap { gap },
        }),
    );
    report.eq(
        format_args!("{what}: gap sent event"),
        session.poll_event(),
        Some(SessionEvent::GapSent { gap }),
    );
}

/// An EventSource-like request, with `Last-Event-ID` when resuming.
fn request(last_event_id: Option<&str>) -> String<160> {
    let mut head = String::new();
    let _ = head.push_str(
        "GET /events HTTP/1.1\r\nHost: sensors.local\r\nAccept: text/event-stream\r\n\
         Cache-Control: no-cache\r\n",
    );
    if let Some(id) = last_event_id {
        let _ = write!(head, "Last-Event-ID: {id}\r\n");
    }
    let _ = head.push_str("\r\n");
    head
}

/// Feeds the request for `last_event_id` in [`PIECES`]-sized pieces a millisecond apart; it is
/// ready after the last one and not before.
#[inline(never)]
fn receive(
    report: &mut Report,
    session: &mut ServerSession<'_>,
    now: &mut Instant,
    last_event_id: Option<&str>,
    what: &str,
) {
    let request = request(last_event_id);
    let mut rest = request.as_bytes();
    let mut sizes = PIECES.iter().cycle();
    let mut early = None;
    while !rest.is_empty() {
        let size = sizes.next().copied().unwrap_or(1).min(rest.len());
        let (piece, tail) = rest.split_at(size);
        rest = tail;
        *now += ONE_MS;
        session.handle_bytes(*now, piece);
        if !rest.is_empty() && early.is_none() {
            early = session.poll_event();
        }
    }
    report.eq(format_args!("{what}: not ready early"), early, None);
    report.eq(
        format_args!("{what}: ready"),
        session.poll_event(),
        Some(SessionEvent::RequestReady),
    );
    let path = session.request().map(|head| head.path());
    report.eq(format_args!("{what}: path"), path, Some("/events"));
}

/// Hands every output to `wire`, confirming each write at once; returns how many writes.
#[inline(never)]
fn drain<R: ReplayLog<Cursor = Cursor>>(
    session: &mut ServerSession<'_>,
    now: Instant,
    ring: &R,
    wire: &mut Wire<'_>,
) -> u32 {
    let mut buf = [0u8; TRANSMIT];
    let mut pieces = 0;
    while let Ok(Some(n)) = session.poll_transmit(now, ring, &mut buf) {
        let piece = buf.get(..n).unwrap_or_default();
        wire.feed(piece);
        if session.handle_written(now, n).is_err() {
            wire.broken += 1;
        }
        pieces += 1;
    }
    pieces
}

fn publish(report: &mut Report, ring: &mut Log, name: Option<EventName<'_>>, data: &str) {
    report.record(
        format_args!("server: publish {data:?}"),
        ring.publish(name, data).map(|_| ()),
    );
}

/// Publishes `e<n>`, which the ring numbers `7-<n>` when published in order.
fn publish_numbered(report: &mut Report, ring: &mut Log, n: u64) {
    let mut data = String::<8>::new();
    let _ = write!(data, "e{n}");
    publish(report, ring, None, &data);
}

/// Checks that `wire.seen[from..]` is exactly the numbered events of `range`.
#[inline(never)]
fn expect_numbered(
    report: &mut Report,
    what: &str,
    wire: &Wire<'_>,
    from: usize,
    range: core::ops::RangeInclusive<u64>,
) {
    let got = wire.seen.get(from..).unwrap_or_default();
    let expected = range.clone().count();
    report.eq(format_args!("{what}: event count"), got.len(), expected);
    let mut wrong = None;
    for (seen, n) in got.iter().zip(range) {
        let mut data = String::<8>::new();
        let mut id = String::<8>::new();
        let _ = write!(data, "e{n}");
        let _ = write!(id, "{EPOCH}-{n}");
        if *seen != event("message", &data, &id) {
            wrong = Some(n);
            break;
        }
    }
    report.eq(format_args!("{what}: first wrong event"), wrong, None);
    report.eq(format_args!("{what}: read back"), wire.broken, 0);
}

fn deadline(session: &ServerSession<'_>) -> Option<(Instant, TimerReason)> {
    session.poll_deadline().map(|d| (d.at, d.reason))
}

/// What the client side read, copied out of the parser's borrow.
#[derive(Debug, PartialEq)]
enum Seen {
    Event {
        event_type: String<12>,
        data: String<32>,
        id: String<8>,
    },
    Comment(String<16>),
    Retry(u64),
}

fn event(event_type: &str, data: &str, id: &str) -> Seen {
    Seen::Event {
        event_type: text(event_type),
        data: text(data),
        id: text(id),
    }
}

fn comment(text_: &str) -> Seen {
    Seen::Comment(text(text_))
}

/// `s`, or as much of it as fits (a cut copy then fails its comparison).
fn text<const N: usize>(s: &str) -> String<N> {
    let mut out = String::new();
    for c in s.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}

/// The client's side of one connection at a time: response head, body framing, events. The
/// parser, like an EventSource, keeps its last event ID across connections.
struct Wire<'s> {
    reader: ResponseReader<'s>,
    decoder: Option<BodyDecoder>,
    parser: Parser<[u8; 256]>,
    status: Option<u16>,
    event_stream: bool,
    framing: Option<BodyFraming>,
    seen: Vec<Seen, 36>,
    /// Writes after the head that were not exactly one chunk.
    bad_chunks: u32,
    /// Anything else wrong: a bad head or framing, a parse error, too many outputs.
    broken: u32,
}

impl<'s> Wire<'s> {
    fn new(storage: &'s mut [u8]) -> Self {
        Self {
            reader: ResponseReader::new(storage, HeadLimits::DEFAULT),
            decoder: None,
            parser: Parser::new(),
            status: None,
            event_stream: false,
            framing: None,
            seen: Vec::new(),
            bad_chunks: 0,
            broken: 0,
        }
    }

    /// A new connection: the head is read afresh, a partial event is dropped.
    fn reconnect(&mut self) {
        self.reader.reset();
        self.decoder = None;
        self.parser.reset();
        self.status = None;
        self.event_stream = false;
        self.framing = None;
    }

    /// Reads one write of the server's.
    fn feed(&mut self, mut bytes: &[u8]) {
        match self.decoder {
            Some(_) => {
                if !is_one_chunk(bytes) {
                    self.bad_chunks += 1;
                }
            }
            None => match self.reader.handle_bytes(bytes) {
                Ok(HeadStatus::Partial) => return,
                Ok(HeadStatus::Complete { consumed }) => {
                    let Some(head) = self.reader.head() else {
                        self.broken += 1;
                        return;
                    };
                    self.status = Some(head.status());
                    self.event_stream = head.is_event_stream();
                    self.framing = head.framing().ok();
                    let Some(framing) = self.framing else {
                        self.broken += 1;
                        return;
                    };
                    self.decoder = Some(BodyDecoder::new(framing));
                    bytes = bytes.get(consumed..).unwrap_or_default();
                }
                Err(_) => {
                    self.broken += 1;
                    return;
                }
            },
        }
        while !bytes.is_empty() {
            let Some(decoder) = self.decoder.as_mut() else {
                return;
            };
            let Ok(decoded) = decoder.decode(bytes) else {
                self.broken += 1;
                return;
            };
            bytes = bytes.get(decoded.consumed..).unwrap_or_default();
            self.parse(decoded.data);
            if decoded.end {
                break;
            }
        }
    }

    fn parse(&mut self, body: &[u8]) {
        let mut feed = self.parser.feed(body);
        while let Some(output) = feed.next() {
            let seen = match output {
                Ok(Output::Event(e)) => event(e.event_type(), e.data(), e.id()),
                Ok(Output::Comment(text)) => comment(text),
                Ok(Output::Retry(ms)) => Seen::Retry(ms),
                Ok(_) | Err(_) => {
                    self.broken += 1;
                    continue;
                }
            };
            if self.seen.push(seen).is_err() {
                self.broken += 1;
            }
        }
    }
}

/// Whether `bytes` is exactly one non-empty chunk, read by a fresh decoder: the server frames
/// everything one write carries as one chunk.
fn is_one_chunk(mut bytes: &[u8]) -> bool {
    let mut decoder = BodyDecoder::new(BodyFraming::Chunked);
    let mut payloads = 0;
    while !bytes.is_empty() {
        let Ok(decoded) = decoder.decode(bytes) else {
            return false;
        };
        if !decoded.data.is_empty() {
            payloads += 1;
        }
        bytes = bytes.get(decoded.consumed..).unwrap_or_default();
    }
    // One payload, and the decoder back at a chunk boundary (a trailing CRLF consumed).
    payloads == 1 && decoder.decode(b"0\r\n\r\n").is_ok_and(|d| d.end)
}
