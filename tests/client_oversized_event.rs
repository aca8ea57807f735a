//! Issue 14: an event larger than the client's parser buffer must not make the client loop.
//!
//! The client skips the event and reports it once; its id is committed, so the reconnect resumes
//! after it and the server (a real `ServerSession` replaying a `Ring`) does not send it again. A
//! stream that ends right after the event used to loop for ever: skip, end, reconnect from
//! before it, the server resends it, skip again.

use core::time::Duration;

use sansse::Instant;
use sansse::backoff::BackoffConfig;
use sansse::client::{
    Action, ClientConfig, ClientSession, ClientStorage, ResumeMode, SessionEvent,
};
use sansse::replay::Ring;
use sansse::server::{AcceptOptions, ServerConfig, ServerSession, SessionEvent as ServerEvent};

const EPOCH: u32 = 5;
/// Connections the client is given to show progress; one reconnect suffices.
const ATTEMPTS: usize = 4;

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// What the client saw over its connections.
#[derive(Debug, Default)]
struct Seen {
    /// (data, id) of every event handed out.
    events: Vec<(String, String)>,
    /// Skipped-event reports.
    skips: usize,
    /// The `Last-Event-ID` of every request (`""` for none).
    requests: Vec<String>,
    /// Ids the session asked to persist (acknowledged mode).
    persisted: Vec<String>,
}

/// Runs one connection: the client connects, the server replays the ring from the client's
/// `Last-Event-ID` and ends the stream; the client reads it all, acknowledging every event it
/// is handed, and schedules its reconnect. Returns the time after the reconnect delay.
fn connection(
    client: &mut ClientSession<'_>,
    ring: &Ring<64, 65_536>,
    now: u64,
    seen: &mut Seen,
) -> u64 {
    assert!(matches!(client.poll_action(), Some(Action::Connect { .. })));
    client.handle_connected(at(now)).unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 512];
    while let Some(n) = client.poll_transmit(at(now), &mut buf) {
        request.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(request.clone()).unwrap();
    seen.requests.push(
        text.split("\r\n")
            .find_map(|l| l.strip_prefix("Last-Event-ID: "))
            .unwrap_or_default()
            .to_owned(),
    );

    let mut storage = [0u8; 1024];
    let mut server = ServerSession::new(at(now), &mut storage, ServerConfig::new());
    server.handle_bytes(at(now), &request);
    assert_eq!(server.poll_event(), Some(ServerEvent::RequestReady));
    server
        .accept(at(now), ring, AcceptOptions::new())
        .expect("accepted");
    let mut wire = Vec::new();
    let mut out = vec![0u8; 16_384];
    let mut drain = |server: &mut ServerSession<'_>, wire: &mut Vec<u8>| {
        while let Some(n) = server.poll_transmit(at(now), ring, &mut out).unwrap() {
            wire.extend_from_slice(&out[..n]);
            server.handle_written(at(now), n).unwrap();
        }
    };
    drain(&mut server, &mut wire);
    // The stream ends right after what the ring held.
    server.close(at(now));
    drain(&mut server, &mut wire);

    let mut handed = Vec::new();
    let mut messages = client.handle_bytes(at(now), &wire);
    while let Some(message) = messages.next() {
        match message {
            Ok(event) => {
                seen.events
                    .push((event.data().to_owned(), event.id().to_owned()));
                handed.push(event.id().to_owned());
            }
            Err(_) => seen.skips += 1,
        }
    }
    drop(messages);
    // The application acknowledges each event once processed, after the read (the stream has
    // ended by then): acknowledging the event before the skipped one covers the skip too.
    for id in &handed {
        let _ = client.ack(at(now), id);
    }
    client.handle_eof(at(now));
    while let Some(action) = client.poll_action() {
        assert_eq!(action, Action::Disconnect);
    }
    while let Some(event) = client.poll_event() {
        if let SessionEvent::PersistId(id) = event {
            seen.persisted.push(id.to_owned());
        }
    }
    let next = client.poll_timeout().expect("a reconnect is scheduled");
    client.handle_timeout(next);
    next.as_millis()
}

/// A ring holding a small event, one larger than the client's parser buffer, and nothing after.
fn ring() -> Ring<64, 65_536> {
    let mut ring = Ring::new(EPOCH);
    ring.publish(None, "small").unwrap();
    ring.publish(None, &"x".repeat(3000)).unwrap();
    ring
}

fn run(mode: ResumeMode) -> Seen {
    let mut ring = ring();
    let mut storage = ClientStorage::<1024, 1024, 512, 64>::new();
    // Resuming from the epoch's start asks for the whole ring.
    let config = ClientConfig::new("sse.test", "/events")
        .with_last_event_id("5-0")
        .with_resume(mode)
        .with_backoff(
            BackoffConfig::new()
                .with_reconnection_time(Duration::from_millis(100))
                .with_jitter_percent(0),
        );
    let mut client = ClientSession::new(at(0), config, storage.buffers(), 1).unwrap();
    let mut seen = Seen::default();
    let mut now = 0;
    for attempt in 0..ATTEMPTS {
        if attempt == 2 {
            // Progress past the oversized event: what follows it is delivered.
            ring.publish(None, "after").unwrap();
        }
        now = connection(&mut client, &ring, now, &mut seen);
    }
    seen
}

fn check(seen: &Seen) {
    let big_id = format!("{EPOCH}-2");
    assert_eq!(seen.skips, 1, "the skip is reported exactly once: {seen:?}");
    assert_eq!(
        seen.events,
        [
            ("small".to_owned(), format!("{EPOCH}-1")),
            ("after".to_owned(), format!("{EPOCH}-3")),
        ],
        "{seen:?}"
    );
    // Every reconnect resumes after the oversized event, never before it.
    assert_eq!(seen.requests[0], format!("{EPOCH}-0"));
    assert_eq!(seen.requests[1], big_id, "{seen:?}");
    assert_eq!(seen.requests[2], big_id, "{seen:?}");
    assert_eq!(seen.requests[3], format!("{EPOCH}-3"), "{seen:?}");
}

#[test]
fn an_oversized_event_at_the_end_of_the_stream_is_skipped_once_and_resumed_after() {
    let seen = run(ResumeMode::Dispatched);
    check(&seen);
    assert!(seen.persisted.is_empty());
}

#[test]
fn acknowledged_mode_counts_a_skipped_event_as_delivered_and_reported() {
    let seen = run(ResumeMode::Acknowledged);
    check(&seen);
    // Acknowledged: the small event by the application, the skipped one by the session.
    assert!(seen.persisted.contains(&format!("{EPOCH}-2")), "{seen:?}");
}
