//! `ClientSession` against `ServerSession` over a simulated link that splits bytes at random,
//! delays them, resets connections and stalls them, under one fake clock.
//!
//! The check is the crate's promise: every published event is delivered exactly once, in
//! order, whatever the link does, as long as the replay ring covers the outages. The harness
//! jumps straight to the earliest deadline of anything in the simulation (quinn's `Pair::step`
//! style), so minutes of simulated faults run in milliseconds.

use core::time::Duration;
use std::collections::VecDeque;

use sansse::BufferTooSmall;
use sansse::Instant;
use sansse::backoff::BackoffConfig;
use sansse::client::{
    Action, ClientConfig, ClientSession, ClientStorage, ErrorKind, ReconnectReason, SessionEvent,
};
use sansse::heartbeat::IdleConfig;
use sansse::replay::Ring;
use sansse::server::{
    AcceptOptions, Decision, ServerConfig, ServerSession, SessionEvent as ServerEvent,
    TransmitError,
};

const EPOCH: u32 = 3;
const EVENTS: u64 = 600;
const PUBLISH_EVERY_MS: u64 = 10;

/// A small deterministic generator (splitmix64), so every seed replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Bytes in flight one way, each piece with the instant it arrives. TCP keeps order, so a piece
/// never arrives before the one sent ahead of it.
#[derive(Default)]
struct Pipe {
    pieces: VecDeque<(u64, Vec<u8>)>,
}

impl Pipe {
    fn send(&mut self, rng: &mut Rng, now: u64, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let take = (1 + rng.below(96) as usize).min(rest.len());
            let after_last = self.pieces.back().map_or(0, |(t, _)| *t);
            let at = (now + rng.below(20)).max(after_last);
            self.pieces.push_back((at, rest[..take].to_vec()));
            rest = &rest[take..];
        }
    }

    fn next_arrival(&self) -> Option<u64> {
        self.pieces.front().map(|(t, _)| *t)
    }
}

/// One TCP connection: the server's session and both directions of the wire.
struct Connection {
    server: ServerSession<'static>,
    up: Pipe,
    down: Pipe,
    /// While stalled, nothing arrives in either direction (a proxy that went silent).
    stalled_until: u64,
}

#[derive(Default, Debug)]
struct Tally {
    delivered: Vec<String>,
    connections: u32,
    resets: u32,
    stalls: u32,
    idle_reconnects: u32,
    gaps: u32,
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn simulate(seed: u64) -> Tally {
    let mut rng = Rng(seed);
    let mut ring = Ring::<1024, 131_072>::new(EPOCH);
    let server_config = ServerConfig::new()
        .with_keepalive(Some(Duration::from_millis(250)))
        .with_retry(Some(Duration::from_millis(100)))
        .with_write_timeout(None);
    let mut storage = ClientStorage::<4096, 2048, 1024, 512>::new();
    let config = ClientConfig::new("sim.test", "/events")
        .with_backoff(BackoffConfig::new().with_max_backoff(Duration::from_secs(2)))
        .with_idle(IdleConfig::new().with_margin(Duration::from_millis(250)));
    let mut client = ClientSession::new(at(0), config, storage.buffers(), seed).unwrap();

    let mut tally = Tally::default();
    let mut now = 0u64;
    let mut connection: Option<Connection> = None;
    let mut connecting_at: Option<u64> = None;
    let mut published = 0u64;
    // A client that has never connected asks for no history, so publishing starts once the
    // first stream is open: from then on nothing may be lost.
    let mut first_accept: Option<u64> = None;
    let mut next_fault = 200 + rng.below(400);
    let mut out = vec![0u8; 256];

    while tally.delivered.len() < EVENTS as usize {
        assert!(
            now < 600_000,
            "seed {seed}: not done after 10 simulated minutes: {tally:?}"
        );

        // The client's outputs.
        while let Some(action) = client.poll_action() {
            match action {
                Action::Connect { .. } => connecting_at = Some(now + 1 + rng.below(30)),
                Action::Disconnect => {
                    connection = None;
                    connecting_at = None;
                }
                _ => {}
            }
        }
        while let Some(n) = client.poll_transmit(at(now), &mut out) {
            if let Some(conn) = connection.as_mut() {
                conn.up.send(&mut rng, now, &out[..n]);
            }
        }
        while let Some(event) = client.poll_event() {
            match event {
                SessionEvent::Closed { reason } => panic!("seed {seed}: client closed: {reason:?}"),
                SessionEvent::Reconnecting {
                    reason: ReconnectReason::Idle(_),
                    ..
                } => {
                    tally.idle_reconnects += 1;
                }
                _ => {}
            }
        }

        // The server's outputs, written in pieces of random size.
        if let Some(conn) = connection.as_mut() {
            while let Some(event) = conn.server.poll_event() {
                match event {
                    ServerEvent::RequestReady => {
                        let decision = conn.server.accept(at(now), &ring, AcceptOptions::new());
                        assert!(
                            matches!(decision, Ok(Decision::Accepted { .. })),
                            "seed {seed}: {decision:?}"
                        );
                        first_accept.get_or_insert(now);
                    }
                    ServerEvent::GapSent { .. } => tally.gaps += 1,
                    _ => {}
                }
            }
            loop {
                let size = 16 + rng.below(512) as usize;
                out.resize(size, 0);
                match conn.server.poll_transmit(at(now), &ring, &mut out) {
                    Ok(Some(n)) => {
                        conn.down.send(&mut rng, now, &out[..n]);
                        conn.server.handle_written(at(now), n).unwrap();
                    }
                    Ok(None) => break,
                    Err(TransmitError::BufferTooSmall(BufferTooSmall { needed })) => {
                        out.resize(needed, 0)
                    }
                    Err(e) => panic!("seed {seed}: {e:?}"),
                }
            }
            out.resize(256, 0);
        }

        // Jump to the next thing that happens.
        let next_publish = first_accept
            .filter(|_| published < EVENTS)
            .map(|start| start + (published + 1) * PUBLISH_EVERY_MS);
        let mut next = [
            client.poll_timeout().map(Instant::as_millis),
            next_publish,
            connecting_at,
        ]
        .into_iter()
        .flatten()
        .chain(
            (published < EVENTS || tally.delivered.len() < EVENTS as usize).then_some(next_fault),
        )
        .min()
        .unwrap_or(now + 1);
        if let Some(conn) = connection.as_ref() {
            let arrivals = [conn.up.next_arrival(), conn.down.next_arrival()];
            let link = arrivals
                .into_iter()
                .flatten()
                .map(|t| t.max(conn.stalled_until))
                .min();
            let server = conn.server.poll_timeout().map(Instant::as_millis);
            next = [Some(next), link, server]
                .into_iter()
                .flatten()
                .min()
                .unwrap();
        }
        now = next.max(now);

        // Publish.
        if next_publish == Some(now) {
            published += 1;
            ring.publish(None, &format!("event {published}")).unwrap();
        }
        // A connect finishes.
        if connecting_at == Some(now) {
            connecting_at = None;
            let storage: &'static mut [u8] = Box::leak(vec![0u8; 1024].into_boxed_slice());
            connection = Some(Connection {
                server: ServerSession::new(at(now), storage, server_config),
                up: Pipe::default(),
                down: Pipe::default(),
                stalled_until: 0,
            });
            tally.connections += 1;
            client.handle_connected(at(now)).unwrap();
        }
        // Faults.
        if now == next_fault {
            next_fault = now + 200 + rng.below(800);
            if connection.is_some() {
                match rng.below(10) {
                    0..=2 => {
                        tally.resets += 1;
                        connection = None;
                        client.handle_error(at(now), ErrorKind::ConnectionReset);
                    }
                    3..=5 => {
                        tally.stalls += 1;
                        let conn = connection.as_mut().unwrap();
                        conn.stalled_until = now + rng.below(4_000);
                    }
                    _ => {}
                }
            }
        }
        // Bytes arrive.
        if let Some(conn) = connection.as_mut() {
            if conn.stalled_until <= now {
                while conn.up.next_arrival().is_some_and(|t| t <= now) {
                    let (_, bytes) = conn.up.pieces.pop_front().unwrap();
                    conn.server.handle_bytes(at(now), &bytes);
                }
                let mut arrived = Vec::new();
                while conn.down.next_arrival().is_some_and(|t| t <= now) {
                    arrived.push(conn.down.pieces.pop_front().unwrap().1);
                }
                for bytes in arrived {
                    let mut messages = client.handle_bytes(at(now), &bytes);
                    while let Some(message) = messages.next() {
                        let event = message.expect("no event exceeds the buffers");
                        assert_ne!(
                            event.event_type(),
                            "sansse-gap",
                            "seed {seed}: ring covered"
                        );
                        tally.delivered.push(event.data().to_owned());
                    }
                }
            }
            if let Some(conn) = connection.as_mut() {
                conn.server.handle_timeout(at(now));
                if matches!(conn.server.state(), sansse::server::State::Closed) {
                    connection = None;
                    client.handle_eof(at(now));
                }
            }
        }
        client.handle_timeout(at(now));
    }
    tally
}

#[test]
fn every_event_arrives_exactly_once_in_order_through_resets_stalls_and_splits() {
    let want: Vec<String> = (1..=EVENTS).map(|n| format!("event {n}")).collect();
    let mut faults = (0, 0, 0);
    for seed in 1..=48 {
        let tally = simulate(seed);
        assert_eq!(
            tally.delivered, want,
            "seed {seed}: {} connections",
            tally.connections
        );
        assert_eq!(tally.gaps, 0, "seed {seed}");
        faults.0 += tally.resets;
        faults.1 += tally.stalls;
        faults.2 += tally.idle_reconnects;
    }
    // The faults must actually have happened, or the test proves nothing.
    assert!(faults.0 >= 48, "resets: {faults:?}");
    assert!(faults.1 >= 48, "stalls: {faults:?}");
    assert!(
        faults.2 >= 24,
        "no stall outlived the idle deadline: {faults:?}"
    );
}

#[test]
fn the_ring_is_shared_not_copied_per_connection() {
    // A session's size does not depend on the ring's: memory is O(ring), not O(clients).
    assert!(core::mem::size_of::<ServerSession<'static>>() < 1024);
    let ring = Ring::<1024, 131_072>::new(EPOCH);
    assert!(ring.is_empty());
}
