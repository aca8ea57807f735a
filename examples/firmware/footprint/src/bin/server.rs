//! A whole server: `ServerSession`s reading one 32-event `replay::Ring`, driven by a shell loop
//! over canned requests under a fake clock.
//!
//! Three connections in turn: a fresh client that gets live events and a keep-alive comment,
//! then leaves; a client resuming after event 1 that gets the replay and more live events; and
//! a client with an id from another epoch that gets the gap event and every kept event, then a
//! graceful close. Every byte written and every story event is folded into the tally.

#![no_std]
#![no_main]

use core::hint::black_box;
use core::mem::MaybeUninit;
use core::time::Duration;

use sansse::Instant;
use sansse::encode::EventName;
use sansse::replay::Ring;
use sansse::server::{AcceptOptions, CloseOptions, ServerConfig, ServerSession, SessionEvent};
use sansse_firmware_footprint::{PIECE, Tally, run};

/// 32 events in 2 KiB, as a small device would keep for resume.
type Log = Ring<32, 2048>;

/// The request head storage lent to each session, and the transmit buffer.
const HEAD: usize = 512;
const TRANSMIT: usize = 256;

/// A `retry:` hint and keep-alives every 15 s (the default).
static CONFIG: ServerConfig<'static> = ServerConfig::new().with_retry(Some(Duration::from_secs(3)));

/// The requests of the three connections.
const FRESH: &[u8] = b"GET /events HTTP/1.1\r\nHost: sensors.local\r\n\
Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";
const RESUMING: &[u8] = b"GET /events HTTP/1.1\r\nHost: sensors.local\r\n\
Accept: text/event-stream\r\nLast-Event-ID: 7-1\r\n\r\n";
const FOREIGN: &[u8] = b"GET /events HTTP/1.1\r\nHost: sensors.local\r\n\
Accept: text/event-stream\r\nLast-Event-ID: 3-99\r\n\r\n";

/// What each connection does after it is accepted.
#[derive(Clone, Copy)]
struct Visit {
    request: &'static [u8],
    /// Events published while it is connected.
    publish: usize,
    /// Wait for one keep-alive before leaving.
    keepalive: bool,
    /// Leave by a graceful close from the server rather than the client's EOF.
    close: bool,
}

const VISITS: [Visit; 3] = [
    Visit {
        request: FRESH,
        publish: 3,
        keepalive: true,
        close: false,
    },
    Visit {
        request: RESUMING,
        publish: 2,
        keepalive: false,
        close: false,
    },
    Visit {
        request: FOREIGN,
        publish: 0,
        keepalive: false,
        close: true,
    },
];

/// Event payloads, published in turn; every second one is named.
const PAYLOADS: [&str; 3] = [
    "{\"sensor\":\"t1\",\"value\":21.5}",
    "plain message",
    "over temperature\nsecond line",
];

#[sansse_firmware_footprint::entry]
fn main() -> ! {
    run(
        workload,
        EXPECTED,
        core::mem::size_of::<Log>() + HEAD + TRANSMIT,
    )
}

/// Counted from the script.
const EXPECTED: Tally = Tally {
    // Published: 3 + 2.
    events: 5,
    retries: 0,
    // Keep-alive deadlines acted on: one.
    comments: 1,
    errors: 0,
    // Every write, with the 256-byte buffer: the fresh client gets 188 (head, retry and
    // announcement in one chunk), 65, 35 and 71 (one event each) and 7 (the keep-alive); the
    // resuming one 217 and 71 (head, replay of events 2 and 3), then 50 and 56; the foreign
    // one 499 in full buffers (head, gap event, all five events; an event that does not fit
    // the rest of a buffer goes out in pieces) and 5 (the last chunk).
    bytes: 188 + 65 + 35 + 71 + 7 + 217 + 71 + 50 + 56 + 499 + 5,
    // Story events: RequestReady, Accepted, Closed per connection, and GapSent once.
    steps: 3 * 3 + 1,
};

fn workload() -> Tally {
    let (ring, storage, buf) = memory();
    let mut tally = Tally::default();
    let mut now = Instant::from_secs(1);
    for (visit, n) in black_box(VISITS).into_iter().zip(0u32..) {
        now += Duration::from_secs(1);
        connection(ring, storage, buf, &mut now, visit, n, &mut tally);
    }
    tally
}

/// One connection from request to close.
#[inline(never)]
fn connection(
    ring: &mut Log,
    storage: &mut [u8; HEAD],
    buf: &mut [u8; TRANSMIT],
    now: &mut Instant,
    visit: Visit,
    n: u32,
    tally: &mut Tally,
) {
    let mut session = ServerSession::new(*now, storage, CONFIG);
    for piece in visit.request.chunks(PIECE) {
        *now += Duration::from_millis(1);
        session.handle_bytes(*now, piece);
    }
    story(&mut session, tally);
    if session.accept(*now, &*ring, AcceptOptions::new()).is_err() {
        tally.errors += 1;
    }
    transmit(&mut session, ring, buf, *now, tally);
    for i in 0..visit.publish {
        *now += Duration::from_millis(100);
        let name = if i % 2 == 0 {
            EventName::new("reading").ok()
        } else {
            None
        };
        let payload = PAYLOADS[(i + n as usize) % PAYLOADS.len()];
        match ring.publish(name, black_box(payload)) {
            Ok(_) => tally.events += 1,
            Err(_) => tally.errors += 1,
        }
        transmit(&mut session, ring, buf, *now, tally);
    }
    if visit.keepalive
        && let Some(at) = session.poll_timeout()
    {
        *now = at;
        session.handle_timeout(at);
        tally.comments += 1;
        transmit(&mut session, ring, buf, *now, tally);
    }
    *now += Duration::from_millis(10);
    if visit.close {
        if session.close_with(*now, CloseOptions::new()).is_err() {
            tally.errors += 1;
        }
        transmit(&mut session, ring, buf, *now, tally);
    } else {
        session.handle_eof(*now);
    }
    story(&mut session, tally);
}

/// Drains `poll_transmit`, confirming every write at once.
fn transmit(
    session: &mut ServerSession<'_>,
    ring: &Log,
    buf: &mut [u8; TRANSMIT],
    now: Instant,
    tally: &mut Tally,
) {
    loop {
        match session.poll_transmit(now, ring, buf) {
            Ok(Some(n)) => {
                tally.bytes += n as u32;
                if session.handle_written(now, n).is_err() {
                    tally.errors += 1;
                }
            }
            Ok(None) => return,
            Err(_) => {
                tally.errors += 1;
                return;
            }
        }
    }
}

/// Drains the story.
fn story(session: &mut ServerSession<'_>, tally: &mut Tally) {
    while let Some(event) = session.poll_event() {
        tally.steps += 1;
        if let SessionEvent::Closed { .. } = event {
            return;
        }
    }
}

/// The ring, the head storage and the transmit buffer live in `.bss`, built at run time (a
/// ring with a non-zero epoch in a `static` initialiser would land in `.data` and cost its
/// size in flash too).
fn memory() -> (
    &'static mut Log,
    &'static mut [u8; HEAD],
    &'static mut [u8; TRANSMIT],
) {
    static mut RING: MaybeUninit<Log> = MaybeUninit::uninit();
    static mut STORAGE: [u8; HEAD] = [0; HEAD];
    static mut BUF: [u8; TRANSMIT] = [0; TRANSMIT];
    let (ring, storage, buf) = (&raw mut RING, &raw mut STORAGE, &raw mut BUF);
    // SAFETY: called once, from the only thread of this firmware, so the references are
    // unique.
    unsafe { ((&mut *ring).write(Log::new(7)), &mut *storage, &mut *buf) }
}
