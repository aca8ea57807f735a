//! A whole client: `ClientSession` with HTTP, backoff with jitter, the idle watchdog and pings,
//! driven by a shell loop over canned bytes under a fake clock.
//!
//! The network script: a chunked response with four events, cut by the server closing inside
//! a fifth; after the backoff, the same response again on the resumed connection; then
//! silence, during which pings go out and are answered until the idle watchdog gives up on the
//! stream and the session schedules the next attempt. Every output is folded into the tally.

#![no_std]
#![no_main]

use core::hint::black_box;
use core::mem::MaybeUninit;
use core::time::Duration;

use sansse::Instant;
use sansse::client::{
    Action, ClientConfig, ClientSession, ClientStorage, ConfigError, SessionEvent, State,
};
use sansse::heartbeat::PingConfig;
use sansse_firmware_footprint::{PIECE, Tally, run};

/// Buffers for a small device: 1 KiB events, 512-byte response heads, a 256-byte request, a
/// 128-byte redirect target.
type Storage = ClientStorage<1024, 512, 256, 128>;

/// Pings every 20 s, answered within 5 s; the idle limit comes from the `:keepalive 15000`
/// announcement (15 s * 2 + 5 s = 35 s), so pings go out before the watchdog fires.
static CONFIG: ClientConfig<'static> = ClientConfig::new("sensors.local", "/events")
    .with_port(8080)
    .with_ping(PingConfig::new(
        Duration::from_secs(20),
        Duration::from_secs(5),
    ));

/// A chunked response: keep-alive announcement, `retry`, four events (CRLF and LF, a comment,
/// two-line data), and a fifth event cut off by the end of the connection.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/event-stream\r\n\
Cache-Control: no-cache\r\n\
Transfer-Encoding: chunked\r\n\r\n\
58\r\n:keepalive 15000\n\nretry: 3000\n\nid: 1\nevent: reading\n\
data: {\"sensor\":\"t1\",\"value\":21.5}\n\n\r\n\
4f\r\nid: 2\r\nevent: reading\r\ndata: {\"sensor\":\"t2\",\r\ndata: \"value\":19.0}\r\n\r\n\
: ping\r\n\r\n\r\n\
40\r\ndata: plain message\n\nid: 3\nevent: alarm\ndata: over temperature\n\n\r\n\
20\r\nid: 4\ndata: cut short by a reset\r\n";

/// What the network does on each connection, in order.
const SCRIPT: [Net; 2] = [Net::RespondThenClose, Net::RespondThenStall];

#[derive(Clone, Copy, Eq, PartialEq)]
enum Net {
    /// Send [`RESPONSE`], then close the connection.
    RespondThenClose,
    /// Send [`RESPONSE`], then nothing more.
    RespondThenStall,
}

#[sansse_firmware_footprint::entry]
fn main() -> ! {
    run(workload, EXPECTED, core::mem::size_of::<Storage>())
}

/// Counted by hand from the script.
const EXPECTED: Tally = Tally {
    // Four events per connection (the fifth is cut off), two connections.
    events: 8,
    // One `RetryChanged` per connection.
    retries: 2,
    // Pings sent and answered in the silence: one at 20 s, before the idle limit of 35 s.
    comments: 1,
    errors: 0,
    // 2 * 13 bytes of host in the `Connect`s; requests of 102 bytes and of 120 with
    // `Last-Event-ID: 3`; and per connection events of 36 + 37 + 21 + 22 bytes of type, data
    // and id (the plain message reports id 2).
    bytes: 2 * 13 + 102 + 120 + 2 * (36 + 37 + 21 + 22),
    // Actions: Connect, Disconnect (close), Connect, SendPing, Disconnect (idle). Story: Open,
    // RetryChanged, Reconnecting, twice.
    steps: 5 + 6,
};

fn workload() -> Tally {
    match start() {
        Some(session) => drive(session),
        None => Tally {
            errors: 1,
            ..Tally::default()
        },
    }
}

/// Builds the session in `.bss`: the `Result` of `ClientSession::new` is written straight
/// into its static slot, so no copy of the session passes through the stack. Kept out of line
/// so that what construction needs is counted once, not added to the loop's.
#[inline(never)]
fn start() -> Option<&'static mut ClientSession<'static>> {
    let storage = storage();
    place(|| ClientSession::new(Instant::ZERO, black_box(CONFIG), storage.buffers(), 7))
        .as_mut()
        .ok()
}

/// The shell's loop.
#[inline(never)]
fn drive(session: &mut ClientSession<'static>) -> Tally {
    let mut tally = Tally::default();
    let mut now = Instant::ZERO;
    let mut script = black_box(SCRIPT).into_iter();
    let mut connected = false;
    let mut buf = [0u8; 64];
    loop {
        // 1. Actions: the socket is "up" as soon as it is asked for.
        while let Some(action) = session.poll_action() {
            tally.steps += 1;
            match action {
                Action::Connect { host, .. } => {
                    tally.bytes += host.len() as u32;
                    connected = true;
                }
                Action::Disconnect => connected = false,
                Action::SendPing => {
                    tally.comments += 1;
                    session.handle_pong(now);
                }
                _ => tally.errors += 1,
            }
        }
        // A no-op once the request is queued, so calling it every turn is fine.
        if connected
            && session.state() == State::Connecting
            && session.handle_connected(now).is_err()
        {
            tally.errors += 1;
        }
        // 2. The request.
        while let Some(n) = session.poll_transmit(now, &mut buf) {
            tally.bytes += n as u32;
        }
        // 3. The story.
        while let Some(event) = session.poll_event() {
            tally.steps += 1;
            match event {
                SessionEvent::RetryChanged(_) => tally.retries += 1,
                SessionEvent::Closed { .. } => return tally,
                _ => {}
            }
        }
        // 4. and 5. The network's next move, or the next deadline.
        let next = if connected && session.state() == State::Connecting {
            script.next()
        } else {
            None
        };
        match next {
            Some(net) => {
                for piece in black_box(RESPONSE).chunks(PIECE) {
                    now += Duration::from_millis(1);
                    let mut messages = session.handle_bytes(now, piece);
                    while let Some(message) = messages.next() {
                        match message {
                            Ok(event) => {
                                tally.events += 1;
                                tally.bytes += (event.event_type().len()
                                    + event.data().len()
                                    + event.id().len())
                                    as u32;
                            }
                            Err(_) => tally.errors += 1,
                        }
                    }
                }
                if net == Net::RespondThenClose {
                    now += Duration::from_millis(1);
                    session.handle_eof(now);
                }
            }
            None => {
                // Silence: wait for the deadline. The run ends once the script is done and the
                // session is waiting to reconnect again.
                if script.len() == 0 && session.state() == State::Waiting {
                    return tally;
                }
                let Some(at) = session.poll_timeout() else {
                    tally.errors += 1;
                    return tally;
                };
                now = at;
                session.handle_timeout(now);
            }
        }
    }
}

/// The storage lives in `.bss`, built at run time (see the parser build for why).
fn storage() -> &'static mut Storage {
    static mut STORAGE: MaybeUninit<Storage> = MaybeUninit::uninit();
    let slot = &raw mut STORAGE;
    // SAFETY: called once, from the only thread of this firmware, so the reference is unique.
    unsafe { (&mut *slot).write(Storage::new()) }
}

/// Builds the session into `.bss` too, so static RAM shows its size and the stack only what
/// the loop needs.
fn place(
    build: impl FnOnce() -> Result<ClientSession<'static>, ConfigError>,
) -> &'static mut Result<ClientSession<'static>, ConfigError> {
    static mut SESSION: MaybeUninit<Result<ClientSession<'static>, ConfigError>> =
        MaybeUninit::uninit();
    let slot = &raw mut SESSION;
    // SAFETY: called once, from the only thread of this firmware, so the reference is unique.
    unsafe { (&mut *slot).write(build()) }
}
