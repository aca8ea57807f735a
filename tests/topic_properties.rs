//! Properties of the topic router (issue 17): publishes to random topic sets on small rings that
//! evict all the time, readers following random sets with `next`, `peek` and drains between
//! them, and resumes with every kind of id, all checked against a plain model of every publish.
//!
//! The scripts run through the `topics` fuzz target's body (`fuzz/bodies/topics.rs`, shared by
//! `#[path]`), which holds the model and every check: a reader never gets another topic's event,
//! gets its own in order and none twice, loses none without an overrun or gap, gets a gap
//! exactly when an eviction touched its topics' buckets after its position, and its gap events
//! name only its own topics. Two more properties here go end to end: on a ring that never
//! evicts, each follower gets exactly its topics; and `ServerSession`s accepted through
//! `Ring::following` views put only their own topics on the wire.

#[allow(dead_code)]
#[path = "../fuzz/bodies/topics.rs"]
mod body;

mod server_support;

use body::{ALL_TOPICS, EPOCH, IdKind, LAZY, NAMES, Op, data_of, mask_in, topics_of};
use proptest::prelude::*;
use sansse::replay::{Cursor, Next, ReplayLog, Resume, Ring};
use sansse::server::{ServerConfig, ServerSession};
use server_support::{at, drain, open, read_response, request};

fn op() -> impl Strategy<Value = Op> {
    let reader = 0u8..4;
    prop_oneof![
        5 => (any::<u8>(), 0u8..96, any::<bool>())
            .prop_map(|(mask, pad, named)| Op::Publish { mask, pad, named }),
        1 => (any::<u8>(), 1u8..8, 0u8..48)
            .prop_map(|(mask, count, pad)| Op::Burst { mask, count, pad }),
        4 => reader.clone().prop_map(|reader| Op::Next { reader }),
        1 => reader.clone().prop_map(|reader| Op::Peek { reader }),
        2 => reader.clone().prop_map(|reader| Op::Drain { reader }),
        3 => (reader.clone(), id_kind(), any::<u8>())
            .prop_map(|(reader, kind, arg)| Op::Resume { reader, kind, arg }),
        1 => (reader, 0..=ALL_TOPICS | LAZY).prop_map(|(reader, mask)| Op::Follow { reader, mask }),
        1 => Just(Op::Check),
    ]
}

fn id_kind() -> impl Strategy<Value = IdKind> {
    prop_oneof![
        1 => Just(IdKind::Absent),
        1 => Just(IdKind::Blank),
        // Mostly recent ids, the ones at the edge of what is kept.
        4 => Just(IdKind::Valid),
        1 => Just(IdKind::Future),
        1 => Just(IdKind::OtherEpoch),
        1 => Just(IdKind::Malformed),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every check of the fuzz target on generated scripts, which reach resumes at the edge of
    /// the kept history sooner than random bytes do.
    #[test]
    fn random_scripts_keep_every_router_invariant(
        ring in 0u8..3,
        readers in prop::array::uniform3(0..=ALL_TOPICS | LAZY),
        ops in prop::collection::vec(op(), 0..160),
    ) {
        body::topics(&body::encode(ring, readers, &ops));
    }

    #[test]
    fn arbitrary_bytes_keep_every_router_invariant(
        data in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        body::topics(&data);
    }

    /// With nothing evicted, following is plain filtering: each reader, from the start or from
    /// any id, gets exactly the events of its topics after it, in publish order, and no gap.
    #[test]
    fn without_eviction_each_follower_gets_exactly_its_topics(
        publishes in prop::collection::vec(1..=ALL_TOPICS, 0..48),
        readers in prop::collection::vec(0..=ALL_TOPICS, 1..6),
        from in any::<prop::sample::Index>(),
    ) {
        let mut ring = Ring::<64, 16384>::new(EPOCH);
        for (serial, &mask) in publishes.iter().enumerate() {
            ring.publish_to(&topics_of(mask), None, &data_of(mask, serial as u64, 3)).unwrap();
        }
        let from = from.index(publishes.len() + 1) as u64;
        for mask in readers {
            let topics = topics_of(mask);
            let view = ring.following(&topics);
            let resume = view.resume(Some(format!("{EPOCH}-{from}").as_bytes()));
            let Resume::Replay(cursor) = resume else {
                panic!("id {from} of a ring that evicted nothing gave {resume:?}");
            };
            let expected: Vec<u64> = (from + 1..=publishes.len() as u64)
                .filter(|seq| publishes[*seq as usize - 1] & mask != 0)
                .collect();
            prop_assert_eq!(read_seqs(&view, cursor), expected);
        }
    }

    /// Sessions accepted through `following` views, publishes and polls interleaved: on the
    /// wire each session carries only events of its topics, in order, none twice; nothing of
    /// its topics is skipped without a gap event before the next event, and gap events name
    /// only its topics, with no count. A ring that never evicts gives no gap event at all.
    #[test]
    fn sessions_following_topics_put_only_their_topics_on_the_wire(
        small in any::<bool>(),
        first in 2..=ALL_TOPICS,
        setup in prop::collection::vec(1..=ALL_TOPICS, 0..6),
        sessions in prop::collection::vec((1..=ALL_TOPICS, any::<Option<prop::sample::Index>>()), 1..4),
        script in prop::collection::vec(prop::option::of(1..=ALL_TOPICS), 0..40),
    ) {
        if small {
            sessions_on(Ring::<4, 320>::new(EPOCH), first, &setup, &sessions, &script, false);
        } else {
            sessions_on(Ring::<64, 16384>::new(EPOCH), first, &setup, &sessions, &script, true);
        }
    }
}

/// The seqs a reader reads from `cursor` until caught up; panics on an overrun.
fn read_seqs<R: ReplayLog<Cursor = Cursor>>(log: &R, mut cursor: Cursor) -> Vec<u64> {
    let mut seqs = Vec::new();
    loop {
        match log.next(&mut cursor) {
            Next::Event(bytes) => seqs.push(seq_in(core::str::from_utf8(bytes).unwrap())),
            Next::CaughtUp => return seqs,
            Next::Overrun { missed } => panic!("overrun of {missed} on a ring that evicts nothing"),
        }
    }
}

fn seq_in(event: &str) -> u64 {
    event
        .lines()
        .find_map(|line| line.strip_prefix(&format!("id: {EPOCH}-")))
        .and_then(|seq| seq.parse().ok())
        .unwrap_or_else(|| panic!("no ring id in {event:?}"))
}

fn seq_of_id(id: &str) -> u64 {
    id.strip_prefix(&format!("{EPOCH}-"))
        .and_then(|seq| seq.parse().ok())
        .unwrap_or_else(|| panic!("{id:?} is not a ring id"))
}

/// Drives `sessions` (a topic mask and maybe an id to resume from, as an index into what was
/// published before) on `ring`: `first` and `setup` are published before they connect, then
/// `script` publishes (`Some(mask)`) or polls every session (`None`).
fn sessions_on<const E: usize, const B: usize>(
    mut ring: Ring<E, B>,
    first: u8,
    setup: &[u8],
    sessions: &[(u8, Option<prop::sample::Index>)],
    script: &[Option<u8>],
    never_evicts: bool,
) {
    // The first event names a topic other than the default, so every gap event names topics.
    let mut published: Vec<u8> = Vec::new();
    let publish = |ring: &mut Ring<E, B>, published: &mut Vec<u8>, mask: u8| {
        let serial = published.len() as u64;
        ring.publish_to(&topics_of(mask), None, &data_of(mask, serial, 20))
            .expect("small events fit");
        published.push(mask);
    };
    publish(&mut ring, &mut published, first);
    for &mask in setup {
        publish(&mut ring, &mut published, mask);
    }

    let config = ServerConfig::new().with_keepalive(None);
    let topics: Vec<_> = sessions.iter().map(|(mask, _)| topics_of(*mask)).collect();
    let mut storages = vec![[0u8; 256]; sessions.len()];
    let mut live: Vec<ServerSession<'_>> = storages
        .iter_mut()
        .map(|storage| ServerSession::new(at(0), storage, config))
        .collect();
    let mut wires = vec![Vec::new(); sessions.len()];
    // The seq each session starts after.
    let mut starts = Vec::new();
    for (n, (session, (_, resume))) in live.iter_mut().zip(sessions).enumerate() {
        let newest = published.len() as u64;
        let start = resume.map_or(newest, |index| index.index(published.len() + 1) as u64);
        let id = resume.map(|_| format!("{EPOCH}-{start}"));
        open(
            session,
            at(0),
            &ring.following(&topics[n]),
            &request(id.as_deref()),
        );
        starts.push(start);
    }

    for step in script.iter().copied().chain([None]) {
        match step {
            Some(mask) => publish(&mut ring, &mut published, mask),
            None => {
                for (n, session) in live.iter_mut().enumerate() {
                    wires[n].extend(drain(session, at(0), &ring.following(&topics[n])));
                }
            }
        }
    }

    for (n, (mask, _)) in sessions.iter().enumerate() {
        let names: Vec<&str> = topics[n].iter().map(|t| t.as_str()).collect();
        let (status, listener, _) = read_response(&wires[n]);
        assert_eq!(status, Some(200));
        let mine = |seq: u64| published[seq as usize - 1] & mask != 0;
        let mut pos = starts[n];
        let mut delivered = Vec::new();
        for (event_type, data, id) in listener.events() {
            let seq = seq_of_id(&id);
            if event_type == "sansse-gap" {
                assert!(
                    !never_evicts,
                    "a gap event from a ring that evicts nothing: {data}"
                );
                assert!(!data.contains("missed"), "a count in a topical gap: {data}");
                let list = data
                    .split_once("\"topics\":[")
                    .and_then(|(_, rest)| rest.split_once(']'))
                    .map(|(list, _)| list)
                    .unwrap_or_else(|| panic!("gap event {data} names no topics"));
                for name in list.split(',') {
                    let name = name.trim_matches('"');
                    assert!(
                        names.contains(&name),
                        "session of {names:?} told of {name:?}"
                    );
                    assert!(NAMES.contains(&name));
                }
                // The gap event's id resumes right before what follows it.
                pos = pos.max(seq);
                continue;
            }
            assert_eq!(event_type, "message");
            assert_ne!(mask_in(&data) & mask, 0, "session of {names:?} got {data}");
            assert!(seq > pos, "event {seq} after {pos}: twice or out of order");
            if let Some(skipped) = (pos + 1..seq).find(|s| mine(*s)) {
                panic!("session of {names:?} skipped event {skipped} without a gap event");
            }
            delivered.push(seq);
            pos = seq;
        }
        // The last drain caught up: nothing of its topics is left after it.
        if let Some(left) = (pos + 1..=published.len() as u64).find(|s| mine(*s)) {
            panic!("session of {names:?} never got event {left}");
        }
        if never_evicts {
            let expected: Vec<u64> = (starts[n] + 1..=published.len() as u64)
                .filter(|s| mine(*s))
                .collect();
            assert_eq!(delivered, expected, "session of {names:?}");
        }
    }
}

/// A session that is caught up has nothing to lose: when only another topic's events are
/// evicted, it must get no gap event, even when that topic shares its eviction bucket (`g` and
/// `news` do). Today the session never moves its cursor on `CaughtUp` (it only advances after
/// writing an event), so the cursor stays right after the session's own last event; once the
/// other topic's events behind it are evicted, the bucket mark makes the ring report an overrun
/// and the session sends a gap event for a loss that never happened. With per-user topics
/// (1,000 users in 64 buckets) every subscriber gets such gap events over and over (see
/// `benches/src/bin/fanout.rs`), and each poll scans every event since its own last one.
#[test]
fn a_caught_up_session_gets_no_gap_event_when_only_another_topic_is_evicted() {
    let mut ring = Ring::<4, 4096>::new(EPOCH);
    let mine = topics_of(1 << NAMES.iter().position(|n| *n == "g").unwrap());
    let other = topics_of(1 << NAMES.iter().position(|n| *n == "news").unwrap());
    assert!(mine.interest().intersects(other.interest()), "same bucket");
    let mut storage = [0u8; 256];
    let mut session = ServerSession::new(
        at(0),
        &mut storage,
        ServerConfig::new().with_keepalive(None),
    );
    open(&mut session, at(0), &ring.following(&mine), &request(None));
    ring.publish_to(&mine, None, "mine").unwrap();
    let mut wire = drain(&mut session, at(0), &ring.following(&mine));
    // The other topic's events wake the session (same bucket), and it is polled after each.
    for n in 0..8 {
        ring.publish_to(&other, None, &format!("other {n}"))
            .unwrap();
        wire.extend(drain(&mut session, at(0), &ring.following(&mine)));
    }

    let events = read_response(&wire).1.events();
    assert_eq!(
        events,
        [(
            "message".to_owned(),
            "mine".to_owned(),
            format!("{EPOCH}-1")
        )],
        "only its own event, and no gap event"
    );
}

/// The same at the ring: a reader that peeked `CaughtUp` and advanced is past the other
/// topic's events, so their eviction costs it nothing. This holds today; it is what the
/// session above does not do.
#[test]
fn a_reader_that_advances_when_caught_up_gets_no_overrun_from_another_topic() {
    let mut ring = Ring::<4, 4096>::new(EPOCH);
    let mine = topics_of(1 << NAMES.iter().position(|n| *n == "g").unwrap());
    let other = topics_of(1 << NAMES.iter().position(|n| *n == "news").unwrap());
    ring.publish_to(&mine, None, "mine").unwrap();
    let mut cursor = ring.following(&mine).oldest_cursor();
    assert!(matches!(
        ring.following(&mine).next(&mut cursor),
        Next::Event(_)
    ));
    for n in 0..8 {
        ring.publish_to(&other, None, &format!("other {n}"))
            .unwrap();
        let view = ring.following(&mine);
        assert_eq!(
            view.next(&mut cursor),
            Next::CaughtUp,
            "after other event {n}"
        );
    }
}
