//! The server session against a client built from the crate's own parser, response-head reader
//! and body decoder, across forced disconnects and resumes under a fake clock.
//!
//! The client behaves like an EventSource: it reconnects with the parser's last event ID as
//! `Last-Event-ID`. The network cuts connections at random points, including in the middle of
//! an event; the server sometimes closes gracefully. The checks: every published event is
//! delivered once, in order, with its data; a gap event appears exactly when the ring could not
//! cover the resume, says how many events were missed, and is followed by the oldest kept event.

mod server_support;

use core::time::Duration;

use embedded_io::ErrorKind;
use sansse::BufferTooSmall;
use sansse::replay::{Gap, Ring};
use sansse::server::{
    AcceptOptions, CloseOptions, Decision, ServerConfig, ServerSession, SessionEvent, StreamStart,
    TransmitError,
};
use server_support::{Listener, Rng, Wire, at, request};

const EPOCH: u32 = 7;

/// What one run did, for the checks.
#[derive(Default)]
struct Run {
    /// Data of every published event, by sequence number - 1.
    published: Vec<String>,
    /// One entry per connection: the gap the test predicted from the ring before accepting.
    predicted_gaps: Vec<Option<u64>>,
    /// Gaps the server reported in `Accepted`.
    reported_gaps: Vec<Option<Gap>>,
    /// Per connection, the range of the client's events it delivered.
    delivered: Vec<core::ops::Range<usize>>,
}

#[test]
fn every_event_is_delivered_once_in_order_across_disconnects_when_the_ring_covers_them() {
    for seed in 1..=8 {
        let mut ring = Ring::<1024, 65_536>::new(EPOCH);
        let (run, listener) = simulate(&mut ring, seed, 6);

        let seqs = check_stream(&run, &listener);
        let all: Vec<u64> = (1..=run.published.len() as u64).collect();
        assert_eq!(seqs, all, "seed {seed}");
        assert!(
            run.predicted_gaps.iter().all(Option::is_none),
            "seed {seed}"
        );
        assert!(run.reported_gaps.iter().all(Option::is_none), "seed {seed}");
    }
}

#[test]
fn gap_events_appear_exactly_when_the_ring_could_not_cover_the_resume() {
    let mut gaps_seen = 0;
    for seed in 1..=8 {
        let mut ring = Ring::<16, 4096>::new(EPOCH);
        let (run, listener) = simulate(&mut ring, seed, 40);

        let seqs = check_stream(&run, &listener);
        assert_eq!(seqs.last().copied(), Some(run.published.len() as u64));
        gaps_seen += listener
            .events()
            .iter()
            .filter(|(event_type, ..)| event_type == "sansse-gap")
            .count();
    }
    // The long pauses between connections must actually have overrun the ring.
    assert!(
        gaps_seen >= 8,
        "only {gaps_seen} gaps: the test exercises nothing"
    );
}

/// Runs connections until `rounds` have ended, publishing between and during them.
/// `max_pause_events` bounds how many events are published while the client is away.
fn simulate<const E: usize, const B: usize>(
    ring: &mut Ring<E, B>,
    seed: u64,
    max_pause_events: u64,
) -> (Run, Listener) {
    let mut rng = Rng::new(seed);
    let mut run = Run::default();
    let mut listener = Listener::new();
    let mut now = 0u64;
    let config = ServerConfig::new()
        .with_keepalive(Some(Duration::from_millis(50)))
        .with_retry(Some(Duration::from_millis(10)));

    for round in 0..30 {
        // The client reconnects with what its parser last committed; on its very first
        // connection it asks for the epoch's start ("<epoch>-0").
        let last = listener
            .last_event_id()
            .unwrap_or_else(|| format!("{EPOCH}-0"));
        run.predicted_gaps.push(predict_gap(ring, &last));
        let first_event = listener.events().len();

        let mut storage = [0u8; 512];
        let mut session = ServerSession::new(at(now), &mut storage, config);
        let mut wire_storage = [0u8; 512];
        let mut wire = Wire::new(&mut wire_storage);
        session.handle_bytes(at(now), &request(Some(&last)));
        assert_eq!(session.poll_event(), Some(SessionEvent::RequestReady));
        let start = session
            .accept(at(now), &*ring, AcceptOptions::new())
            .unwrap();
        run.reported_gaps.push(match start {
            Decision::Accepted {
                start: StreamStart::Gap { gap },
            } => Some(gap),
            _ => None,
        });

        // A connection lives for a few steps; the last round drains everything.
        let last_round = round == 29;
        let steps = if last_round { 3 } else { rng.below(6) };
        let cut_at_step = (!last_round).then(|| rng.below(steps + 1));
        let mut step = 0;
        loop {
            let cut = cut_at_step == Some(step);
            if !pump(
                &mut session,
                &mut wire,
                &mut listener,
                ring,
                now,
                cut,
                &mut rng,
            ) {
                break;
            }
            if step == steps {
                // No cut happened: the server ends the stream gracefully.
                session.close_with(at(now), CloseOptions::new()).unwrap();
                let open = pump(
                    &mut session,
                    &mut wire,
                    &mut listener,
                    ring,
                    now,
                    false,
                    &mut rng,
                );
                assert!(
                    !open,
                    "a graceful close with everything confirmed ends the session"
                );
                assert!(wire.ended, "the chunked body was terminated");
                break;
            }
            step += 1;
            now += rng.below(80);
            session.handle_timeout(at(now));
            let count = rng.below(4);
            publish(ring, &mut run, &mut rng, count);
        }
        listener.disconnected();
        run.delivered.push(first_event..listener.events().len());

        // While the client is away, the server goes on publishing.
        now += 100;
        if !last_round {
            let pause = rng.below(max_pause_events + 1);
            publish(ring, &mut run, &mut rng, pause);
        }
    }
    assert_eq!(
        run.predicted_gaps
            .iter()
            .map(Option::is_some)
            .collect::<Vec<_>>(),
        run.reported_gaps
            .iter()
            .map(Option::is_some)
            .collect::<Vec<_>>(),
        "the server reported a gap exactly when the ring could not cover the resume"
    );
    for (predicted, reported) in run.predicted_gaps.iter().zip(&run.reported_gaps) {
        if let Some(missed) = predicted {
            assert_eq!(*reported, Some(Gap::Evicted { missed: *missed }));
        }
    }
    (run, listener)
}

/// Drains the session into the client through buffers of random size. With `cut`, the network
/// delivers a random prefix of one transmit and the connection dies. Returns whether the
/// session is still open.
fn pump<const E: usize, const B: usize>(
    session: &mut ServerSession<'_>,
    wire: &mut Wire<'_>,
    listener: &mut Listener,
    ring: &Ring<E, B>,
    now: u64,
    cut: bool,
    rng: &mut Rng,
) -> bool {
    let mut buf = vec![0u8; 24 + rng.below(300) as usize];
    loop {
        let n = match session.poll_transmit(at(now), ring, &mut buf) {
            Ok(Some(n)) => n,
            Ok(None) => break,
            Err(TransmitError::BufferTooSmall(BufferTooSmall { needed })) => {
                buf.resize(needed, 0);
                continue;
            }
            Err(error) => panic!("{error}"),
        };
        if cut {
            let delivered = rng.below(n as u64 + 1) as usize;
            wire.feed(&buf[..delivered], |body| listener.feed(body));
            session.handle_written(at(now), delivered).unwrap();
            if rng.below(2) == 0 {
                session.handle_error(at(now), ErrorKind::ConnectionReset);
            } else {
                session.handle_eof(at(now));
            }
            break;
        }
        wire.feed(&buf[..n], |body| listener.feed(body));
        session.handle_written(at(now), n).unwrap();
    }
    let mut open = true;
    while let Some(event) = session.poll_event() {
        if let SessionEvent::Closed { .. } = event {
            open = false;
        }
    }
    open
}

fn publish<const E: usize, const B: usize>(
    ring: &mut Ring<E, B>,
    run: &mut Run,
    rng: &mut Rng,
    count: u64,
) {
    const WORDS: [&str; 6] = ["tick", "a\nb", "", "é ü", " spaced ", "line\n\nbreaks"];
    for _ in 0..count {
        let n = run.published.len() + 1;
        let data = format!("{n}:{}", WORDS[rng.below(WORDS.len() as u64) as usize]);
        let seq = ring.publish(None, &data).unwrap();
        assert_eq!(seq.get(), n as u64);
        run.published.push(data);
    }
}

/// The test's own reading of whether the ring can resume after `last`: only if every event
/// after it is still kept. Returns the number of events lost.
fn predict_gap<const E: usize, const B: usize>(ring: &Ring<E, B>, last: &str) -> Option<u64> {
    let (epoch, seq) = last.split_once('-').expect("an id of ours");
    assert_eq!(epoch, EPOCH.to_string());
    let next_wanted: u64 = seq.parse::<u64>().unwrap() + 1;
    let oldest = ring.oldest()?.get();
    (next_wanted < oldest).then(|| oldest - next_wanted)
}

/// Checks the client's whole story and returns the sequence numbers it received, in order:
/// each event once, in order, with its data; after a gap event the oldest kept event, exactly
/// `missed` further on; between any two other events, no hole.
fn check_stream(run: &Run, listener: &Listener) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut expected_next = 1u64;
    let mut gaps = 0;
    for (event_type, data, id) in listener.events() {
        let (epoch, seq) = id.split_once('-').expect("ids are <epoch>-<seq>");
        assert_eq!(epoch, EPOCH.to_string());
        let seq: u64 = seq.parse().unwrap();
        if event_type == "sansse-gap" {
            let missed = seq + 1 - expected_next;
            assert_eq!(data, format!(r#"{{"reason":"evicted","missed":{missed}}}"#));
            expected_next = seq + 1;
            gaps += 1;
            continue;
        }
        assert_eq!(event_type, "message");
        assert_eq!(
            seq, expected_next,
            "an event missing or repeated before {id}"
        );
        assert_eq!(data, run.published[seq as usize - 1], "data of {id}");
        seqs.push(seq);
        expected_next = seq + 1;
    }
    // Per connection: a gap event only where one was predicted, and then first.
    let events = listener.events();
    for (range, predicted) in run.delivered.iter().zip(&run.predicted_gaps) {
        let delivered = &events[range.clone()];
        let gap_events = delivered.iter().filter(|e| e.0 == "sansse-gap").count();
        match (predicted, delivered.first()) {
            (Some(_), Some(first)) => {
                assert_eq!(first.0, "sansse-gap", "the gap event comes first");
                assert_eq!(gap_events, 1);
            }
            _ => assert_eq!(gap_events, 0, "a gap event no resume called for"),
        }
    }
    assert!(gaps <= run.predicted_gaps.iter().flatten().count());
    seqs
}
