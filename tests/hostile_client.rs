//! Issue 14, hostile peers, the client half: the pull [`Client`] (async, on smol) and, where
//! cheap, the [`BlockingClient`] against small hostile servers on loopback.
//!
//! Every case ends in a typed outcome the application hears as an item (a `Closed` story with
//! its reason, a `Reconnecting` story with its reason, or a `Skipped` event), never in a panic
//! or a hang: each run is bounded by a timer and the test asserts the timer did not win. The
//! client's buffers are fixed at construction, so nothing it holds can grow with what the
//! server sends; the tests that push megabytes measure the process's resident set size before
//! and after and bound its growth by [`RSS_BOUND`]. Each hostile server is stopped at the end of
//! its test, and its thread joined, so every socket is closed.

#![cfg(all(feature = "futures-io-0.3", feature = "std"))]

mod hostile_client_support;

use core::time::Duration;
use std::sync::mpsc;
use std::time::Instant as StdInstant;

use hostile_client_support::{Conn, Hostile, SSE_HEAD, open_fds, rss_bytes, serial};
use sansse::client::{CloseReason, ReconnectReason, SessionEvent};
use sansse::heartbeat::IdleConfig;
use sansse::http::{BodyError, Failure, FramingError, HeadLimits, ResponseError};
use sansse::io::client::BlockingClient;
use sansse::io::{FuturesIo, StdTimer};
use sansse::parse::ParseError;
use sansse::time::StdOrigin;
use sansse::{Client, ClientConfig, ClientItem, ClientMemory};

/// The longest a run of the client may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// The most the resident set size may grow over a test that streams megabytes at the client.
/// The client's buffers are fixed (a few KiB); the bound leaves room for the allocator, the
/// executor and the test's own bookkeeping, and is far below what buffering the input would
/// take (8 MiB to 100 MB).
const RSS_BOUND: u64 = 8 << 20;

/// The default head buffer of [`ClientMemory`].
const HEAD_BUFFER: usize = 2048;

/// What a run heard, owned.
#[derive(Debug, Default)]
struct Heard {
    /// Ids and data of the events, in order.
    events: Vec<(String, String)>,
    skipped: Vec<ParseError>,
    opened: usize,
    reconnects: Vec<ReconnectReason>,
    closed: Option<CloseReason>,
}

impl Heard {
    fn hear(&mut self, item: ClientItem<'_>) {
        match item {
            ClientItem::Event(event) => self
                .events
                .push((event.id().to_owned(), event.data().to_owned())),
            ClientItem::Skipped(error) => self.skipped.push(error),
            ClientItem::Story(SessionEvent::Open { .. }) => self.opened += 1,
            ClientItem::Story(SessionEvent::Reconnecting { reason, .. }) => {
                self.reconnects.push(reason);
            }
            ClientItem::Story(SessionEvent::Closed { reason }) => self.closed = Some(reason),
            _ => {}
        }
    }
}

/// A config for `server`, with a fast backoff so that reconnects show within the patience.
fn config(server: &Hostile) -> ClientConfig<'static> {
    config_for(server.addr.port())
}

/// [`config`] for a port.
fn config_for(port: u16) -> ClientConfig<'static> {
    ClientConfig::new("127.0.0.1", "/events")
        .with_port(port)
        .with_backoff(
            sansse::backoff::BackoffConfig::new()
                .with_reconnection_time(Duration::from_millis(20))
                .with_max_backoff(Duration::from_millis(100)),
        )
}

/// Runs the pull client on smol in `memory` until the session closes by itself or `enough`
/// holds (then the application closes it); panics if that takes longer than `patience`.
fn pull<const P: usize, const H: usize, const RX: usize>(
    config: ClientConfig<'static>,
    memory: &mut ClientMemory<P, H, 1024, 512, RX, 512>,
    patience: Duration,
    enough: impl Fn(&Heard) -> bool,
) -> Heard {
    let mut heard = Heard::default();
    let connect = async |host: &str, port: u16| {
        let stream = smol::net::TcpStream::connect((host, port)).await?;
        Ok::<_, std::io::Error>(FuturesIo::new(stream))
    };
    let mut client = Client::with_timer(config, connect, StdTimer::new(), 7, memory).unwrap();
    let finished = smol::block_on(smol::future::or(
        async {
            let mut closing = false;
            while let Some(item) = client.next().await {
                heard.hear(item);
                if !closing && heard.closed.is_none() && enough(&heard) {
                    closing = true;
                    client.close();
                }
            }
            true
        },
        async {
            smol::Timer::after(patience).await;
            false
        },
    ));
    assert!(
        finished,
        "the client did not end within {patience:?}: {heard:?}"
    );
    heard
}

/// [`pull`] with the default memory.
fn pull_default(config: ClientConfig<'static>, enough: impl Fn(&Heard) -> bool) -> Heard {
    let mut memory: ClientMemory = ClientMemory::new();
    pull(config, &mut memory, PATIENCE, enough)
}

/// The blocking client on a thread of its own with the default memory, until the session
/// closes by itself or `enough` holds; panics if that takes longer than [`PATIENCE`] (the
/// thread is then left behind: the test fails anyway).
fn pull_blocking(
    config: ClientConfig<'static>,
    enough: impl Fn(&Heard) -> bool + Send + 'static,
) -> Heard {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let mut memory: ClientMemory = ClientMemory::new();
        let mut client =
            BlockingClient::with_memory(config, StdOrigin::now(), 7, &mut memory).unwrap();
        let mut heard = Heard::default();
        let mut closing = false;
        while let Some(item) = client.next() {
            heard.hear(item);
            if !closing && heard.closed.is_none() && enough(&heard) {
                closing = true;
                client.close();
            }
        }
        let _ = done.send(heard);
    });
    finished
        .recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("the blocking client did not end within {PATIENCE:?}"))
}

fn reconnects(n: usize) -> impl Fn(&Heard) -> bool + Send + 'static {
    move |heard| heard.reconnects.len() >= n
}

/// Prints a measurement of the run (shown with `--nocapture`).
fn report(case: &str, started: StdInstant, rss_before: u64, server: &Hostile) {
    let rss_after = rss_bytes();
    println!(
        "{case}: {:?}, {} connections, {} bytes sent by the server, RSS {} KiB -> {} KiB",
        started.elapsed(),
        server.accepted(),
        server.sent(),
        rss_before >> 10,
        rss_after >> 10
    );
}

/// Opens smol's reactor (its epoll and notification descriptors and its thread live for the
/// rest of the process), so that a count of open descriptors after this sees only sockets.
fn warm_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    smol::block_on(async {
        smol::Timer::after(Duration::from_millis(1)).await;
        drop(smol::net::TcpStream::connect(addr).await.unwrap());
    });
}

/// Every socket of the run is closed: the count of open descriptors is back to `before`.
fn assert_sockets_closed(case: &str, before: usize) {
    assert_eq!(open_fds(), before, "{case}: a socket was left open");
}

fn assert_rss_flat(case: &str, before: u64) {
    let after = rss_bytes();
    assert!(
        after.saturating_sub(before) < RSS_BOUND,
        "{case}: RSS grew from {before} to {after} bytes, more than {RSS_BOUND}"
    );
}

// 1. An endless header line ---------------------------------------------------------------------

/// Streams a `200` status line and then one header line without end: `total` bytes of it.
fn endless_header_line(total: u64) -> impl Fn(&mut Conn<'_>) + Send + 'static {
    move |conn| {
        let block = [b'a'; 64 << 10];
        let _ = conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Endless: ")
            && conn.send_repeated(&block, total);
        conn.hold();
    }
}

/// An endless header line (8 MiB of it, streamed) fills the 2 KiB head buffer: the session
/// closes once with `CloseReason::HeadTooLarge { limit: 2048 }` and never reconnects. Right,
/// because the same server would send the same head again: a reconnect would loop for ever,
/// and the fix is a larger head buffer, which is the application's to give. Nothing is read
/// past the head buffer, so memory stays flat.
#[test]
fn an_endless_header_line_closes_once_with_head_too_large() {
    let _one = serial();
    warm_up();
    let fds = open_fds();
    let rss = rss_bytes();
    let started = StdInstant::now();
    let server = Hostile::start(true, endless_header_line(8 << 20));

    let heard = pull_default(config(&server), |_| false);

    assert_eq!(
        heard.closed,
        Some(CloseReason::HeadTooLarge { limit: HEAD_BUFFER })
    );
    assert!(heard.reconnects.is_empty(), "{heard:?}");
    assert_eq!((heard.opened, heard.events.len()), (0, 0));
    assert_eq!(server.accepted(), 1);
    report("endless header line", started, rss, &server);
    assert_rss_flat("endless header line", rss);
    drop(server);
    assert_sockets_closed("endless header line", fds);
}

/// The same on the blocking client: one `HeadTooLarge` close, no reconnect.
#[test]
fn an_endless_header_line_closes_the_blocking_client_once_too() {
    let _one = serial();
    let server = Hostile::start(true, endless_header_line(8 << 20));

    let heard = pull_blocking(config(&server), |_| false);

    assert_eq!(
        heard.closed,
        Some(CloseReason::HeadTooLarge { limit: HEAD_BUFFER })
    );
    assert!(heard.reconnects.is_empty(), "{heard:?}");
    assert_eq!(server.accepted(), 1);
}

/// An endless status line is bounded by `HeadLimits::max_start_line` (2 KiB by default), before
/// the head buffer: the attempt is dropped as `InvalidResponse(StatusLineTooLong)` and retried
/// with backoff. A status line that long is not HTTP at all (a wrong port, a garbage peer), which
/// a reconnect may well outlive, so the session retries; every attempt costs the backoff delay
/// and no memory.
#[test]
fn an_endless_status_line_is_retried_as_an_invalid_response() {
    let _one = serial();
    warm_up();
    let fds = open_fds();
    let rss = rss_bytes();
    let started = StdInstant::now();
    let server = Hostile::start(true, |conn| {
        let block = [b'1'; 64 << 10];
        let _ = conn.send(b"HTTP/1.1 200 ") && conn.send_repeated(&block, 4 << 20);
        conn.hold();
    });

    let heard = pull_default(config(&server), reconnects(3));

    assert_eq!(
        heard.reconnects[..3],
        [ReconnectReason::InvalidResponse(ResponseError::StatusLineTooLong); 3]
    );
    assert_eq!(heard.closed, Some(CloseReason::Local));
    report("endless status line", started, rss, &server);
    assert_rss_flat("endless status line", rss);
    drop(server);
    assert_sockets_closed("endless status line", fds);
}

// 2. 10k headers --------------------------------------------------------------------------------

/// A `200` event-stream head with `count` extra header lines, then an event.
fn many_headers(count: usize) -> impl Fn(&mut Conn<'_>) + Send + 'static {
    let mut head = String::from("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n");
    for n in 0..count {
        head.push_str(&format!("X-Header-{n}: v\r\n"));
    }
    head.push_str("\r\nid: 1\ndata: never\n\n");
    move |conn| {
        let _ = conn.send(head.as_bytes());
        conn.hold();
    }
}

/// 10 000 headers (about 190 KB) against the default limit of 32 header lines: the session
/// closes once at the 33rd line with `CloseReason::TooManyHeaders { limit: 32 }` and never
/// reconnects. Right for the reason a head over the head buffer closes: the limit is the
/// application's configuration and the same server sends the same head on every reconnect, so
/// retrying would loop for ever (it did, as `InvalidResponse(TooManyHeaders)`, before this
/// test). The head never opens, and nothing past the 33rd line is stored.
#[test]
fn ten_thousand_headers_close_once_with_too_many_headers() {
    let _one = serial();
    warm_up();
    let fds = open_fds();
    let rss = rss_bytes();
    let started = StdInstant::now();
    let server = Hostile::start(true, many_headers(10_000));

    let heard = pull_default(config(&server), |_| false);

    assert_eq!(
        heard.closed,
        Some(CloseReason::TooManyHeaders { limit: 32 })
    );
    assert!(heard.reconnects.is_empty(), "{heard:?}");
    assert_eq!((heard.opened, heard.events.len()), (0, 0));
    assert_eq!(server.accepted(), 1);
    report("10k headers", started, rss, &server);
    assert_rss_flat("10k headers", rss);
    drop(server);
    assert_sockets_closed("10k headers", fds);
}

/// The blocking client closes once on 10 000 headers too.
#[test]
fn ten_thousand_headers_close_the_blocking_client_once_too() {
    let _one = serial();
    let server = Hostile::start(true, many_headers(10_000));

    let heard = pull_blocking(config(&server), |_| false);

    assert_eq!(
        heard.closed,
        Some(CloseReason::TooManyHeaders { limit: 32 })
    );
    assert!(heard.reconnects.is_empty(), "{heard:?}");
    assert_eq!(server.accepted(), 1);
}

/// With the header count limit lifted past 10 000, the head buffer is the bound: the session
/// closes once with `HeadTooLarge`, as for any head that overflows it.
#[test]
fn ten_thousand_headers_past_a_lifted_count_limit_close_with_head_too_large() {
    let _one = serial();
    let server = Hostile::start(true, many_headers(10_000));
    let limits = HeadLimits::new().with_max_headers(20_000);

    let heard = pull_default(config(&server).with_head_limits(limits), |_| false);

    assert_eq!(
        heard.closed,
        Some(CloseReason::HeadTooLarge { limit: HEAD_BUFFER })
    );
    assert!(heard.reconnects.is_empty(), "{heard:?}");
    assert_eq!(server.accepted(), 1);
}

// 3. Chunk sizes that overflow ------------------------------------------------------------------

/// A chunked `200` event-stream head, then `size_line`.
fn chunked_then(size_line: &'static str) -> impl Fn(&mut Conn<'_>) + Send + 'static {
    move |conn| {
        let _ = conn.send(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                 Transfer-Encoding: chunked\r\n\r\n{size_line}"
            )
            .as_bytes(),
        );
        conn.hold();
    }
}

/// Chunk sizes past 64 bits (`FFFFFFFFFFFFFFFFFFFF`, 2^64 as `10000000000000000`) are
/// `InvalidBody(ChunkSizeOverflow)`, and negative or garbage sizes (`-1`, `0x10`, `zz`, an empty
/// size line) `InvalidBody(InvalidChunkSize)`: the stream opened, so the framing error drops the
/// connection and the session reconnects (the decoder's size is a checked `u64`, never a wrapped
/// one that would read the next event as chunk data).
#[test]
fn chunk_sizes_that_overflow_or_are_garbage_drop_the_connection() {
    let _one = serial();
    let cases = [
        ("FFFFFFFFFFFFFFFFFFFF\r\n", BodyError::ChunkSizeOverflow),
        ("10000000000000000\r\n", BodyError::ChunkSizeOverflow),
        ("-1\r\n", BodyError::InvalidChunkSize),
        ("0x10\r\n", BodyError::InvalidChunkSize),
        ("zz\r\n", BodyError::InvalidChunkSize),
        ("\r\n", BodyError::InvalidChunkSize),
    ];
    for (line, error) in cases {
        let server = Hostile::start(true, chunked_then(line));

        let heard = pull_default(config(&server), reconnects(2));

        assert_eq!(
            heard.reconnects[..2],
            [ReconnectReason::InvalidBody(error); 2],
            "{line:?}"
        );
        assert_eq!(heard.opened, 2, "{line:?}");
        assert!(heard.events.is_empty(), "{line:?}");
        assert_eq!(heard.closed, Some(CloseReason::Local), "{line:?}");
    }
}

/// The largest size that fits (`FFFFFFFFFFFFFFFF`, u64::MAX) is a valid chunk: its data is read
/// as events as it comes, with no buffer sized from it, and a server that then closes is
/// reconnected to (`Eof`).
#[test]
fn the_largest_chunk_size_is_streamed_not_allocated() {
    let _one = serial();
    let server = Hostile::start(true, |conn| {
        let _ = conn.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
              Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nid: 1\ndata: in a huge chunk\n\n",
        );
    });

    let heard = pull_default(config(&server), reconnects(1));

    assert_eq!(heard.events[0], ("1".into(), "in a huge chunk".into()));
    assert!(
        matches!(
            heard.reconnects[0],
            ReconnectReason::Eof | ReconnectReason::InvalidBody(BodyError::Truncated)
        ),
        "{heard:?}"
    );
}

/// The blocking client drops the connection on an overflowing chunk size the same way.
#[test]
fn an_overflowing_chunk_size_drops_the_blocking_client_connection_too() {
    let _one = serial();
    let server = Hostile::start(true, chunked_then("FFFFFFFFFFFFFFFFFFFF\r\n"));

    let heard = pull_blocking(config(&server), reconnects(2));

    assert_eq!(
        heard.reconnects[..2],
        [ReconnectReason::InvalidBody(BodyError::ChunkSizeOverflow); 2]
    );
}

/// A `Content-Length` past u64 (or signed, or doubled with different values) is a framing the
/// client cannot decode: the session closes once with `Failed(Framing(InvalidContentLength))`.
/// Right, because the server would frame the next response the same way, and reading the body
/// to the close instead could run into the next response on a reused connection.
#[test]
fn content_lengths_that_overflow_or_conflict_close_once() {
    let _one = serial();
    let lengths = [
        "Content-Length: 99999999999999999999999\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: +4\r\n",
        "Content-Length: 4\r\nContent-Length: 5\r\n",
    ];
    for length in lengths {
        let server = Hostile::start(true, move |conn| {
            let _ = conn.send(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n{length}\r\n\
                     data: x\n\n"
                )
                .as_bytes(),
            );
            conn.hold();
        });

        let heard = pull_default(config(&server), |_| false);

        assert_eq!(
            heard.closed,
            Some(CloseReason::Failed(Failure::Framing(
                FramingError::InvalidContentLength
            ))),
            "{length:?}"
        );
        assert!(heard.reconnects.is_empty(), "{length:?}: {heard:?}");
        assert!(heard.events.is_empty(), "{length:?}: {heard:?}");
    }
}

/// Chunk framing without end but without harm: 8 MiB of leading zeros in a chunk size, an
/// 8 MiB chunk extension, and an 8 MiB trailer line are read as they stream past with nothing
/// kept (the decoder holds a `u64` and a state), so memory stays flat; the events around them
/// arrive. (Bytes keep arriving, so the idle watchdog does not fire: such a server costs the
/// client only the bytes it reads.)
#[test]
fn endless_chunk_framing_streams_past_in_constant_memory() {
    const RUN: u64 = 8 << 20;
    let _one = serial();
    let rss = rss_bytes();
    let event = "id: 1\ndata: one\n\n";
    // Before the run, after it, and the filler byte.
    let cases: [(String, String, u8); 3] = [
        (
            String::new(),
            format!("{:x}\r\n{event}\r\n", event.len()),
            b'0',
        ),
        (
            format!("{:x};ext=", event.len()),
            format!("\r\n{event}\r\n"),
            b'e',
        ),
        (
            format!("{:x}\r\n{event}\r\n0\r\nX-Trailer: ", event.len()),
            "\r\n\r\n".into(),
            b't',
        ),
    ];
    for (before, after, filler) in cases {
        let started = StdInstant::now();
        let case = format!("endless chunk framing {:?}", filler as char);
        let server = Hostile::start(true, move |conn| {
            let block = [filler; 64 << 10];
            let _ = conn.send(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                     Transfer-Encoding: chunked\r\n\r\n{before}"
                )
                .as_bytes(),
            ) && conn.send_repeated(&block, RUN)
                && conn.send(after.as_bytes());
            conn.hold();
        });

        let heard = pull_default(config(&server), |heard| {
            !heard.events.is_empty() && heard.reconnects.len() >= usize::from(filler == b't')
        });

        assert_eq!(heard.events[0], ("1".into(), "one".into()), "{case}");
        match filler {
            // The last chunk and its trailer end the body: a reconnect, not an error.
            b't' => assert_eq!(heard.reconnects[0], ReconnectReason::BodyEnded, "{case}"),
            _ => assert!(heard.reconnects.is_empty(), "{case}: {heard:?}"),
        }
        assert!(server.sent() > RUN, "{case}");
        report(&case, started, rss, &server);
    }
    assert_rss_flat("endless chunk framing", rss);
}

// 4. A 100 MB event -----------------------------------------------------------------------------

/// The parser buffer of the big-event test.
const SMALL_PARSER: usize = 4096;

/// One `data:` line of 100 MB (streamed in 64 KiB writes) between two small events, against a
/// 4 KiB parser buffer: the client reports the big event once as
/// `Skipped(EventTooLarge { .. })`, stays in sync (no reconnect), and delivers the events on
/// either side. Right, because the event cannot be delivered whole and the stream after it is
/// intact; the application learns exactly what it lost. The parser discards the line as it
/// streams past, so memory stays flat.
#[test]
fn a_hundred_megabyte_event_is_skipped_in_a_few_kib() {
    const EVENT: u64 = 100_000_000;
    let _one = serial();
    warm_up();
    let fds = open_fds();
    let rss = rss_bytes();
    let started = StdInstant::now();
    let server = Hostile::start(true, |conn| {
        let block = [b'x'; 64 << 10];
        let _ = conn
            .send(format!("{SSE_HEAD}retry: 20\nid: 1\ndata: before\n\nid: 2\ndata: ").as_bytes())
            && conn.send_repeated(&block, EVENT)
            && conn.send(b"\n\nid: 3\ndata: after\n\n");
        conn.hold();
    });
    let mut memory = ClientMemory::<SMALL_PARSER, 2048, 1024, 512, 16384, 512>::new();

    let heard = pull(
        config(&server),
        &mut memory,
        Duration::from_secs(120),
        |heard| heard.events.len() >= 2,
    );

    assert_eq!(
        heard.events,
        [("1".into(), "before".into()), ("3".into(), "after".into())]
    );
    assert_eq!(heard.skipped.len(), 1, "{heard:?}");
    assert!(
        matches!(heard.skipped[0], ParseError::EventTooLarge { capacity } if capacity <= SMALL_PARSER),
        "{heard:?}"
    );
    assert!(heard.reconnects.is_empty(), "{heard:?}");
    assert!(server.sent() > EVENT);
    report("100 MB event", started, rss, &server);
    assert_rss_flat("100 MB event", rss);
    drop(server);
    assert_sockets_closed("100 MB event", fds);
}

/// What an endless line of one kind must come to.
#[derive(Clone, Copy, Debug)]
enum LineOutcome {
    /// The event it belongs to is skipped with this error (and the one after delivered).
    Skips(fn(&ParseError) -> bool),
    /// The line is ignored: the event it belongs to is delivered.
    Ignored,
}

/// Endless lines of every other kind, 8 MiB each, against a 4 KiB parser: an `id` or `event`
/// value longer than its limit skips its event (`IdTooLong`, `EventTypeTooLong`); a field name
/// without a colon, a comment, and `retry:` with 8 MiB of digits (a number far past u64) are
/// ignored as the spec says, with no overflow. In every case the stream stays in sync (no
/// reconnect), the next event arrives, and memory stays flat: no line is kept past the parser
/// buffer.
#[test]
fn endless_lines_of_every_kind_are_skipped_or_ignored_in_a_few_kib() {
    const LINE: u64 = 8 << 20;
    let _one = serial();
    let cases: [(&'static str, u8, LineOutcome); 5] = [
        (
            "id: ",
            b'7',
            LineOutcome::Skips(|e| matches!(e, ParseError::IdTooLong { .. })),
        ),
        (
            "event: ",
            b'e',
            LineOutcome::Skips(|e| matches!(e, ParseError::EventTypeTooLong { .. })),
        ),
        ("", b'f', LineOutcome::Ignored),
        (":", b'c', LineOutcome::Ignored),
        ("retry: ", b'9', LineOutcome::Ignored),
    ];
    let rss = rss_bytes();
    for (prefix, filler, outcome) in cases {
        let started = StdInstant::now();
        let server = Hostile::start(true, move |conn| {
            let block = [filler; 64 << 10];
            let _ = conn.send(format!("{SSE_HEAD}{prefix}").as_bytes())
                && conn.send_repeated(&block, LINE)
                && conn.send(b"\ndata: with\n\nid: 9\ndata: after\n\n");
            conn.hold();
        });
        let mut memory = ClientMemory::<SMALL_PARSER, 2048, 1024, 512, 16384, 512>::new();

        let heard = pull(config(&server), &mut memory, PATIENCE, |heard| {
            heard.events.iter().any(|(id, _)| id == "9")
        });

        let data: Vec<&str> = heard.events.iter().map(|(_, d)| d.as_str()).collect();
        match outcome {
            LineOutcome::Skips(expected) => {
                assert_eq!(data, ["after"], "{prefix:?}");
                assert_eq!(heard.skipped.len(), 1, "{prefix:?}: {heard:?}");
                assert!(expected(&heard.skipped[0]), "{prefix:?}: {heard:?}");
            }
            LineOutcome::Ignored => {
                assert_eq!(data, ["with", "after"], "{prefix:?}");
                assert!(heard.skipped.is_empty(), "{prefix:?}: {heard:?}");
            }
        }
        assert!(heard.reconnects.is_empty(), "{prefix:?}: {heard:?}");
        report(&format!("endless {prefix:?} line"), started, rss, &server);
    }
    assert_rss_flat("endless lines", rss);
}

/// The same 100 MB event inside a chunked body, in 64 KiB chunks: the chunk decoder hands the
/// parser slices of each read and keeps nothing, so the outcome is the same one skipped event,
/// the events around it, no reconnect, and flat memory.
#[test]
fn a_hundred_megabyte_event_in_a_chunked_body_is_skipped_in_a_few_kib() {
    const CHUNKS: u64 = 1526; // 1526 * 64 KiB: just over 100 MB.
    let _one = serial();
    let rss = rss_bytes();
    let started = StdInstant::now();
    let server = Hostile::start(true, |conn| {
        let chunk = |payload: &str| format!("{:x}\r\n{payload}\r\n", payload.len());
        let mut block = b"10000\r\n".to_vec();
        block.resize(block.len() + (64 << 10), b'x');
        block.extend_from_slice(b"\r\n");
        let _ = conn.send(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                 Transfer-Encoding: chunked\r\n\r\n{}",
                chunk("id: 1\ndata: before\n\nid: 2\ndata: ")
            )
            .as_bytes(),
        ) && conn.send_repeated(&block, CHUNKS * block.len() as u64)
            && conn.send(chunk("\n\nid: 3\ndata: after\n\n").as_bytes());
        conn.hold();
    });
    let mut memory = ClientMemory::<SMALL_PARSER, 2048, 1024, 512, 16384, 512>::new();

    let heard = pull(
        config(&server),
        &mut memory,
        Duration::from_secs(120),
        |heard| heard.events.len() >= 2,
    );

    assert_eq!(
        heard.events,
        [("1".into(), "before".into()), ("3".into(), "after".into())]
    );
    assert!(
        matches!(heard.skipped[..], [ParseError::EventTooLarge { .. }]),
        "{heard:?}"
    );
    assert!(heard.reconnects.is_empty(), "{heard:?}");
    assert!(server.sent() > CHUNKS * (64 << 10));
    report("100 MB event, chunked", started, rss, &server);
    assert_rss_flat("100 MB event, chunked", rss);
}

/// The blocking client, in its default memory (4 KiB parser, 1 KiB receive buffer), skips the
/// same 100 MB event the same way, in flat memory.
#[test]
fn a_hundred_megabyte_event_is_skipped_by_the_blocking_client_too() {
    const EVENT: u64 = 100_000_000;
    let _one = serial();
    let rss = rss_bytes();
    let started = StdInstant::now();
    let server = Hostile::start(true, |conn| {
        let block = [b'x'; 64 << 10];
        let _ = conn.send(format!("{SSE_HEAD}id: 1\ndata: before\n\nid: 2\ndata: ").as_bytes())
            && conn.send_repeated(&block, EVENT)
            && conn.send(b"\n\nid: 3\ndata: after\n\n");
        conn.hold();
    });

    let heard = pull_blocking(config(&server), |heard| heard.events.len() >= 2);

    assert_eq!(
        heard.events,
        [("1".into(), "before".into()), ("3".into(), "after".into())]
    );
    assert!(
        matches!(heard.skipped[..], [ParseError::EventTooLarge { .. }]),
        "{heard:?}"
    );
    assert!(heard.reconnects.is_empty(), "{heard:?}");
    report("100 MB event, blocking", started, rss, &server);
    assert_rss_flat("100 MB event, blocking", rss);
}

// 5. A server that accepts and never answers ----------------------------------------------------

/// A server that accepts (and reads the request) but never answers: the response head does not
/// come within the connect timeout (here 200 ms), so each attempt ends as `ConnectTimeout` and
/// is retried with backoff. The connect timeout runs from the connect to the complete head, so
/// a server that accepts and says nothing cannot hold the client.
/// Five such attempts leave no socket behind: each timed-out connection is dropped.
#[test]
fn a_server_that_never_answers_hits_the_response_head_deadline() {
    let _one = serial();
    warm_up();
    let fds = open_fds();
    let server = Hostile::start(true, |conn| conn.hold());
    let started = StdInstant::now();

    let heard = pull_default(
        config(&server).with_connect_timeout(Duration::from_millis(200)),
        reconnects(5),
    );

    assert_eq!(heard.reconnects[..5], [ReconnectReason::ConnectTimeout; 5]);
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert_eq!(heard.opened, 0);
    assert!(server.accepted() >= 5);
    drop(server);
    assert_sockets_closed("never answers", fds);
}

/// A listener that never even accepts: the kernel completes the handshake from its backlog and
/// takes the request into its buffer, so the client cannot tell this from a server that accepts
/// and says nothing, and the same response-head deadline ends each attempt.
#[test]
fn a_listener_that_never_accepts_hits_the_response_head_deadline() {
    let _one = serial();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = config_for(listener.local_addr().unwrap().port())
        .with_connect_timeout(Duration::from_millis(200));

    let heard = pull_default(config, reconnects(2));

    assert_eq!(heard.reconnects[..2], [ReconnectReason::ConnectTimeout; 2]);
    assert_eq!(heard.opened, 0);
    drop(listener);
}

/// A server that sends half a head and stalls is the same case: the deadline is on the whole
/// head, not on each byte.
#[test]
fn a_server_that_stalls_mid_head_hits_the_response_head_deadline() {
    let _one = serial();
    let server = Hostile::start(true, |conn| {
        let _ = conn.send(b"HTTP/1.1 200 OK\r\nContent-Ty");
        conn.hold();
    });

    let heard = pull_default(
        config(&server).with_connect_timeout(Duration::from_millis(200)),
        reconnects(2),
    );

    assert_eq!(heard.reconnects[..2], [ReconnectReason::ConnectTimeout; 2]);
    assert_eq!(heard.opened, 0);
}

/// The blocking client times out a server that never answers the same way (its socket
/// timeouts follow the session's deadline).
#[test]
fn a_server_that_never_answers_hits_the_blocking_client_deadline_too() {
    let _one = serial();
    let server = Hostile::start(true, |conn| conn.hold());

    let heard = pull_blocking(
        config(&server).with_connect_timeout(Duration::from_millis(200)),
        reconnects(2),
    );

    assert_eq!(heard.reconnects[..2], [ReconnectReason::ConnectTimeout; 2]);
}

// 6. 200 and then a stall -----------------------------------------------------------------------

/// Answers `200` with the event-stream head and one event, then says nothing.
fn answers_then_stalls(conn: &mut Conn<'_>) {
    let _ = conn.send(format!("{SSE_HEAD}id: 1\ndata: one\n\n").as_bytes());
    conn.hold();
}

/// The stall limit of these tests (no keep-alive announced, so the configured timeout).
const IDLE: Duration = Duration::from_millis(300);

/// A server that answers `200` with the head and an event, then stalls: no byte for the idle
/// limit (here 300 ms, the limit before any `:keepalive` announcement) and the session drops
/// the connection as `Idle` and reconnects, resuming after the event it got. A stall cannot
/// hold the client longer than the idle limit.
#[test]
fn a_stall_after_the_head_reconnects_after_the_idle_limit() {
    let _one = serial();
    let server = Hostile::start(true, answers_then_stalls);
    let started = StdInstant::now();

    let heard = pull_default(
        config(&server).with_idle(IdleConfig::new().with_timeout(IDLE)),
        reconnects(2),
    );

    assert!(started.elapsed() >= 2 * IDLE);
    assert_eq!(heard.opened, 2);
    for reason in &heard.reconnects[..2] {
        assert!(
            matches!(reason, ReconnectReason::Idle(expired) if expired.limit == IDLE),
            "{heard:?}"
        );
    }
    // The same event again on the second connection: this server ignores Last-Event-ID.
    assert_eq!(heard.events[0], ("1".into(), "one".into()));
    let requests = server.requests();
    assert!(!requests[0].contains("Last-Event-ID"), "{}", requests[0]);
    assert!(
        requests[1].contains("\r\nLast-Event-ID: 1\r\n"),
        "{}",
        requests[1]
    );
}

/// A stall in the middle of an event is the same stall: the idle limit drops the connection,
/// the cut-off event is never delivered, and the reconnect resumes after the last whole event.
#[test]
fn a_stall_mid_event_reconnects_and_resumes_before_the_cut_off_event() {
    let _one = serial();
    let server = Hostile::start(true, |conn| {
        let _ = conn.send(format!("{SSE_HEAD}id: 1\ndata: one\n\nid: 2\ndata: cut o").as_bytes());
        conn.hold();
    });

    let heard = pull_default(
        config(&server).with_idle(IdleConfig::new().with_timeout(IDLE)),
        reconnects(2),
    );

    assert!(
        heard.events.iter().all(|(id, _)| id == "1"),
        "the cut-off event was delivered: {heard:?}"
    );
    assert!(
        matches!(heard.reconnects[0], ReconnectReason::Idle(_)),
        "{heard:?}"
    );
    let requests = server.requests();
    assert!(
        requests[1].contains("\r\nLast-Event-ID: 1\r\n"),
        "{}",
        requests[1]
    );
}

/// The blocking client reconnects after the same stall.
#[test]
fn a_stall_after_the_head_reconnects_the_blocking_client_too() {
    let _one = serial();
    let server = Hostile::start(true, answers_then_stalls);

    let heard = pull_blocking(
        config(&server).with_idle(IdleConfig::new().with_timeout(IDLE)),
        reconnects(2),
    );

    assert_eq!(heard.opened, 2);
    for reason in &heard.reconnects[..2] {
        assert!(
            matches!(reason, ReconnectReason::Idle(expired) if expired.limit == IDLE),
            "{heard:?}"
        );
    }
}

// 7. A server that hangs up at once, asking for no delay ----------------------------------------

/// A server that opens the stream, sends `retry: 0` and an event, and hangs up, on every
/// connection: the client does not spin. The reconnection time is clamped to its floor
/// (100 ms by default) and, as no connection stays up for the stable time (10 s), the backoff
/// doubles on each `Eof`: about five connections in 1.5 s where a client that obeyed `retry: 0`
/// would make thousands.
#[test]
fn a_server_that_asks_for_no_delay_and_hangs_up_cannot_make_the_client_spin() {
    let _one = serial();
    let server = Hostile::start(true, |conn| {
        let _ = conn.send(format!("{SSE_HEAD}retry: 0\nid: 1\ndata: one\n\n").as_bytes());
    });
    let window = Duration::from_millis(1500);
    let started = StdInstant::now();
    let mut memory: ClientMemory = ClientMemory::new();

    let heard = pull(
        ClientConfig::new("127.0.0.1", "/events").with_port(server.addr.port()),
        &mut memory,
        PATIENCE,
        move |_| started.elapsed() > window,
    );

    let connections = server.accepted();
    println!("retry 0 and hang up: {connections} connections in {window:?}");
    assert!((2..=10).contains(&connections), "{connections} connections");
    assert!(
        heard.reconnects.iter().all(|r| *r == ReconnectReason::Eof),
        "{heard:?}"
    );
}
