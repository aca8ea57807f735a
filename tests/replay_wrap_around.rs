//! The byte ring keeps every kept event intact at every offset and wrap position.

use proptest::prelude::*;
use sansse::encode::EventName;
use sansse::replay::{EventSeq, Next, ReplayLog, Ring};

const EVENTS: usize = 8;
const BYTES: usize = 200;

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn kept_events_are_exact_and_eviction_is_not_eager(
        epoch in any::<u32>(),
        publishes in proptest::collection::vec(("[a-z ]{0,90}", any::<bool>(), 0usize..4), 1..120),
    ) {
        let mut ring = Ring::<EVENTS, BYTES>::new(epoch);
        let name = EventName::new("tick").unwrap();
        let mut expected: Vec<Vec<u8>> = vec![Vec::new()]; // index = seq; seq 0 unused
        let mut largest = 0;
        let mut reader = ring.live_cursor();
        let mut read = Vec::new();
        let mut missed = 0;

        for (data, named, reads) in &publishes {
            let seq = expected.len() as u64;
            let wire = wire(epoch, seq, named.then_some("tick"), data);
            let (old_oldest, old_len) = (first(&ring, seq), ring.len());

            let published = ring.publish(named.then_some(name), data);

            prop_assert_eq!(published, Ok(EventSeq::new(seq)));
            largest = largest.max(wire.len());
            let size = wire.len();
            expected.push(wire);
            prop_assert_eq!(ring.newest().map(EventSeq::get), Some(seq));
            let oldest = ring.oldest().unwrap().get();
            prop_assert!(ring.len() <= EVENTS);
            prop_assert_eq!(ring.len() as u64, seq - oldest + 1);
            let kept: usize = (oldest..=seq).map(|s| expected[s as usize].len()).sum();
            prop_assert_eq!(ring.used_bytes(), kept);
            prop_assert!(kept <= BYTES);
            for s in oldest..=seq {
                prop_assert_eq!(ring.event(EventSeq::new(s)), Some(&expected[s as usize][..]));
            }
            // Eviction by bytes happened only because no contiguous run was free: at most one
            // run before and one after the live bytes (each shorter than the new event) plus an
            // unused tail (shorter than the largest event) can have been free.
            let evicted = oldest - old_oldest;
            let by_count = u64::from(old_len == EVENTS);
            if evicted > by_count {
                let last_evicted = expected[(oldest - 1) as usize].len();
                let before = kept - size + last_evicted;
                prop_assert!(before + (size - 1) + (largest - 1) >= BYTES);
            }

            for _ in 0..*reads {
                match ring.next(&mut reader) {
                    Next::Event(bytes) => read.push(bytes.to_vec()),
                    Next::Overrun { missed: m } => missed += m,
                    Next::CaughtUp => {}
                }
            }
        }

        // The slow reader's events are a gap-free tail per overrun: exactly what was published.
        while let Some(next) = match ring.next(&mut reader) {
            Next::CaughtUp => None,
            other => Some(other),
        } {
            match next {
                Next::Event(bytes) => read.push(bytes.to_vec()),
                Next::Overrun { missed: m } => missed += m,
                Next::CaughtUp => unreachable!(),
            }
        }
        prop_assert_eq!(read.len() as u64 + missed, publishes.len() as u64);
        let mut position = 0;
        for bytes in &read {
            let found = expected[position + 1..].iter().position(|e| e == bytes);
            prop_assert!(found.is_some(), "read an event that was never published or out of order");
            position += found.unwrap() + 1;
        }
    }
}

#[test]
fn every_starting_offset_wraps_cleanly() {
    // A first event of every size shifts where later events meet the end of the array.
    for pad in 0..120 {
        let mut ring = Ring::<EVENTS, BYTES>::new(1);
        let padding = "p".repeat(pad);
        ring.publish(None, &padding).unwrap();
        let mut cursor = ring.live_cursor();

        for seq in 2..40u64 {
            let data = format!("{seq:>width$}", width = (seq as usize * 7) % 50);
            ring.publish(None, &data).unwrap();

            assert_eq!(
                ring.next(&mut cursor),
                Next::Event(&wire(1, seq, None, &data)[..]),
                "pad {pad} seq {seq}"
            );
        }
    }
}

/// The bytes the ring must hold for one event, written out by hand.
fn wire(epoch: u32, seq: u64, name: Option<&str>, data: &str) -> Vec<u8> {
    let mut text = String::new();
    if let Some(name) = name {
        text.push_str(&format!("event: {name}\n"));
    }
    text.push_str(&format!("id: {epoch}-{seq}\ndata: {data}\n\n"));
    text.into_bytes()
}

/// The oldest kept sequence number, or the next one when empty.
fn first<const E: usize, const B: usize>(ring: &Ring<E, B>, next: u64) -> u64 {
    ring.oldest().map_or(next, EventSeq::get)
}
