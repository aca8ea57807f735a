//! Body of the `topics` fuzz target, shared by the cargo-fuzz wrapper
//! (`fuzz/fuzz_targets/topics.rs`), `tests/topic_properties.rs` (which feeds it
//! proptest-generated scripts) and `tests/fuzz_replay.rs` (which replays the corpus on stable).
//!
//! A small [`Ring`] (a few events, a few hundred bytes, so eviction happens all the time) is
//! published to with random non-empty subsets of a six-topic alphabet (the default topic among
//! them, and two names that share an eviction bucket), and read by four readers: three
//! [`Ring::following`] views on fuzz-chosen topic sets (the empty set included), some of them
//! lazy as a `ServerSession` is (moving only past what they got, never on `CaughtUp`), and one
//! that reads the ring directly (the default topic). Readers read with `next`, `peek` and drains
//! between publishes, and resume with valid, evicted, future, other-epoch and malformed ids.
//!
//! A plain model keeps every published event (its seq, topics and wire bytes); the ring keeps
//! the seqs from `oldest()` to `newest()`, all older ones are evicted. After every step it checks:
//!
//! 1. a reader never gets an event of a topic it does not follow (the data names the topics
//!    the event was published to, and the bytes are the model's, byte for byte);
//! 2. the seqs a reader gets strictly increase (none twice, in publish order);
//! 3. no silent loss: every event of the reader's topics after its position is delivered, or
//!    an overrun or gap was reported before the next delivery (`CaughtUp` only when nothing of
//!    its topics is left after its position);
//! 4. exactness: an overrun or an `Evicted` gap happens exactly when an evicted event after the
//!    reader's position shares an eviction bucket with one of its topics (never otherwise), a
//!    valid id resumes exactly after itself, and ids of another epoch, from the future or
//!    malformed always give their gap, from the oldest kept event;
//! 5. gap texts (`GapEvent::encode_for` with the view's `gap_topics`) name only the reader's
//!    topics and every one of them that really lost an event, and carry no count once the ring
//!    holds topics; before that, the exact count;
//! 6. `peek` does not move the cursor and agrees with `next`; a refused publish leaves the ring
//!    as it was; every kept event reads back as published; the id of a cursor resumes it;
//! 7. a publish's `Interest` intersects that of every reader following one of its topics, so
//!    a hub that wakes by interest wakes them all.

use sansse::encode::{EventIdBuf, EventName};
use sansse::replay::{
    Cursor, EventSeq, Gap, GapEvent, GapTopics, MAX_ID_LEN, Next, PublishError, ReplayLog, Resume,
    Ring, Topics,
};

/// The ring's epoch; ids are `5-<seq>`.
pub(crate) const EPOCH: u32 = 5;

/// The topic alphabet; bit `i` of a mask is `NAMES[i]`. `g` and `news` share an eviction
/// bucket (FNV-1a modulo 64 is 38 for both), so a gap one of them needs only because of the
/// other is allowed and exercised.
pub(crate) const NAMES: [&str; 6] = ["default", "a", "b", "g", "news", "user/1"];

/// Masks over [`NAMES`] have six bits.
pub(crate) const ALL_TOPICS: u8 = 0x3f;

/// The bit of a reader's choice byte that makes it lazy (see `Reader::lazy`).
pub(crate) const LAZY: u8 = 0x40;

/// The default topic's bit.
pub(crate) const DEFAULT_BIT: u8 = 1;

/// The topic set of a mask over [`NAMES`], in alphabet order.
pub(crate) fn topics_of(mask: u8) -> Topics {
    Topics::from_names(
        NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, name)| *name),
    )
    .expect("alphabet names are valid and few")
}

/// The mask over [`NAMES`] of one name.
fn bit_of(name: &str) -> u8 {
    let at = NAMES
        .iter()
        .position(|n| *n == name)
        .unwrap_or_else(|| panic!("{name:?} is not a topic of the alphabet"));
    1 << at
}

/// The eviction buckets (as `Interest` bits) of a mask's topics.
fn buckets(mask: u8) -> u64 {
    topics_of(mask).interest().bits()
}

/// The data of an event published to `mask`: its topics in hex, a colon, then padding, so a
/// delivery says which topics it was published to.
pub(crate) fn data_of(mask: u8, serial: u64, pad: usize) -> String {
    let mut data = format!("{mask:02x}:{serial}:");
    data.extend(core::iter::repeat_n('.', pad));
    data
}

/// The topics mask a delivered event's data names.
pub(crate) fn mask_in(data: &str) -> u8 {
    data.get(..2)
        .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        .unwrap_or_else(|| panic!("event data {data:?} names no topics"))
}

/// One step of a script; [`encode`] writes it as the bytes [`topics`] reads.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// Publishes one event to the (non-empty) topics of `mask`, with `pad` bytes of padding
    /// and, when `named`, an event name.
    Publish { mask: u8, pad: u8, named: bool },
    /// Publishes `count` events to `mask`.
    Burst { mask: u8, count: u8, pad: u8 },
    /// `next` on a reader (checked against `peek` then `advance`).
    Next { reader: u8 },
    /// `peek` on a reader, without moving it.
    Peek { reader: u8 },
    /// `next` until caught up.
    Drain { reader: u8 },
    /// Places a reader anew from a `Last-Event-ID` of the given kind.
    Resume { reader: u8, kind: IdKind, arg: u8 },
    /// A reader follows other topics (from the live position); `mask` as the header's
    /// reader bytes.
    Follow { reader: u8, mask: u8 },
    /// Reads every kept event back and peeks every reader.
    Check,
}

/// What kind of `Last-Event-ID` a resume sends.
#[derive(Clone, Copy, Debug)]
pub(crate) enum IdKind {
    /// No header.
    Absent,
    /// An empty or blank header.
    Blank,
    /// `5-<seq>` with `seq` = the newest seq minus `arg` (0 at the least), sometimes with
    /// spaces around.
    Valid,
    /// `5-<next seq + arg>`.
    Future,
    /// `<other epoch>-<arg>`.
    OtherEpoch,
    /// One of several malformed spellings.
    Malformed,
}

impl IdKind {
    const ALL: [Self; 6] = [
        Self::Absent,
        Self::Blank,
        Self::Valid,
        Self::Future,
        Self::OtherEpoch,
        Self::Malformed,
    ];
}

/// Opcodes, taken modulo this count.
const OPS: u8 = 8;

/// Encodes a script: a ring choice, the first three readers' topic masks (bit 6: lazy), then
/// the ops.
pub(crate) fn encode(ring: u8, readers: [u8; 3], ops: &[Op]) -> Vec<u8> {
    let mut bytes = vec![ring, readers[0], readers[1], readers[2]];
    for op in ops {
        match *op {
            Op::Publish { mask, pad, named } => {
                bytes.extend([0, mask, pad & 0x7f | if named { 0x80 } else { 0 }]);
            }
            Op::Next { reader } => bytes.extend([1, reader]),
            Op::Peek { reader } => bytes.extend([2, reader]),
            Op::Drain { reader } => bytes.extend([3, reader]),
            Op::Resume { reader, kind, arg } => {
                bytes.extend([4, reader, kind as u8, arg]);
            }
            Op::Follow { reader, mask } => bytes.extend([5, reader, mask]),
            Op::Burst { mask, count, pad } => bytes.extend([6, mask, count, pad]),
            Op::Check => bytes.push(7),
        }
    }
    bytes
}

/// Runs one fuzz input.
pub(crate) fn topics(data: &[u8]) {
    let mut script = Script(data);
    // Rings from three events in 128 bytes (an event with topic names and padding may not fit
    // at all) to eight in 512; all evict constantly.
    match script.byte() % 3 {
        0 => run(Ring::<3, 128>::new(EPOCH), &mut script),
        1 => run(Ring::<5, 256>::new(EPOCH), &mut script),
        _ => run(Ring::<8, 512>::new(EPOCH), &mut script),
    }
}

fn run<const E: usize, const B: usize>(mut ring: Ring<E, B>, script: &mut Script<'_>) {
    let mut model = Model::default();
    let mut readers: Vec<Reader> = (0..3)
        .map(|_| Reader::following(script.byte(), &ring))
        .collect();
    readers.push(Reader::direct(&ring));

    while let Some(op) = script.next() {
        match op % OPS {
            0 => {
                let mask = script.byte();
                let pad = script.byte();
                model.publish(&mut ring, mask, usize::from(pad & 0x7f), pad & 0x80 != 0);
                model.check_wakes(&readers);
            }
            1 => {
                let r = reader_index(script.byte());
                readers[r].next(&ring, &model);
            }
            2 => {
                let r = reader_index(script.byte());
                readers[r].peek_only(&ring, &model);
            }
            3 => {
                let r = reader_index(script.byte());
                readers[r].drain(&ring, &model);
            }
            4 => {
                let r = reader_index(script.byte());
                let kind = IdKind::ALL[usize::from(script.byte()) % IdKind::ALL.len()];
                let arg = script.byte();
                readers[r].resume(&ring, &model, kind, arg);
            }
            5 => {
                let r = reader_index(script.byte());
                let choice = script.byte();
                // The direct reader follows the default topic by construction.
                if !readers[r].direct {
                    readers[r] = Reader::following(choice, &ring);
                }
            }
            6 => {
                let mask = script.byte();
                let count = script.byte() % 8;
                let pad = usize::from(script.byte() % 64);
                for _ in 0..count {
                    model.publish(&mut ring, mask, pad, false);
                    model.check_wakes(&readers);
                }
            }
            _ => {
                model.check_ring(&ring);
                for reader in &readers {
                    reader.peek_only(&ring, &model);
                }
            }
        }
    }

    // Everyone drains at the end: whatever is left must come out complete, or be reported.
    model.check_ring(&ring);
    for reader in &mut readers {
        reader.drain(&ring, &model);
    }
}

fn reader_index(byte: u8) -> usize {
    usize::from(byte % 4)
}

/// Every event ever published, in seq order from 1.
#[derive(Default)]
struct Model {
    events: Vec<Published>,
    /// Whether an event named a topic other than the default one alone.
    topical: bool,
}

struct Published {
    seq: u64,
    mask: u8,
    wire: Vec<u8>,
}

impl Model {
    fn publish<const E: usize, const B: usize>(
        &mut self,
        ring: &mut Ring<E, B>,
        mask: u8,
        pad: usize,
        named: bool,
    ) {
        // A non-empty subset of the alphabet.
        let mask = mask % ALL_TOPICS + 1;
        let topics = topics_of(mask);
        let seq = self.next_seq();
        let data = data_of(mask, seq, pad);
        let name = EventName::new("t").ok().filter(|_| named);
        let before = (ring.oldest(), ring.newest(), ring.used_bytes());
        // The default topic alone goes both ways: they must be the same publish.
        let result = if mask == DEFAULT_BIT && pad & 1 == 0 {
            ring.publish(name, &data)
        } else {
            ring.publish_to(&topics, name, &data)
        };
        match result {
            Ok(got) => {
                assert_eq!(got, EventSeq::new(seq), "seqs are handed out in order");
                let mut wire = Vec::new();
                if named {
                    wire.extend_from_slice(b"event: t\n");
                }
                wire.extend_from_slice(format!("id: {EPOCH}-{seq}\ndata: {data}\n\n").as_bytes());
                self.events.push(Published { seq, mask, wire });
                self.topical |= mask != DEFAULT_BIT;
                assert_eq!(ring.newest(), Some(EventSeq::new(seq)));
            }
            Err(PublishError::TooLarge { needed, capacity }) => {
                assert!(needed > capacity && capacity == B, "{needed} > {capacity}");
                assert_eq!(
                    (ring.oldest(), ring.newest(), ring.used_bytes()),
                    before,
                    "a refused publish changed the ring"
                );
            }
            Err(error) => panic!("publish failed: {error}"),
        }
    }

    /// A hub wakes a reader when a publish's `Interest` intersects the reader's: the last
    /// publish must wake every reader that follows one of its topics (a spurious wake-up is
    /// allowed, a missed one would stall the reader).
    fn check_wakes(&self, readers: &[Reader]) {
        let Some(last) = self.events.last() else {
            return;
        };
        let published = topics_of(last.mask).interest();
        for reader in readers {
            if last.mask & reader.mask != 0 {
                assert!(
                    reader.topics.interest().intersects(published),
                    "a publish to {:02x} does not wake the reader of {:?}",
                    last.mask,
                    reader.topics
                );
            }
        }
    }

    fn next_seq(&self) -> u64 {
        self.events.len() as u64 + 1
    }

    /// The seq of the oldest kept event: everything before it is evicted. With nothing kept
    /// (nothing published yet), the next seq.
    fn first<const E: usize, const B: usize>(&self, ring: &Ring<E, B>) -> u64 {
        ring.oldest().map_or(self.next_seq(), EventSeq::get)
    }

    /// The events with seqs in `from..to`.
    fn range(&self, from: u64, to: u64) -> &[Published] {
        let len = self.events.len();
        let at = |seq: u64| (seq.max(1) - 1).min(len as u64) as usize;
        &self.events[at(from)..at(to).max(at(from))]
    }

    fn event(&self, seq: u64) -> &Published {
        let index = seq
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .expect("seqs start at 1");
        self.events
            .get(index)
            .unwrap_or_else(|| panic!("seq {seq} was never published"))
    }

    /// Whether an evicted event after `last` shares an eviction bucket with `mask`'s topics:
    /// exactly when the ring must report a loss to a reader at `last`.
    fn bucket_hit<const E: usize, const B: usize>(
        &self,
        ring: &Ring<E, B>,
        last: u64,
        mask: u8,
    ) -> bool {
        let reader = buckets(mask);
        self.range(last.saturating_add(1), self.first(ring))
            .iter()
            .any(|e| buckets(e.mask) & reader != 0)
    }

    /// The reader topics (a mask) that really lost an evicted event after `last`.
    fn really_lost<const E: usize, const B: usize>(
        &self,
        ring: &Ring<E, B>,
        last: u64,
        mask: u8,
    ) -> u8 {
        self.range(last.saturating_add(1), self.first(ring))
            .iter()
            .fold(0, |lost, e| lost | (e.mask & mask))
    }

    /// The ring keeps exactly the newest events, byte for byte as published.
    fn check_ring<const E: usize, const B: usize>(&self, ring: &Ring<E, B>) {
        let first = self.first(ring);
        let next = self.next_seq();
        assert_eq!(
            ring.len() as u64,
            next - first,
            "kept events are contiguous"
        );
        assert!(ring.len() <= E && ring.used_bytes() <= B);
        assert_eq!(ring.live_cursor().position().get(), next);
        for e in self.range(first, next) {
            assert_eq!(
                ring.event(EventSeq::new(e.seq)),
                Some(&e.wire[..]),
                "kept event {} reads back as published",
                e.seq
            );
        }
        if first > 1 {
            assert_eq!(ring.event(EventSeq::new(first - 1)), None);
        }
    }
}

/// One reader: its topics, its cursor, and how far it has got.
#[derive(Clone, Copy)]
struct Reader {
    /// Its topics as a mask over [`NAMES`].
    mask: u8,
    topics: Topics,
    /// Reads the ring itself (the default topic) rather than a view.
    direct: bool,
    /// Moves only past what it got, as a `ServerSession` does: on `CaughtUp` it keeps its
    /// cursor (right after its own last event) instead of advancing past other topics.
    lazy: bool,
    cursor: Cursor,
    /// The seq up to which the reader has every event of its topics or was told it lost them.
    pos: u64,
    /// The last seq delivered, for the order check.
    last_delivered: u64,
}

/// What a reader does with a read.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The read is consumed: the reader's position moves.
    Consume,
    /// The read is only looked at.
    Look,
}

impl Reader {
    /// A reader of the topics in `choice`'s low six bits, lazy when bit 6 is set.
    fn following<const E: usize, const B: usize>(choice: u8, ring: &Ring<E, B>) -> Self {
        let mask = choice & ALL_TOPICS;
        let topics = topics_of(mask);
        let cursor = ring.following(&topics).resume(None).cursor();
        assert_eq!(cursor, ring.live_cursor(), "no id starts live");
        Self {
            mask,
            topics,
            direct: false,
            lazy: choice & LAZY != 0,
            cursor,
            pos: cursor.position().get() - 1,
            last_delivered: 0,
        }
    }

    fn direct<const E: usize, const B: usize>(ring: &Ring<E, B>) -> Self {
        Self {
            direct: true,
            ..Self::following(DEFAULT_BIT, ring)
        }
    }

    /// Runs `f` with the log this reader reads.
    fn with_log<const E: usize, const B: usize, T>(
        &self,
        ring: &Ring<E, B>,
        f: impl FnOnce(&dyn Log) -> T,
    ) -> T {
        if self.direct {
            f(ring)
        } else {
            f(&ring.following(&self.topics))
        }
    }

    fn next<const E: usize, const B: usize>(&mut self, ring: &Ring<E, B>, model: &Model) -> bool {
        let before = self.cursor;
        let (read, cursor) = self.with_log(ring, |log| {
            let peeked = log.look(&before);
            let mut stepped = before;
            log.step(&mut stepped);
            let mut cursor = before;
            let read = log.read(&mut cursor);
            assert_eq!(read, peeked, "next is peek then advance");
            assert_eq!(cursor, stepped, "next moves as advance does");
            (Read::from(read), cursor)
        });
        self.check(ring, model, &read, before, cursor, Mode::Consume);
        self.cursor = match read {
            Read::CaughtUp if self.lazy => before,
            _ => cursor,
        };
        !matches!(read, Read::CaughtUp)
    }

    fn peek_only<const E: usize, const B: usize>(&self, ring: &Ring<E, B>, model: &Model) {
        let cursor = self.cursor;
        let read = self.with_log(ring, |log| {
            let first = log.look(&cursor);
            assert_eq!(log.look(&cursor), first, "peek is repeatable");
            let mut moved = cursor;
            log.step(&mut moved);
            (Read::from(first), moved)
        });
        // A copy checks, so nothing of the reader moves.
        let mut look = *self;
        look.check(ring, model, &read.0, cursor, read.1, Mode::Look);
    }

    fn drain<const E: usize, const B: usize>(&mut self, ring: &Ring<E, B>, model: &Model) {
        // Each step delivers an event or moves to the oldest kept one: bounded by the ring.
        for _ in 0..=2 * E + 2 {
            if !self.next(ring, model) {
                return;
            }
        }
        panic!("a drain did not catch up");
    }

    /// Checks one read from `before` (moving to `after` once consumed) against the model.
    fn check<const E: usize, const B: usize>(
        &mut self,
        ring: &Ring<E, B>,
        model: &Model,
        read: &Read,
        before: Cursor,
        after: Cursor,
        mode: Mode,
    ) {
        let first = model.first(ring);
        let next = model.next_seq();
        let at = before.position().get();
        // Whether the ring must report a loss: the cursor is behind the oldest kept event and
        // an evicted event after its last read shares a bucket with the reader's topics.
        let owed = at < first && model.bucket_hit(ring, at - 1, self.mask);
        match read {
            Read::Event(bytes) => {
                assert!(!owed, "a loss after {} went unreported", at - 1);
                let seq = seq_of(bytes);
                let published = model.event(seq);
                assert_eq!(bytes, &published.wire, "event {seq} is as published");
                let data_mask = mask_in(data_line(bytes));
                assert_eq!(data_mask, published.mask);
                assert!(
                    published.mask & self.mask != 0,
                    "reader of {:?} got event {seq} of {:02x}",
                    self.topics,
                    published.mask
                );
                assert!(
                    seq >= first && seq < next && seq >= at,
                    "event {seq} is kept and not behind the cursor {at}"
                );
                assert!(
                    seq > self.last_delivered,
                    "event {seq} twice or out of order"
                );
                self.assert_nothing_of_mine(model, self.pos + 1, seq, "skipped");
                if mode == Mode::Consume {
                    assert_eq!(after.position().get(), seq + 1);
                    self.pos = seq;
                    self.last_delivered = seq;
                }
            }
            Read::CaughtUp => {
                assert!(!owed, "a loss after {} went unreported", at - 1);
                self.assert_nothing_of_mine(model, self.pos + 1, next, "left unread");
                if mode == Mode::Consume {
                    assert!(after.position().get() <= next);
                }
            }
            Read::Overrun { missed } => {
                assert!(
                    owed,
                    "overrun at {at} with nothing of {:?} evicted after it",
                    self.topics
                );
                assert_eq!(*missed, first - at, "an overrun counts the hub-wide jump");
                assert_eq!(
                    after.position().get(),
                    first,
                    "an overrun moves to the oldest"
                );
                let gap = Gap::Overrun { missed: *missed };
                let lost = model.really_lost(ring, at - 1, self.mask);
                self.check_gap_text(ring, model, gap, after, Some(lost));
                if mode == Mode::Consume {
                    self.pos = first - 1;
                }
            }
        }
    }

    /// No event of the reader's topics with a seq in `from..to`.
    fn assert_nothing_of_mine(&self, model: &Model, from: u64, to: u64, what: &str) {
        if let Some(e) = model
            .range(from, to)
            .iter()
            .find(|e| e.mask & self.mask != 0)
        {
            panic!(
                "event {} of {:02x} {what} by the reader of {:?} (at {})",
                e.seq, e.mask, self.topics, self.pos
            );
        }
    }

    fn resume<const E: usize, const B: usize>(
        &mut self,
        ring: &Ring<E, B>,
        model: &Model,
        kind: IdKind,
        arg: u8,
    ) {
        let first = model.first(ring);
        let next = model.next_seq();
        let oldest = ring.oldest_cursor();
        let mut valid = None;
        let id: Option<String> = match kind {
            IdKind::Absent => None,
            IdKind::Blank => Some([" ", "", "\t "][usize::from(arg % 3)].to_owned()),
            IdKind::Valid => {
                let seq = (next - 1).saturating_sub(u64::from(arg));
                valid = Some(seq);
                Some(match arg % 4 {
                    0 => format!(" {EPOCH}-{seq}\t"),
                    _ => format!("{EPOCH}-{seq}"),
                })
            }
            IdKind::Future => Some(format!("{EPOCH}-{}", next + u64::from(arg))),
            IdKind::OtherEpoch => Some(format!("{}-{arg}", EPOCH + 1 + u32::from(arg % 2))),
            IdKind::Malformed => Some(
                [
                    "garbage".to_owned(),
                    format!("{EPOCH}-0{}", arg % 10 + 1),
                    format!("{EPOCH}-"),
                    format!("{EPOCH}-+{arg}"),
                    format!("-{arg}"),
                    format!("0{EPOCH}-{arg}"),
                    "4294967296-1".to_owned(),
                    format!("{EPOCH}-{arg}-{arg}"),
                    format!("{EPOCH}-99999999999999999999999"),
                ][usize::from(arg) % 9]
                    .clone(),
            ),
        };
        let resume = self.with_log(ring, |log| log.place(id.as_deref().map(str::as_bytes)));
        let gap = match (kind, resume) {
            (IdKind::Absent | IdKind::Blank, Resume::Live(cursor)) => {
                assert_eq!(cursor, ring.live_cursor());
                self.pos = next - 1;
                None
            }
            (IdKind::Valid, resume) => {
                let seq = valid.unwrap_or_default();
                let owed = seq + 1 < first && model.bucket_hit(ring, seq, self.mask);
                match resume {
                    Resume::Replay(cursor) => {
                        assert!(!owed, "id {seq}: a loss went unreported");
                        let expected = (seq + 1).max(first);
                        assert_eq!(
                            cursor.position().get(),
                            expected,
                            "id {seq} replays after it"
                        );
                        self.pos = seq;
                        None
                    }
                    Resume::Gap { cursor, gap } => {
                        assert!(
                            owed,
                            "id {seq}: a gap with nothing of mine evicted after it"
                        );
                        assert_eq!(
                            gap,
                            Gap::Evicted {
                                missed: first - seq - 1
                            }
                        );
                        assert_eq!(cursor, oldest);
                        let lost = model.really_lost(ring, seq, self.mask);
                        Some((gap, cursor, Some(lost)))
                    }
                    Resume::Live(_) => panic!("id {seq} resumed live"),
                }
            }
            (IdKind::Future, Resume::Gap { cursor, gap }) => {
                assert_eq!(gap, Gap::FutureId);
                Some((gap, cursor, None))
            }
            (IdKind::OtherEpoch, Resume::Gap { cursor, gap }) => {
                assert_eq!(gap, Gap::OtherEpoch);
                Some((gap, cursor, None))
            }
            (IdKind::Malformed, Resume::Gap { cursor, gap }) => {
                assert_eq!(gap, Gap::Malformed, "{id:?}");
                Some((gap, cursor, None))
            }
            (kind, resume) => panic!("{kind:?} id {id:?} gave {resume:?}"),
        };
        let cursor = match gap {
            Some((gap, cursor, lost)) => {
                assert_eq!(cursor, oldest, "after a gap, the oldest kept event");
                self.check_gap_text(ring, model, gap, cursor, lost);
                self.pos = first - 1;
                cursor
            }
            None => resume.cursor(),
        };
        self.cursor = cursor;
        // A new connection: order restarts from its position.
        self.last_delivered = self.pos;

        // The id of the cursor resumes it exactly (what a gap event carries).
        let again = self.with_log(ring, |log| {
            let id = log.id_at(&cursor);
            log.place(Some(id.as_id().as_str().as_bytes()))
        });
        if cursor.position().get() >= first {
            assert_eq!(
                again,
                Resume::Replay(cursor),
                "the cursor's own id resumes it"
            );
        }
    }

    /// The gap event this reader would be sent, written as a session writes it.
    fn check_gap_text<const E: usize, const B: usize>(
        &self,
        ring: &Ring<E, B>,
        model: &Model,
        gap: Gap,
        cursor: Cursor,
        really_lost: Option<u8>,
    ) {
        let mut buf = [0u8; 512];
        let text = self.with_log(ring, |log| {
            let id = log.id_at(&cursor);
            let topics = log.gap_names(gap, &cursor);
            let len = GapEvent::default()
                .encode_for(gap, Some(id.as_id()), topics, &mut buf)
                .expect("a gap event of six short topics fits 512 bytes");
            String::from_utf8(buf[..len].to_vec()).expect("gap events are UTF-8")
        });
        let data = data_line(text.as_bytes());
        let reader_names: Vec<&str> = self.topics.iter().map(|t| t.as_str()).collect();
        if !model.topical {
            // One topic in the whole ring: counts are exact and tell nobody anything new.
            assert!(!data.contains("\"topics\""), "{text}");
            if let Some(missed) = gap.missed() {
                assert!(data.contains(&format!("\"missed\":{missed}}}")), "{text}");
            }
            return;
        }
        assert!(!data.contains("missed"), "a count in a topical gap: {text}");
        let named = topics_in(data);
        if reader_names.is_empty() {
            assert!(named.is_empty(), "{text}");
            return;
        }
        assert!(!named.is_empty(), "a topical gap names no topic: {text}");
        let mut named_mask = 0u8;
        for name in &named {
            assert!(
                reader_names.contains(name),
                "gap for {reader_names:?} names {name:?}: {text}"
            );
            named_mask |= bit_of(name);
        }
        if let Some(lost) = really_lost {
            assert_eq!(
                lost & !named_mask,
                0,
                "a topic that lost events is not named: {text}"
            );
        }
    }
}

/// The calls a reader makes, for the ring itself and its views alike, as a trait object
/// (names of its own, so they do not clash with `ReplayLog`'s).
trait Log {
    fn look(&self, cursor: &Cursor) -> Next<'_>;
    fn step(&self, cursor: &mut Cursor);
    fn read(&self, cursor: &mut Cursor) -> Next<'_>;
    fn place(&self, id: Option<&[u8]>) -> Resume<Cursor>;
    fn id_at(&self, cursor: &Cursor) -> EventIdBuf<MAX_ID_LEN>;
    fn gap_names(&self, gap: Gap, cursor: &Cursor) -> GapTopics<'_>;
}

impl<L: ReplayLog<Cursor = Cursor>> Log for L {
    fn look(&self, cursor: &Cursor) -> Next<'_> {
        self.peek(cursor)
    }
    fn step(&self, cursor: &mut Cursor) {
        self.advance(cursor);
    }
    fn read(&self, cursor: &mut Cursor) -> Next<'_> {
        self.next(cursor)
    }
    fn place(&self, id: Option<&[u8]>) -> Resume<Cursor> {
        self.resume(id)
    }
    fn id_at(&self, cursor: &Cursor) -> EventIdBuf<MAX_ID_LEN> {
        self.resume_id(cursor)
    }
    fn gap_names(&self, gap: Gap, cursor: &Cursor) -> GapTopics<'_> {
        self.gap_topics(gap, cursor)
    }
}

/// A read, owned so it outlives the view that made it.
#[derive(Debug)]
enum Read {
    Event(Vec<u8>),
    CaughtUp,
    Overrun { missed: u64 },
}

impl From<Next<'_>> for Read {
    fn from(next: Next<'_>) -> Self {
        match next {
            Next::Event(bytes) => Self::Event(bytes.to_vec()),
            Next::CaughtUp => Self::CaughtUp,
            Next::Overrun { missed } => Self::Overrun { missed },
        }
    }
}

/// The seq in an event's `id: 5-<seq>` line.
fn seq_of(wire: &[u8]) -> u64 {
    let text = core::str::from_utf8(wire).expect("ring events are UTF-8");
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("id: {EPOCH}-")))
        .and_then(|seq| seq.parse().ok())
        .unwrap_or_else(|| panic!("no ring id in {text:?}"))
}

/// The text of the one `data:` line of an event.
fn data_line(wire: &[u8]) -> &str {
    let text = core::str::from_utf8(wire).expect("events are UTF-8");
    text.lines()
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no data line in {text:?}"))
}

/// The names in a gap event's `"topics":[..]`.
fn topics_in(data: &str) -> Vec<&str> {
    let Some(start) = data.find("\"topics\":[") else {
        return Vec::new();
    };
    let list = &data[start + "\"topics\":[".len()..];
    let list = &list[..list.find(']').expect("a closed topic list")];
    list.split(',')
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.strip_prefix('"')
                .and_then(|item| item.strip_suffix('"'))
                .unwrap_or_else(|| panic!("topic {item:?} is not a JSON string"))
        })
        .collect()
}

/// Reads the fuzz input as a script; reads past the end give zeros.
struct Script<'a>(&'a [u8]);

impl Script<'_> {
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn byte(&mut self) -> u8 {
        self.next().unwrap_or(0)
    }
}
