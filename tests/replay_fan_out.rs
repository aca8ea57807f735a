//! Many sessions reading one ring: everyone gets everything, in order, or is told what it missed.

use sansse::encode::EventName;
use sansse::replay::{Next, ReplayLog, Resume, Ring};

#[test]
fn a_thousand_cursors_on_one_ring_all_receive_everything_in_order() {
    let mut ring = Ring::<32, 4096>::new(11);
    let mut cursors = vec![ring.resume(None).cursor(); 1000];
    let mut received = vec![Vec::new(); cursors.len()];
    let name = EventName::new("n").unwrap();

    for round in 0..10 {
        // Fewer events per round than the ring holds, so nobody overruns.
        for i in 0..20 {
            let seq = round * 20 + i + 1;
            ring.publish(Some(name), &format!("event {seq}")).unwrap();
        }
        for (cursor, got) in cursors.iter_mut().zip(&mut received) {
            while let Next::Event(bytes) = ring.next(cursor) {
                got.push(bytes.to_vec());
            }
        }
    }

    let expected: Vec<Vec<u8>> = (1..=200)
        .map(|seq| format!("event: n\nid: 11-{seq}\ndata: event {seq}\n\n").into_bytes())
        .collect();
    assert!(received.iter().all(|got| *got == expected));
}

#[test]
fn readers_at_different_paces_lose_only_what_they_are_told_about() {
    let mut ring = Ring::<8, 1024>::new(2);
    // Reader k drains after every k-th publish; the slow ones overrun.
    let mut readers: Vec<Reader> = (1..=12)
        .map(|every| Reader {
            every,
            cursor: ring.live_cursor(),
            seqs: Vec::new(),
            missed: 0,
        })
        .collect();

    for seq in 1..=300u64 {
        ring.publish(None, &seq.to_string()).unwrap();
        for reader in &mut readers {
            if seq % reader.every == 0 {
                reader.drain(&ring);
            }
        }
    }
    for reader in &mut readers {
        reader.drain(&ring);
    }

    for reader in &readers {
        assert!(
            reader.seqs.windows(2).all(|pair| pair[0] < pair[1]),
            "in order"
        );
        assert_eq!(
            reader.seqs.len() as u64 + reader.missed,
            300,
            "every {}",
            reader.every
        );
        assert_eq!(reader.seqs.last(), Some(&300));
        assert_eq!(
            reader.missed > 0,
            reader.every > 8,
            "every {}",
            reader.every
        );
    }
}

#[test]
fn resumed_sessions_join_the_live_ones_without_duplicates() {
    let mut ring = Ring::<16, 2048>::new(3);
    for seq in 1..=10 {
        ring.publish(None, &seq.to_string()).unwrap();
    }
    let Resume::Replay(mut resumed) = ring.resume(Some(b"3-6")) else {
        panic!("3-6 is kept");
    };
    let mut live = ring.resume(None).cursor();
    ring.publish(None, "11").unwrap();

    let resumed_seqs = drain_seqs(&ring, &mut resumed);
    let live_seqs = drain_seqs(&ring, &mut live);

    assert_eq!(resumed_seqs, vec![7, 8, 9, 10, 11]);
    assert_eq!(live_seqs, vec![11]);
}

struct Reader {
    every: u64,
    cursor: sansse::replay::Cursor,
    seqs: Vec<u64>,
    missed: u64,
}

impl Reader {
    fn drain<const E: usize, const B: usize>(&mut self, ring: &Ring<E, B>) {
        loop {
            match ring.next(&mut self.cursor) {
                Next::Event(bytes) => self.seqs.push(data_of(bytes)),
                Next::Overrun { missed } => self.missed += missed,
                Next::CaughtUp => return,
            }
        }
    }
}

fn drain_seqs<const E: usize, const B: usize>(
    ring: &Ring<E, B>,
    cursor: &mut sansse::replay::Cursor,
) -> Vec<u64> {
    let mut seqs = Vec::new();
    while let Next::Event(bytes) = ring.next(cursor) {
        seqs.push(data_of(bytes));
    }
    seqs
}

/// The number in a single-line `data:` field.
fn data_of(bytes: &[u8]) -> u64 {
    let text = core::str::from_utf8(bytes).unwrap();
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap();
    line.parse().unwrap()
}
