//! A scripted `ClientSession` under a fake clock: the first connection opens, delivers two
//! events and is reset in the middle of a third; the session backs off within the bounds the
//! server's `retry:` sets, reconnects at the exact deadline with `Last-Event-ID` of the last
//! complete event, reads more events, and reconnects once the stream stays silent for the idle
//! limit the server's keep-alive announcement sized (not one millisecond before).
//!
//! The responses are canned bytes (a chunked `200` with `text/event-stream`) fed in odd-sized
//! pieces, so heads, chunk sizes and fields all straddle piece edges. Every request the
//! session writes is read back with the crate's own request reader.

use core::time::Duration;

use heapless::{String, Vec};
use sansse::Instant;
use sansse::backoff::DelayReason;
use sansse::client::{
    Action, ClientConfig, ClientSession, ClientStorage, ErrorKind, ReconnectReason, SessionEvent,
    State, TimerReason,
};
use sansse::heartbeat::IdleConfig;
use sansse::http::{BodyFraming, HeadLimits, HeadStatus, RequestReader};

use crate::report::Report;

/// The idle limit before any announcement; the server's `:keepalive 5000` replaces it.
const IDLE: Duration = Duration::from_secs(20);

/// Default backoff (50 % jitter on top of the reconnection time); the server's `retry: 2000`
/// sets the reconnection time, so every first attempt waits 2 to 3 s.
const CONFIG: ClientConfig<'static> = ClientConfig::new("sensors.local", "/events")
    .with_port(8080)
    .with_idle(IdleConfig::new().with_timeout(IDLE));

/// `5000 ms * 2 + 5 s`: the default factor and margin applied to the announced interval.
const ANNOUNCED_IDLE: Duration = Duration::from_secs(15);

/// The shortest and longest first-attempt delay after `retry: 2000` with 50 % jitter.
const DELAY_MIN: Duration = Duration::from_millis(2_000);
const DELAY_MAX: Duration = Duration::from_millis(3_000);

/// Buffers sized for the micro:bit: 1 KiB events, 512-byte response heads, 256-byte requests
/// (enough for the longest `Last-Event-ID`), 128 bytes for a redirect target.
type Storage = ClientStorage<1024, 512, 256, 128>;

/// The first response: its head, one whole chunk ending inside an `event:` line, and a second
/// chunk (with an extension) cut off inside event 3 by a connection reset.
const FIRST: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/event-stream\r\n\
Cache-Control: no-cache\r\n\
Transfer-Encoding: chunked\r\n\r\n\
2E\r\n:keepalive 5000\n\nretry: 2000\n\nid: 1\nevent: rea\r\n\
46;seq=2\r\nding\ndata: t=21.5\n\nid: 2\ndata: line one\ndata: line two\n\nid: 3\ndata: cu";

/// The second response: event 3 again, whole, then event 4; the stream then stays open.
const SECOND: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/event-stream\r\n\
Transfer-Encoding: chunked\r\n\r\n\
43\r\n:keepalive 5000\n\nid: 3\ndata: cut short, sent again\n\nid: 4\nevent: al\r\n\
1C\r\narm\ndata: over temperature\n\n\r\n";

/// The step of the fake clock between pieces, and the margin before a deadline.
const ONE_MS: Duration = Duration::from_millis(1);

/// Piece sizes, cycled: reads from a socket rarely line up with anything.
const PIECES: [usize; 6] = [7, 1, 13, 3, 29, 2];

/// The session's start: any origin works, as long as the script never goes below it.
const T0: Instant = Instant::from_millis(1_000_000);

pub(crate) fn run(report: &mut Report) {
    let mut storage = Storage::new();
    let mut session = match ClientSession::new(T0, CONFIG, storage.buffers(), 0x5EED) {
        Ok(session) => session,
        Err(e) => {
            report.record(format_args!("client: session built"), Err(e));
            return;
        }
    };
    let mut now = T0;

    // First attempt: a Connect, then the request once the shell reports the socket up.
    report.eq(
        "client: starts connecting",
        session.state(),
        State::Connecting,
    );
    report.eq(
        "client: first action",
        session.poll_action(),
        Some(Action::Connect {
            host: "sensors.local",
            port: 8080,
            cross_origin: false,
        }),
    );
    report.eq("client: one action", session.poll_action(), None);
    report.eq(
        "client: connect timeout armed",
        deadline(&session),
        Some((
            T0 + ClientConfig::DEFAULT_CONNECT_TIMEOUT,
            TimerReason::Connect,
        )),
    );
    now += Duration::from_millis(4);
    report.record(
        format_args!("client: request written"),
        session.handle_connected(now),
    );
    check_request(report, &mut session, "client: first request", None);

    // The stream opens; two events arrive whole, the third is cut by a reset.
    now += Duration::from_millis(6);
    let mut got = Messages::new();
    feed(&mut session, &mut now, FIRST, &mut got);
    report.eq(
        "client: first connection, no skipped events",
        got.skipped,
        0,
    );
    report.eq(
        "client: first connection, messages",
        got.list.as_slice(),
        &[
            msg("reading", "t=21.5", "1"),
            msg("message", "line one\nline two", "2"),
        ][..],
    );
    report.eq(
        "client: open event",
        session.poll_event(),
        Some(SessionEvent::Open {
            status: 200,
            framing: BodyFraming::Chunked,
        }),
    );
    report.eq(
        "client: retry event",
        session.poll_event(),
        Some(SessionEvent::RetryChanged(DELAY_MIN)),
    );
    report.eq("client: no more story", session.poll_event(), None);
    report.eq("client: open", session.state(), State::Open);
    report.eq(
        "client: idle limit sized by the announcement",
        session.idle_limit(),
        Some(ANNOUNCED_IDLE),
    );
    report.eq("client: last event id", session.last_event_id(), "2");

    now += Duration::from_millis(5);
    session.handle_error(now, ErrorKind::ConnectionReset);
    let Some(at) = expect_reconnect(
        report,
        &mut session,
        now,
        "client: reset",
        ReconnectReason::Io(ErrorKind::ConnectionReset),
    ) else {
        return;
    };
    report.eq(
        "client: the cut event's id is not taken",
        session.last_event_id(),
        "2",
    );

    // The backoff deadline, exactly: nothing a millisecond early, a Connect at it.
    session.handle_timeout(at.saturating_sub(ONE_MS));
    report.eq(
        "client: 1 ms before the retry, no action",
        session.poll_action(),
        None,
    );
    report.eq(
        "client: 1 ms before the retry, waiting",
        session.state(),
        State::Waiting,
    );
    session.handle_timeout(at);
    report.eq(
        "client: at the retry deadline, connect",
        session.poll_action(),
        Some(Action::Connect {
            host: "sensors.local",
            port: 8080,
            cross_origin: false,
        }),
    );
    now = at + Duration::from_millis(3);
    report.record(
        format_args!("client: second request written"),
        session.handle_connected(now),
    );
    check_request(report, &mut session, "client: second request", Some("2"));

    // The server resumes after event 2.
    now += Duration::from_millis(6);
    let mut got = Messages::new();
    feed(&mut session, &mut now, SECOND, &mut got);
    report.eq(
        "client: second connection, no skipped events",
        got.skipped,
        0,
    );
    report.eq(
        "client: second connection, messages",
        got.list.as_slice(),
        &[
            msg("message", "cut short, sent again", "3"),
            msg("alarm", "over temperature", "4"),
        ][..],
    );
    report.eq(
        "client: reopened",
        session.poll_event(),
        Some(SessionEvent::Open {
            status: 200,
            framing: BodyFraming::Chunked,
        }),
    );
    report.eq("client: no retry change", session.poll_event(), None);
    report.eq("client: last event id 4", session.last_event_id(), "4");

    // Silence: the idle watchdog fires exactly at last byte + announced limit.
    let idle_at = now + ANNOUNCED_IDLE;
    report.eq(
        "client: idle deadline",
        deadline(&session),
        Some((idle_at, TimerReason::Idle)),
    );
    session.handle_timeout(idle_at.saturating_sub(ONE_MS));
    report.eq(
        "client: 1 ms before idle, no action",
        session.poll_action(),
        None,
    );
    report.eq(
        "client: 1 ms before idle, no story",
        session.poll_event(),
        None,
    );
    report.eq(
        "client: 1 ms before idle, still open",
        session.state(),
        State::Open,
    );
    session.handle_timeout(idle_at);
    let Some(at) = expect_idle_reconnect(report, &mut session, idle_at) else {
        return;
    };
    session.handle_timeout(at);
    report.check(
        "client: after idle, connect at the deadline",
        matches!(session.poll_action(), Some(Action::Connect { .. })),
    );
    report.record(
        format_args!("client: third request written"),
        session.handle_connected(at),
    );
    check_request(report, &mut session, "client: third request", Some("4"));
}

/// What the messages of one connection were.
struct Messages {
    list: Vec<Msg, 4>,
    skipped: u32,
}

impl Messages {
    fn new() -> Self {
        Self {
            list: Vec::new(),
            skipped: 0,
        }
    }
}

/// One event, copied out of the session's borrow: (type, data, id).
#[derive(Debug, PartialEq)]
struct Msg {
    event_type: String<16>,
    data: String<32>,
    id: String<8>,
}

fn msg(event_type: &str, data: &str, id: &str) -> Msg {
    Msg {
        event_type: text(event_type),
        data: text(data),
        id: text(id),
    }
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

/// Feeds `bytes` in [`PIECES`]-sized pieces, one millisecond apart from `now` (left at the
/// last piece), draining every message into `got`.
#[inline(never)]
fn feed(session: &mut ClientSession<'_>, now: &mut Instant, bytes: &[u8], got: &mut Messages) {
    let mut rest = bytes;
    let mut sizes = PIECES.iter().cycle();
    let mut first = true;
    while !rest.is_empty() {
        let size = sizes.next().copied().unwrap_or(1).min(rest.len());
        let (piece, tail) = rest.split_at(size);
        rest = tail;
        if !first {
            *now += ONE_MS;
        }
        first = false;
        let mut messages = session.handle_bytes(*now, piece);
        while let Some(message) = messages.next() {
            match message {
                Ok(event) => {
                    // A full list fails the comparison through the missing entry.
                    let _ = got
                        .list
                        .push(msg(event.event_type(), event.data(), event.id()));
                }
                Err(_) => got.skipped += 1,
            }
        }
    }
}

/// Drains the request of the current connection and checks it with the crate's request
/// reader: a `GET` for the configured target that accepts an event stream, with
/// `Last-Event-ID` exactly when `id` is given.
#[inline(never)]
fn check_request(
    report: &mut Report,
    session: &mut ClientSession<'_>,
    what: &str,
    id: Option<&str>,
) {
    let mut request = Vec::<u8, 256>::new();
    // A small, odd buffer: the rest stays queued for the next call. `T0` as `now`: the
    // session clamps time that goes backwards, and transmitting arms no timer.
    let mut buf = [0u8; 23];
    let mut overflow = false;
    while let Some(n) = session.poll_transmit(T0, &mut buf) {
        if n == 0 || request.extend_from_slice(&buf[..n]).is_err() {
            overflow = true;
            break;
        }
    }
    report.check(format_args!("{what}: fits 256 bytes"), !overflow);
    let mut storage = [0u8; 256];
    let mut reader = RequestReader::new(&mut storage, HeadLimits::DEFAULT);
    report.eq(
        format_args!("{what}: one whole head"),
        reader.handle_bytes(&request),
        Ok(HeadStatus::Complete {
            consumed: request.len(),
        }),
    );
    let Some(head) = reader.head() else {
        return;
    };
    report.eq(format_args!("{what}: method"), head.method(), "GET");
    report.eq(format_args!("{what}: path"), head.path(), "/events");
    report.eq(
        format_args!("{what}: host"),
        head.host(),
        Some("sensors.local:8080"),
    );
    report.eq(
        format_args!("{what}: accept"),
        head.accept(),
        Some("text/event-stream"),
    );
    report.eq(
        format_args!("{what}: last-event-id"),
        head.last_event_id(),
        id,
    );
}

/// Checks the `Disconnect` and `Reconnecting` that follow a dropped connection at `now` and
/// returns when the next attempt is due.
#[inline(never)]
fn expect_reconnect(
    report: &mut Report,
    session: &mut ClientSession<'_>,
    now: Instant,
    what: &str,
    reason: ReconnectReason,
) -> Option<Instant> {
    report.eq(
        format_args!("{what}: disconnect"),
        session.poll_action(),
        Some(Action::Disconnect),
    );
    report.eq(
        format_args!("{what}: one action"),
        session.poll_action(),
        None,
    );
    report.eq(
        format_args!("{what}: waiting"),
        session.state(),
        State::Waiting,
    );
    let event = session.poll_event();
    let Some(SessionEvent::Reconnecting { delay, reason: got }) = event else {
        report.record(
            format_args!("{what}: reconnecting"),
            Err(NotReconnecting(event.is_some())),
        );
        return None;
    };
    report.eq(format_args!("{what}: reason"), got, reason);
    check_delay(report, session, now, what, delay);
    Some(delay.at)
}

/// As [`expect_reconnect`] for the idle watchdog, whose reason carries the limit and the last
/// activity.
#[inline(never)]
fn expect_idle_reconnect(
    report: &mut Report,
    session: &mut ClientSession<'_>,
    now: Instant,
) -> Option<Instant> {
    let what = "client: idle";
    report.eq(
        format_args!("{what}: disconnect"),
        session.poll_action(),
        Some(Action::Disconnect),
    );
    report.eq(
        format_args!("{what}: one action"),
        session.poll_action(),
        None,
    );
    report.eq(
        format_args!("{what}: waiting"),
        session.state(),
        State::Waiting,
    );
    let event = session.poll_event();
    let Some(SessionEvent::Reconnecting {
        delay,
        reason: ReconnectReason::Idle(expired),
    }) = event
    else {
        report.record(
            format_args!("{what}: reconnecting"),
            Err(NotReconnecting(event.is_some())),
        );
        return None;
    };
    report.eq(format_args!("{what}: limit"), expired.limit, ANNOUNCED_IDLE);
    check_delay(report, session, now, what, delay);
    Some(delay.at)
}

/// A first attempt (the connection before was stable, or it is the first outage) waits the
/// server's 2 s plus up to 50 % jitter, and the session's deadline is that attempt.
fn check_delay(
    report: &mut Report,
    session: &ClientSession<'_>,
    now: Instant,
    what: &str,
    delay: sansse::backoff::Delay,
) {
    report.eq(format_args!("{what}: attempt"), delay.attempt, 1);
    report.eq(
        format_args!("{what}: delay reason"),
        delay.reason,
        DelayReason::ReconnectionTime,
    );
    report.check(
        format_args!(
            "{what}: delay {} ms within 2000..=3000",
            delay.delay.as_millis()
        ),
        (DELAY_MIN..=DELAY_MAX).contains(&delay.delay),
    );
    report.eq(
        format_args!("{what}: delay end"),
        delay.at,
        now + delay.delay,
    );
    report.eq(
        format_args!("{what}: deadline"),
        deadline(session),
        Some((delay.at, TimerReason::Reconnect)),
    );
}

/// The next deadline as a comparable pair.
fn deadline(session: &ClientSession<'_>) -> Option<(Instant, TimerReason)> {
    session.poll_deadline().map(|d| (d.at, d.reason))
}

/// The story did not go on with `Reconnecting`.
struct NotReconnecting(bool);

impl core::fmt::Display for NotReconnecting {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.0 {
            "another event came instead of Reconnecting"
        } else {
            "no Reconnecting event"
        })
    }
}
