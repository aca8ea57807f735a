//! The bounded replay log: one ring serving fan-out to every session and `Last-Event-ID` resume.
//!
//! # Model
//!
//! The server publishes each event once into a [`Ring`], which encodes it to wire bytes right away
//! (so a session only copies bytes out) and gives it the next sequence number. A session holds only
//! a [`Cursor`], the sequence number of the next event it will send, so memory is O(ring), not
//! O(clients x queue). The ring keeps at most `EVENTS` events and `BYTES` bytes of them; the
//! oldest go first when either bound is hit.
//!
//! # Ids
//!
//! Every event the ring stores carries the id `<epoch>-<seq>`, both in decimal without leading
//! zeros (for example `7-42`). The sequence number counts from 1 and only grows. The epoch is a
//! `u32` the server picks when it starts (a boot counter, or a random number from its seed), so an
//! id from before a restart is recognised as foreign instead of being mistaken for a position in
//! the new history.
//!
//! # Resume rules ([`ReplayLog::resume`])
//!
//! 1. No `Last-Event-ID` (or an empty one, which is how a client says "no id"): start live, at the
//!    next event to be published.
//! 2. `<epoch>-<seq>` of this epoch with `seq` no older than the event just before the oldest kept
//!    one: replay exactly the events after `seq`. The event named by the id need not be kept
//!    itself; only the ones after it must be.
//! 3. Anything else is a [`Gap`]: an id of this epoch whose successors were evicted, an id of
//!    another epoch, an id of this epoch that was never issued yet (in the future), or text that
//!    is not an id of this form. The session sends a gap event ([`GapEvent`]) and then every event
//!    still kept, from the oldest. Starting from the oldest rather than live loses the least, and
//!    it is exactly what happens to a reader that falls behind ([`Next::Overrun`]), so a client
//!    sees one rule: after a gap event, the events that follow are complete and in order.
//!
//! # Topics
//!
//! Every event is published to one or more [`Topics`] (the [default topic](Topic::DEFAULT)
//! unless named), and a reader follows a set of topics through a view,
//! [`Ring::following`]. The ring is one hub-wide history: the sequence number counts every
//! event of every topic, and a reader that follows several topics gets their events
//! interleaved in publish order. A reader's `Last-Event-ID` is therefore one position for all
//! of its topics, which is all a browser's `EventSource` can send back: resuming replays the
//! kept events after it that belong to the reader's topics, none twice, in order.
//!
//! The trade-offs of this id scheme, against per-topic positions encoded in the id:
//!
//! - Ids stay short (`<epoch>-<seq>`) however many topics a reader follows, and the same id
//!   means the same event for every reader.
//! - Memory is bounded by the ring alone, whatever the number of topics: a topic exists only
//!   while a kept event names it, and eviction is oldest first across all topics, so a busy
//!   topic pushes a quiet topic's history out. A reader resuming into evicted history gets a
//!   gap event, never silence.
//! - Ids are hub-wide, so two ids a reader receives tell it how many events of *all* topics
//!   were published between them. When that volume is itself sensitive, run separate rings.
//! - Which topics lost events is tracked in 64 buckets (by a hash of the name), not per topic,
//!   so the memory stays fixed: a reader whose topic shares a bucket with a topic that lost
//!   events after its id may get a gap event it did not strictly need (never the other way).
//!
//! A reader never receives another topic's event, and a gap event names only the reader's own
//! topics, so a subscriber granted some topics learns nothing of the others' events.
//!
//! # Reading ([`ReplayLog::next`])
//!
//! Reading gives the next event's wire bytes and advances the cursor, says the cursor is caught
//! up, or reports that the cursor fell behind the oldest kept event (an overrun) and moves it to
//! the oldest one. The session decides what an overrun means for it: a gap event, or closing the
//! connection with a retry hint.

use core::fmt;

use crate::ascii::{Overflow, U64_DIGITS, parse_u64, trim_ows, write_u64_str};
use crate::encode::{EventIdBuf, EventName, Message, id_buf_unchecked};

mod gap;
mod topics;

pub use gap::{GapEvent, GapTopics};
pub use topics::{Interest, MAX_TOPIC_LEN, MAX_TOPICS, TOPICS_BYTES, Topic, TopicError, Topics};

use topics::{DEFAULT_PACKED, Packed, packed_interest};

/// The longest id any [`ReplayLog`] hands out: `<u32>-<u64>` in decimal takes at most 31 bytes,
/// and the rest leaves room for other backends' formats (a Redis stream id is `<u64>-<u64>`).
pub const MAX_ID_LEN: usize = 48;

// A ring id is at most 10 digits, a dash and 20 digits.
const _: () = assert!(MAX_ID_LEN >= 10 + 1 + U64_DIGITS);

/// Reading a replay log from per-session cursors: what a server session needs of it.
///
/// [`Ring`] is the in-memory, fixed-size implementation; read directly it serves the
/// [default topic](Topic::DEFAULT), and [`Ring::following`] gives a view that serves a set of
/// topics. Another backend (for example one mirroring a Redis stream so that several server
/// processes share one history) implements the same calls so server sessions need not know
/// which log they read. Publishing is [`TopicLog`]'s.
pub trait ReplayLog {
    /// A session's read position; small and copied freely.
    type Cursor: Copy;

    /// Places a new session's cursor from the `Last-Event-ID` request header, if any.
    ///
    /// Surrounding spaces and tabs are ignored, as HTTP field values allow them. See the module
    /// docs for the rules.
    #[must_use]
    fn resume(&self, last_event_id: Option<&[u8]>) -> Resume<Self::Cursor>;

    /// Looks at what the cursor would read next without moving it.
    #[must_use]
    fn peek(&self, cursor: &Self::Cursor) -> Next<'_>;

    /// Moves the cursor past what [`ReplayLog::peek`] returns: past the event it returned, to
    /// the oldest kept event after an overrun, or, when caught up, at most past events this
    /// reader does not read (a topic view skips the other topics' events it looked through),
    /// never past one it would read.
    fn advance(&self, cursor: &mut Self::Cursor);

    /// Reads the next event and moves the cursor past it ([`ReplayLog::peek`], then
    /// [`ReplayLog::advance`]).
    ///
    /// A session whose output buffer might not take a whole event peeks instead and advances only
    /// once all bytes went out.
    #[must_use = "an event read and dropped is lost to this session"]
    fn next(&self, cursor: &mut Self::Cursor) -> Next<'_> {
        let next = self.peek(cursor);
        self.advance(cursor);
        next
    }

    /// The id that, sent back as `Last-Event-ID`, resumes exactly at `cursor`.
    ///
    /// A gap event carries it, so a client that reconnects right after the gap event is not told
    /// about the same gap twice.
    fn resume_id(&self, cursor: &Self::Cursor) -> EventIdBuf<MAX_ID_LEN>;

    /// The topics a gap event for `gap` names, with the cursor where the reader goes on after
    /// it; [`GapTopics::NONE`] (the default) writes the plain form with the missed count.
    fn gap_topics(&self, gap: Gap, cursor: &Self::Cursor) -> GapTopics<'_> {
        let _ = (gap, cursor);
        GapTopics::NONE
    }
}

/// A replay log whose events carry topics: publishing to topics, and reading one set of them.
///
/// # Examples
///
/// ```
/// use sansse::replay::{Next, ReplayLog, Ring, TopicLog, Topics};
///
/// let mut ring = Ring::<16, 2048>::new(1);
/// let alice = Topics::one("user/alice")?;
/// let bob = Topics::one("user/bob")?;
/// ring.publish_to(&alice, None, "for alice")?;
/// ring.publish_to(&bob, None, "for bob")?;
///
/// let view = ring.following(&bob);
/// let mut cursor = view.resume(Some(b"1-0")).cursor();
/// assert_eq!(view.next(&mut cursor), Next::Event(b"id: 1-2\ndata: for bob\n\n"));
/// assert_eq!(view.next(&mut cursor), Next::CaughtUp);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait TopicLog: ReplayLog {
    /// Where a published event landed.
    type Position: Copy;
    /// Why publishing failed.
    type PublishError: core::error::Error;
    /// A view that reads the events of one set of topics.
    type Following<'a>: ReplayLog<Cursor = Self::Cursor>
    where
        Self: 'a;

    /// Appends an event to every topic of `topics`, once; the log assigns and writes its id.
    ///
    /// # Errors
    ///
    /// Backend specific; for [`Ring`], see [`PublishError`].
    fn publish_to(
        &mut self,
        topics: &Topics,
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<Self::Position, Self::PublishError>;

    /// Appends an event to the [default topic](Topic::DEFAULT).
    ///
    /// # Errors
    ///
    /// As [`TopicLog::publish_to`].
    fn publish(
        &mut self,
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<Self::Position, Self::PublishError> {
        self.publish_to(&Topics::default(), name, data)
    }

    /// A view of the events published to any of `topics`, for one reader.
    fn following<'a>(&'a self, topics: &'a Topics) -> Self::Following<'a>;
}

/// A sequence number: the position of one event in a [`Ring`]'s history, counted from 1.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct EventSeq(u64);

impl EventSeq {
    /// Wraps a sequence number, for example one read back from storage.
    pub const fn new(seq: u64) -> Self {
        Self(seq)
    }

    /// The number itself.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// A session's position in a [`Ring`]: the sequence number of the next event it reads.
///
/// A cursor belongs to the ring that made it; used with another ring it reads that ring's events
/// at the same number, or nothing while it is ahead of that ring.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Cursor {
    next: u64,
}

impl Cursor {
    /// The sequence number of the next event this cursor reads.
    pub const fn position(&self) -> EventSeq {
        EventSeq(self.next)
    }
}

/// Where a new session starts reading, from [`ReplayLog::resume`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Resume<C = Cursor> {
    /// No id was given: the cursor is at the next event to be published.
    Live(C),
    /// The id is known: the cursor replays exactly the events after it.
    Replay(C),
    /// The id cannot be resumed from: send a gap event, then read from the cursor, which is at
    /// the oldest kept event.
    Gap {
        /// Start of the events still kept.
        cursor: C,
        /// Why the client missed events.
        gap: Gap,
    },
}

impl<C: Copy> Resume<C> {
    /// The cursor to read from, whatever the case.
    pub const fn cursor(&self) -> C {
        match self {
            Self::Live(cursor) | Self::Replay(cursor) | Self::Gap { cursor, .. } => *cursor,
        }
    }
}

/// Why a client missed events; the content of a gap event.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Gap {
    /// The `Last-Event-ID` is of this epoch but events after it were already evicted.
    Evicted {
        /// Events published after the client's id and no longer kept.
        missed: u64,
    },
    /// The session's reader fell behind and the ring evicted events it had not sent yet.
    Overrun {
        /// Events evicted before the session sent them.
        missed: u64,
    },
    /// The `Last-Event-ID` is from another epoch, usually before a server restart.
    OtherEpoch,
    /// The `Last-Event-ID` is of this epoch but names an event not published yet.
    FutureId,
    /// The `Last-Event-ID` is not an id this log hands out.
    Malformed,
}

impl Gap {
    /// The short reason written into a gap event's data.
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::Evicted { .. } => "evicted",
            Self::Overrun { .. } => "overrun",
            Self::OtherEpoch => "other-epoch",
            Self::FutureId => "future-id",
            Self::Malformed => "malformed-id",
        }
    }

    /// How many events were missed, when that is known.
    pub const fn missed(&self) -> Option<u64> {
        match self {
            Self::Evicted { missed } | Self::Overrun { missed } => Some(*missed),
            Self::OtherEpoch | Self::FutureId | Self::Malformed => None,
        }
    }
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.missed() {
            Some(missed) => write!(f, "{}: {missed} events missed", self.reason()),
            None => f.write_str(self.reason()),
        }
    }
}

/// What a cursor reads next, from [`ReplayLog::peek`] and [`ReplayLog::next`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Next<'r> {
    /// The whole wire form of the next event (`event:`, `id:`, `data:` lines and the blank line).
    Event(&'r [u8]),
    /// No event after the cursor yet.
    CaughtUp,
    /// The cursor is older than the oldest kept event: `missed` events are gone for this
    /// session. Advancing moves the cursor to the oldest kept event.
    Overrun {
        /// Events evicted before this cursor read them.
        missed: u64,
    },
}

/// Why [`Ring`] refused to publish an event; the ring is unchanged.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum PublishError {
    /// The encoded event is larger than the whole byte ring.
    TooLarge {
        /// Bytes the encoded event takes.
        needed: usize,
        /// Size of the byte ring (`BYTES`).
        capacity: usize,
    },
    /// Every sequence number of this epoch is used; start a new epoch.
    SequenceExhausted,
    /// The event names no topic (an empty [`Topics`]).
    NoTopics,
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { needed, capacity } => {
                write!(f, "event of {needed} bytes exceeds ring of {capacity}")
            }
            Self::SequenceExhausted => f.write_str("sequence numbers exhausted"),
            Self::NoTopics => f.write_str("an event needs at least one topic"),
        }
    }
}

impl core::error::Error for PublishError {}

/// A fixed-size replay log of at most `EVENTS` events in at most `BYTES` bytes, with no
/// allocation.
///
/// Each event is stored as its encoded wire bytes, contiguously, so [`Next::Event`] is one slice;
/// an event published to topics other than the default one is preceded by their names (as
/// [`Topics`] packs them), which count towards `BYTES`. Keeping events whole means up to one
/// event's size less than `BYTES` can sit unused at the end of the array before the ring wraps,
/// so the ring holds at least `BYTES` minus the largest event's size, and at most `BYTES`. It
/// takes `BYTES`, four words per event, and 512 bytes of eviction marks (see the module docs on
/// topics) of memory.
///
/// `EVENTS` and `BYTES` must be non-zero; a ring with either at zero does not compile.
///
/// # Examples
///
/// ```
/// use sansse::encode::EventName;
/// use sansse::replay::{Next, ReplayLog, Resume, Ring};
///
/// let mut ring = Ring::<16, 1024>::new(7);
/// let mut live = ring.resume(None).cursor();
/// ring.publish(Some(EventName::new("tick")?), "1")?;
/// ring.publish(None, "2")?;
///
/// assert_eq!(ring.next(&mut live), Next::Event(b"event: tick\nid: 7-1\ndata: 1\n\n"));
/// assert_eq!(ring.next(&mut live), Next::Event(b"id: 7-2\ndata: 2\n\n"));
/// assert_eq!(ring.next(&mut live), Next::CaughtUp);
///
/// // A client that saw event 1 and reconnects gets exactly event 2.
/// let Resume::Replay(mut resumed) = ring.resume(Some(b"7-1")) else { panic!() };
/// assert_eq!(ring.next(&mut resumed), Next::Event(b"id: 7-2\ndata: 2\n\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Ring<const EVENTS: usize, const BYTES: usize> {
    epoch: u32,
    /// Sequence number the next published event gets; the oldest kept one is `next_seq - count`.
    next_seq: u64,
    /// Index in `slots` of the oldest kept event.
    head: usize,
    /// Number of kept events.
    count: usize,
    /// Sum of the kept events' lengths.
    used: usize,
    /// Whether any event was ever published to a topic other than the default one. Until then
    /// every reader of the default topic reads everything, and gap events carry exact counts.
    topical: bool,
    /// For each of the 64 topic buckets, the sequence number of the newest evicted event that
    /// named a topic of the bucket (0: none).
    evicted: [u64; 64],
    slots: [Slot; EVENTS],
    bytes: [u8; BYTES],
}

impl<const EVENTS: usize, const BYTES: usize> Ring<EVENTS, BYTES> {
    /// Creates an empty ring whose first event gets sequence number 1.
    ///
    /// `epoch` must differ from the previous run's so that ids from before a restart are told
    /// apart: a boot counter kept in flash, or a random number, works.
    pub const fn new(epoch: u32) -> Self {
        Self::with_next_seq(epoch, 1)
    }

    /// Creates an empty ring whose first event gets sequence number `next_seq` (at least 1).
    ///
    /// This continues an epoch whose earlier sequence numbers were used by a previous run, for
    /// example one that persisted its counter: a client holding id `<epoch>-<next_seq - 1>`
    /// resumes without a gap, and older ids of the epoch are reported as evicted.
    pub const fn with_next_seq(epoch: u32, next_seq: u64) -> Self {
        const {
            assert!(EVENTS > 0, "a Ring needs room for at least one event");
            assert!(BYTES > 0, "a Ring needs at least one byte");
        }
        Self {
            epoch,
            // 0 is the position "before the first event", so no event may have it.
            next_seq: if next_seq == 0 { 1 } else { next_seq },
            head: 0,
            count: 0,
            used: 0,
            topical: false,
            evicted: [0; 64],
            slots: [Slot::EMPTY; EVENTS],
            bytes: [0; BYTES],
        }
    }

    /// The epoch written into every id.
    pub const fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The number of events kept.
    pub const fn len(&self) -> usize {
        self.count
    }

    /// Whether no event is kept.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The bytes taken by kept events.
    pub const fn used_bytes(&self) -> usize {
        self.used
    }

    /// The sequence number of the oldest kept event, if any.
    pub const fn oldest(&self) -> Option<EventSeq> {
        if self.count == 0 {
            None
        } else {
            Some(EventSeq(self.first_seq()))
        }
    }

    /// The sequence number of the newest kept event, if any.
    pub const fn newest(&self) -> Option<EventSeq> {
        if self.count == 0 {
            None
        } else {
            Some(EventSeq(self.next_seq - 1))
        }
    }

    /// A cursor at the next event to be published.
    pub const fn live_cursor(&self) -> Cursor {
        Cursor {
            next: self.next_seq,
        }
    }

    /// A cursor at the oldest kept event (live if none is kept).
    pub const fn oldest_cursor(&self) -> Cursor {
        Cursor {
            next: self.first_seq(),
        }
    }

    /// The wire bytes of the event with sequence number `seq`, if it is still kept, whatever
    /// its topics.
    ///
    /// A session that sent only part of an event uses this to fetch the rest; `None` means the
    /// event was evicted meanwhile and the connection must be closed, since half an event is
    /// already on the wire.
    pub fn event(&self, seq: EventSeq) -> Option<&[u8]> {
        self.slot(seq.0).map(|slot| self.wire(&slot))
    }

    /// A view of the events published to any of `topics`: what one subscriber reads. See the
    /// module docs on topics.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::replay::{Next, ReplayLog, Ring, Topics};
    ///
    /// let mut ring = Ring::<16, 2048>::new(4);
    /// let (a, b) = (Topics::one("a")?, Topics::one("b")?);
    /// let both = Topics::from_names(["a", "b"])?;
    /// ring.publish_to(&a, None, "1")?;
    /// ring.publish_to(&b, None, "2")?;
    /// ring.publish_to(&both, None, "3")?;
    ///
    /// // Following `b` alone skips event 1; following both gets all three in order.
    /// let b_only = ring.following(&b);
    /// let mut cursor = b_only.oldest_cursor();
    /// assert_eq!(b_only.next(&mut cursor), Next::Event(b"id: 4-2\ndata: 2\n\n"));
    /// assert_eq!(b_only.next(&mut cursor), Next::Event(b"id: 4-3\ndata: 3\n\n"));
    /// assert_eq!(b_only.next(&mut cursor), Next::CaughtUp);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn following<'a>(&'a self, topics: &'a Topics) -> Following<'a, EVENTS, BYTES> {
        Following { ring: self, topics }
    }

    /// Publishes an event to the [default topic](Topic::DEFAULT); see
    /// [`Ring::publish_to`].
    ///
    /// # Errors
    ///
    /// As [`Ring::publish_to`].
    pub fn publish(
        &mut self,
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<EventSeq, PublishError> {
        self.append(DEFAULT_PACKED, name, data)
    }

    /// Encodes the event with the id `<epoch>-<seq>` and appends it once for every topic of
    /// `topics`, evicting the oldest events (of any topic) until it fits.
    ///
    /// # Errors
    ///
    /// [`PublishError::TooLarge`] if the encoded event (with its topic names) is larger than
    /// `BYTES`, [`PublishError::NoTopics`] for an empty set, and
    /// [`PublishError::SequenceExhausted`] once sequence numbers run out (after 2^64 - 1
    /// events). Either way nothing is evicted.
    pub fn publish_to(
        &mut self,
        topics: &Topics,
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<EventSeq, PublishError> {
        if topics.is_empty() {
            return Err(PublishError::NoTopics);
        }
        self.append(topics.packed(), name, data)
    }

    /// The kept slot of `seq`.
    fn slot(&self, seq: u64) -> Option<Slot> {
        let first = self.first_seq();
        if seq < first || seq >= self.next_seq {
            return None;
        }
        // Below `count`, which is a usize, so the conversion cannot fail.
        let offset = usize::try_from(seq - first).ok()?;
        Some(self.slots[(self.head + offset) % EVENTS])
    }

    /// The wire bytes of a kept slot, after its topic names.
    fn wire(&self, slot: &Slot) -> &[u8] {
        let start = slot.start + usize::from(slot.topics);
        self.bytes
            .get(start..slot.start + slot.len)
            .unwrap_or_default()
    }

    /// Whether a kept slot belongs to the reader of `topics` (`None`: the default topic).
    fn belongs(&self, slot: &Slot, topics: Option<&Topics>) -> bool {
        let Some(topics) = topics else {
            // A default-topic reader: events without names are default ones.
            return slot.topics == 0 || self.names(slot).any(|n| n == Topic::DEFAULT.as_str());
        };
        if slot.interest & topics.interest().bits() == 0 {
            return false;
        }
        if slot.topics == 0 {
            return topics.contains(Topic::DEFAULT.as_str());
        }
        self.names(slot).any(|name| topics.contains(name))
    }

    /// The topic names stored before a slot's wire bytes.
    fn names(&self, slot: &Slot) -> Packed<'_> {
        let names = self
            .bytes
            .get(slot.start..slot.start + usize::from(slot.topics));
        Packed(names.unwrap_or_default())
    }

    /// Which of the reader's topics (bit `i` for the `i`-th; bit 0 alone for a default reader)
    /// may have lost an evicted event published after `seq`.
    fn lost_after(&self, seq: u64, topics: Option<&Topics>) -> u64 {
        let lost = |topic: Topic<'_>| self.evicted[topic.bucket() as usize] > seq;
        match topics {
            None => u64::from(lost(Topic::DEFAULT)),
            Some(topics) => topics
                .iter()
                .enumerate()
                .filter(|(_, topic)| lost(*topic))
                .fold(0, |mask, (i, _)| mask | 1 << (i % 64)),
        }
    }

    /// The id `<epoch>-<seq>` this ring writes for `seq`.
    pub fn id_of(&self, seq: EventSeq) -> EventIdBuf<MAX_ID_LEN> {
        ring_id(self.epoch, seq.0)
    }

    const fn first_seq(&self) -> u64 {
        // `count` never exceeds the number of sequence numbers handed out, so this never
        // saturates; saturating keeps it panic-free regardless.
        self.next_seq.saturating_sub(self.count as u64)
    }

    /// Where `len` contiguous free bytes start, without evicting.
    fn free_start(&self, len: usize) -> Option<usize> {
        if self.count == 0 {
            return (len <= BYTES).then_some(0);
        }
        let oldest = self.slots[self.head];
        let newest = self.slots[(self.head + self.count - 1) % EVENTS];
        let end = newest.start + newest.len;
        // Events are never empty (each has at least an id line), so with two or more events
        // the newest starts before the oldest exactly when the live bytes wrap.
        if newest.start >= oldest.start {
            // Live bytes are one run [oldest.start, end): try after it, then before it.
            if BYTES - end >= len {
                Some(end)
            } else if oldest.start >= len {
                Some(0)
            } else {
                None
            }
        } else {
            // Live bytes are [oldest.start, ..) and [0, end): the free run lies between.
            (oldest.start - end >= len).then_some(end)
        }
    }

    /// Appends an event with its packed topic names (none stored for the default topic alone).
    fn append(
        &mut self,
        packed: &[u8],
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<EventSeq, PublishError> {
        let seq = self.next_seq;
        // u64::MAX stays free so that a cursor can always point past the newest event.
        if seq == u64::MAX {
            return Err(PublishError::SequenceExhausted);
        }
        let names = if packed == DEFAULT_PACKED {
            &[][..]
        } else {
            packed
        };
        let id = ring_id(self.epoch, seq);
        let mut message = Message::new(data).with_id(id.as_id());
        if let Some(name) = name {
            message = message.with_name(name);
        }
        let needed = names.len().saturating_add(message.encoded_len());
        let too_large = PublishError::TooLarge {
            needed,
            capacity: BYTES,
        };
        if needed > BYTES {
            return Err(too_large);
        }
        if self.count == EVENTS {
            self.evict_oldest();
        }
        let start = loop {
            if let Some(start) = self.free_start(needed) {
                break start;
            }
            if !self.evict_oldest() {
                // Unreachable: an empty ring has room for anything up to BYTES.
                return Err(too_large);
            }
        };
        let Some(target) = self.bytes.get_mut(start..start + needed) else {
            return Err(too_large);
        };
        let (head, wire) = target.split_at_mut(names.len());
        head.copy_from_slice(names);
        if message.encode(wire).is_err() {
            // Unreachable: `wire` is exactly `encoded_len()` long.
            return Err(too_large);
        }
        self.topical |= !names.is_empty();
        self.slots[(self.head + self.count) % EVENTS] = Slot {
            start,
            len: needed,
            // At most TOPICS_BYTES, which fits a u16.
            topics: names.len() as u16,
            interest: packed_interest(packed).bits(),
        };
        self.count += 1;
        self.used += needed;
        self.next_seq = seq + 1;
        Ok(EventSeq(seq))
    }

    /// Drops the oldest event, noting its topics' buckets; false if there was none.
    fn evict_oldest(&mut self) -> bool {
        if self.count == 0 {
            return false;
        }
        let slot = self.slots[self.head];
        let seq = self.first_seq();
        let mut buckets = slot.interest;
        while buckets != 0 {
            self.evicted[buckets.trailing_zeros() as usize] = seq;
            buckets &= buckets - 1;
        }
        self.used -= slot.len;
        self.head = (self.head + 1) % EVENTS;
        self.count -= 1;
        true
    }
}

impl<const EVENTS: usize, const BYTES: usize> fmt::Debug for Ring<EVENTS, BYTES> {
    /// Shows the bookkeeping, not the (possibly large) byte array.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("epoch", &self.epoch)
            .field("oldest", &self.oldest())
            .field("newest", &self.newest())
            .field("used_bytes", &self.used)
            .finish_non_exhaustive()
    }
}

impl<const EVENTS: usize, const BYTES: usize> ReplayLog for Ring<EVENTS, BYTES> {
    type Cursor = Cursor;

    fn resume(&self, last_event_id: Option<&[u8]>) -> Resume<Cursor> {
        self.resume_for(None, last_event_id)
    }

    fn peek(&self, cursor: &Cursor) -> Next<'_> {
        self.peek_for(None, cursor)
    }

    fn advance(&self, cursor: &mut Cursor) {
        self.advance_for(None, cursor);
    }

    fn resume_id(&self, cursor: &Cursor) -> EventIdBuf<MAX_ID_LEN> {
        // Cursors never sit at 0 (sequence numbers start at 1), so this is the event before it.
        ring_id(self.epoch, cursor.next.saturating_sub(1))
    }

    fn gap_topics(&self, gap: Gap, cursor: &Cursor) -> GapTopics<'_> {
        self.gap_topics_for(None, gap, cursor)
    }
}

impl<const EVENTS: usize, const BYTES: usize> TopicLog for Ring<EVENTS, BYTES> {
    type Position = EventSeq;
    type PublishError = PublishError;
    type Following<'a> = Following<'a, EVENTS, BYTES>;

    fn publish_to(
        &mut self,
        topics: &Topics,
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<EventSeq, PublishError> {
        Self::publish_to(self, topics, name, data)
    }

    fn publish(
        &mut self,
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<EventSeq, PublishError> {
        Self::publish(self, name, data)
    }

    fn following<'a>(&'a self, topics: &'a Topics) -> Following<'a, EVENTS, BYTES> {
        Self::following(self, topics)
    }
}

/// The reading rules, for one reader's topics (`None`: the default topic, read directly).
impl<const EVENTS: usize, const BYTES: usize> Ring<EVENTS, BYTES> {
    /// Whether every kept event belongs to the reader, so no filtering is needed: the ring was
    /// never published to a topic, and the reader follows the default one.
    fn reads_everything(&self, topics: Option<&Topics>) -> bool {
        !self.topical && topics.is_none_or(|t| t.contains(Topic::DEFAULT.as_str()))
    }

    fn resume_for(&self, topics: Option<&Topics>, last_event_id: Option<&[u8]>) -> Resume<Cursor> {
        let raw = last_event_id.map_or(&[][..], trim_ows);
        if raw.is_empty() {
            return Resume::Live(self.live_cursor());
        }
        let gap = |gap| Resume::Gap {
            cursor: self.oldest_cursor(),
            gap,
        };
        let Some((epoch, seq)) = parse_ring_id(raw) else {
            return gap(Gap::Malformed);
        };
        if epoch != self.epoch {
            return gap(Gap::OtherEpoch);
        }
        if seq >= self.next_seq {
            return gap(Gap::FutureId);
        }
        // `seq < next_seq <= u64::MAX`, so `seq + 1` cannot overflow.
        let after = seq + 1;
        let first = self.first_seq();
        if after < first {
            // Events after the id were evicted; a reader of some topics lost nothing when
            // none of them was its own.
            if self.reads_everything(topics) || self.lost_after(seq, topics) != 0 {
                return gap(Gap::Evicted {
                    missed: first - after,
                });
            }
            return Resume::Replay(self.oldest_cursor());
        }
        Resume::Replay(Cursor { next: after })
    }

    fn peek_for(&self, topics: Option<&Topics>, cursor: &Cursor) -> Next<'_> {
        let first = self.first_seq();
        let mut seq = cursor.next;
        if seq < first {
            // A cursor never sits at 0, so `seq - 1` is the last event it read.
            if self.reads_everything(topics) || self.lost_after(seq - 1, topics) != 0 {
                return Next::Overrun {
                    missed: first - seq,
                };
            }
            seq = first;
        }
        if self.reads_everything(topics) {
            return self
                .slot(seq)
                .map_or(Next::CaughtUp, |s| Next::Event(self.wire(&s)));
        }
        match self.find(topics, seq) {
            Some((_, slot)) => Next::Event(self.wire(&slot)),
            None => Next::CaughtUp,
        }
    }

    fn advance_for(&self, topics: Option<&Topics>, cursor: &mut Cursor) {
        let first = self.first_seq();
        if cursor.next < first {
            let lost =
                self.reads_everything(topics) || self.lost_after(cursor.next - 1, topics) != 0;
            cursor.next = first;
            if lost {
                // What `peek` reported as an overrun: the move to the oldest kept event is
                // the whole step.
                return;
            }
        }
        if self.reads_everything(topics) {
            if cursor.next < self.next_seq {
                cursor.next += 1;
            }
            return;
        }
        cursor.next = match self.find(topics, cursor.next) {
            Some((seq, _)) => seq + 1,
            // Nothing of the reader's is kept after the cursor: skip what is not its own, so
            // the next look starts after it.
            None => self.next_seq,
        };
    }

    /// The first kept event at or after `seq` that belongs to the reader.
    fn find(&self, topics: Option<&Topics>, seq: u64) -> Option<(u64, Slot)> {
        (seq.max(self.first_seq())..self.next_seq)
            .filter_map(|seq| Some((seq, self.slot(seq)?)))
            .find(|(_, slot)| self.belongs(slot, topics))
    }

    fn gap_topics_for<'a>(
        &'a self,
        topics: Option<&'a Topics>,
        gap: Gap,
        cursor: &Cursor,
    ) -> GapTopics<'a> {
        if !self.topical {
            return GapTopics::NONE;
        }
        let packed = topics.map_or(DEFAULT_PACKED, Topics::packed);
        let all = topics.map_or(1, |t| u64::MAX >> (64 - t.len().clamp(1, 64)));
        let mask = match gap {
            // The reader lost events after `cursor - missed - 1`, the last one it had.
            Gap::Evicted { missed } | Gap::Overrun { missed } => {
                let last = cursor.next.saturating_sub(missed).saturating_sub(1);
                match self.lost_after(last, topics) {
                    0 => all,
                    mask => mask,
                }
            }
            Gap::OtherEpoch | Gap::FutureId | Gap::Malformed => all,
        };
        GapTopics::from_packed(packed, mask)
    }
}

/// A [`Ring`] read for one reader's [`Topics`], from [`Ring::following`]: the events published
/// to any of them, in publish order, with the ring's ids. See the module docs on topics.
#[derive(Clone, Copy)]
pub struct Following<'a, const EVENTS: usize, const BYTES: usize> {
    ring: &'a Ring<EVENTS, BYTES>,
    topics: &'a Topics,
}

impl<const EVENTS: usize, const BYTES: usize> Following<'_, EVENTS, BYTES> {
    /// A cursor at the next event to be published.
    pub const fn live_cursor(&self) -> Cursor {
        self.ring.live_cursor()
    }

    /// A cursor at the oldest kept event, whatever its topic.
    pub const fn oldest_cursor(&self) -> Cursor {
        self.ring.oldest_cursor()
    }

    /// The topics this view reads.
    pub const fn topics(&self) -> &Topics {
        self.topics
    }
}

impl<const EVENTS: usize, const BYTES: usize> ReplayLog for Following<'_, EVENTS, BYTES> {
    type Cursor = Cursor;

    fn resume(&self, last_event_id: Option<&[u8]>) -> Resume<Cursor> {
        self.ring.resume_for(Some(self.topics), last_event_id)
    }

    fn peek(&self, cursor: &Cursor) -> Next<'_> {
        self.ring.peek_for(Some(self.topics), cursor)
    }

    fn advance(&self, cursor: &mut Cursor) {
        self.ring.advance_for(Some(self.topics), cursor);
    }

    fn resume_id(&self, cursor: &Cursor) -> EventIdBuf<MAX_ID_LEN> {
        self.ring.resume_id(cursor)
    }

    fn gap_topics(&self, gap: Gap, cursor: &Cursor) -> GapTopics<'_> {
        self.ring.gap_topics_for(Some(self.topics), gap, cursor)
    }
}

impl<const EVENTS: usize, const BYTES: usize> fmt::Debug for Following<'_, EVENTS, BYTES> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Following")
            .field("ring", self.ring)
            .field("topics", self.topics)
            .finish()
    }
}

/// Where one kept event lies in the byte ring.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Start of the topic names, then the wire bytes.
    start: usize,
    /// Bytes of both.
    len: usize,
    /// Bytes of topic names (0: the default topic alone).
    topics: u16,
    /// The topics' buckets, as an `Interest` has them.
    interest: u64,
}

impl Slot {
    const EMPTY: Self = Self {
        start: 0,
        len: 0,
        topics: 0,
        interest: 0,
    };
}

/// Formats `<epoch>-<seq>`.
fn ring_id(epoch: u32, seq: u64) -> EventIdBuf<MAX_ID_LEN> {
    let mut text = heapless::String::new();
    let mut digits = [0; U64_DIGITS];
    // At most 31 bytes (checked against MAX_ID_LEN above), so every push fits.
    let _ = text.push_str(write_u64_str(u64::from(epoch), &mut digits));
    let _ = text.push('-');
    let _ = text.push_str(write_u64_str(seq, &mut digits));
    // Digits and a dash: no CR, LF or NUL.
    id_buf_unchecked(text)
}

/// Parses `<epoch>-<seq>` as [`ring_id`] writes it; any other spelling is not an id of ours.
fn parse_ring_id(raw: &[u8]) -> Option<(u32, u64)> {
    let dash = raw.iter().position(|&b| b == b'-')?;
    let (epoch, seq) = raw.split_at(dash);
    let epoch = u32::try_from(parse_canonical_decimal(epoch)?).ok()?;
    let seq = parse_canonical_decimal(seq.get(1..)?)?;
    Some((epoch, seq))
}

/// Parses decimal digits without sign or leading zeros (but "0" itself), checking overflow:
/// the one spelling [`ring_id`] writes, so every id maps to one position.
fn parse_canonical_decimal(digits: &[u8]) -> Option<u64> {
    match digits {
        [b'0', _, ..] => None,
        _ => parse_u64(digits, Overflow::Reject),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    #[test]
    fn replays_exactly_the_events_after_a_known_id() {
        let mut ring = Ring::<8, 512>::new(5);
        for data in ["a", "b", "c", "d"] {
            ring.publish(None, data).unwrap();
        }

        let resume = ring.resume(Some(b"5-2"));

        let Resume::Replay(mut cursor) = resume else {
            panic!("expected replay, got {resume:?}");
        };
        assert_eq!(ring.next(&mut cursor), Next::Event(b"id: 5-3\ndata: c\n\n"));
        assert_eq!(ring.next(&mut cursor), Next::Event(b"id: 5-4\ndata: d\n\n"));
        assert_eq!(ring.next(&mut cursor), Next::CaughtUp);
    }

    #[test]
    fn newest_id_resumes_caught_up() {
        let mut ring = Ring::<8, 512>::new(5);
        ring.publish(None, "a").unwrap();

        let resume = ring.resume(Some(b" 5-1\t"));

        assert_eq!(resume, Resume::Replay(ring.live_cursor()));
    }

    #[test]
    fn id_just_before_the_oldest_kept_event_is_still_exact() {
        let mut ring = Ring::<2, 512>::new(1);
        for data in ["a", "b", "c"] {
            ring.publish(None, data).unwrap();
        }

        let resume = ring.resume(Some(b"1-1"));

        assert_eq!(resume, Resume::Replay(Cursor { next: 2 }));
        assert_eq!(
            ring.resume(Some(b"1-0")),
            Resume::Gap {
                cursor: Cursor { next: 2 },
                gap: Gap::Evicted { missed: 1 }
            }
        );
    }

    #[test]
    fn unknown_ids_are_gaps_from_the_oldest_kept_event() {
        let mut ring = Ring::<4, 512>::new(9);
        for data in ["a", "b", "c", "d", "e", "f"] {
            ring.publish(None, data).unwrap();
        }
        let oldest = Cursor { next: 3 };
        let cases: [(&[u8], Gap); 9] = [
            (b"9-0", Gap::Evicted { missed: 2 }),
            (b"8-5", Gap::OtherEpoch),
            (b"9-7", Gap::FutureId),
            (b"9-18446744073709551615", Gap::FutureId),
            (b"garbage", Gap::Malformed),
            (b"9-05", Gap::Malformed),
            (b"9-", Gap::Malformed),
            (b"4294967296-1", Gap::Malformed),
            (b"9-+5", Gap::Malformed),
        ];

        for (id, gap) in cases {
            assert_eq!(
                ring.resume(Some(id)),
                Resume::Gap {
                    cursor: oldest,
                    gap
                },
                "id {:?}",
                core::str::from_utf8(id)
            );
        }
    }

    #[test]
    fn missing_or_empty_header_starts_live() {
        let mut ring = Ring::<4, 256>::new(1);
        ring.publish(None, "a").unwrap();

        assert_eq!(ring.resume(None), Resume::Live(Cursor { next: 2 }));
        assert_eq!(ring.resume(Some(b"  ")), Resume::Live(Cursor { next: 2 }));
    }

    #[test]
    fn slow_reader_is_told_how_many_it_missed_then_reads_the_oldest() {
        let mut ring = Ring::<3, 512>::new(1);
        let mut cursor = ring.live_cursor();
        for data in ["a", "b", "c", "d", "e"] {
            ring.publish(None, data).unwrap();
        }

        assert_eq!(ring.peek(&cursor), Next::Overrun { missed: 2 });
        assert_eq!(ring.next(&mut cursor), Next::Overrun { missed: 2 });
        assert_eq!(ring.next(&mut cursor), Next::Event(b"id: 1-3\ndata: c\n\n"));
    }

    #[test]
    fn evicts_by_count() {
        let mut ring = Ring::<2, 512>::new(1);

        for data in ["a", "b", "c"] {
            ring.publish(None, data).unwrap();
        }

        assert_eq!(ring.len(), 2);
        assert_eq!(ring.oldest(), Some(EventSeq(2)));
        assert_eq!(ring.newest(), Some(EventSeq(3)));
    }

    #[test]
    fn evicts_by_bytes() {
        // Each event is "id: 1-N\ndata: xxxxxxxxx\n\n" = 8 + 16 + 1 = 25 bytes.
        let mut ring = Ring::<16, 60>::new(1);

        for _ in 0..3 {
            ring.publish(None, "xxxxxxxxx").unwrap();
        }

        assert_eq!(ring.len(), 2);
        assert_eq!(ring.used_bytes(), 50);
        assert_eq!(ring.oldest(), Some(EventSeq(2)));
        assert_eq!(ring.event(EventSeq(3)).map(<[u8]>::len), Some(25));
    }

    #[test]
    fn refuses_an_event_larger_than_the_ring_and_keeps_the_rest() {
        let mut ring = Ring::<4, 32>::new(1);
        ring.publish(None, "a").unwrap();

        let result = ring.publish(None, "0123456789012345678901234567890");

        assert_eq!(
            result,
            Err(PublishError::TooLarge {
                needed: 47,
                capacity: 32
            })
        );
        assert_eq!(ring.len(), 1);
        assert_eq!(ring.publish(None, "b"), Ok(EventSeq(2)));
    }

    #[test]
    fn refuses_to_publish_past_the_last_sequence_number() {
        let mut ring = Ring::<4, 256>::with_next_seq(1, u64::MAX - 1);
        assert_eq!(ring.publish(None, "a"), Ok(EventSeq(u64::MAX - 1)));

        assert_eq!(
            ring.publish(None, "b"),
            Err(PublishError::SequenceExhausted)
        );
    }

    #[test]
    fn continued_epoch_resumes_the_last_id_of_the_previous_run() {
        let ring = Ring::<4, 256>::with_next_seq(2, 100);

        assert_eq!(
            ring.resume(Some(b"2-99")),
            Resume::Replay(Cursor { next: 100 })
        );
        assert_eq!(
            ring.resume(Some(b"2-90")),
            Resume::Gap {
                cursor: Cursor { next: 100 },
                gap: Gap::Evicted { missed: 9 }
            }
        );
    }

    #[test]
    fn gap_event_id_resumes_without_a_second_gap() {
        let mut ring = Ring::<2, 256>::new(4);
        for data in ["a", "b", "c", "d"] {
            ring.publish(None, data).unwrap();
        }
        let Resume::Gap { cursor, .. } = ring.resume(Some(b"4-1")) else {
            panic!("expected a gap");
        };

        let id = ring.resume_id(&cursor);

        assert_eq!(id.as_id().as_str(), "4-2");
        assert_eq!(ring.resume(Some(b"4-2")), Resume::Replay(cursor));
    }

    /// Topics with distinct buckets, so eviction marks of one never touch another.
    fn distinct(names: &[&'static str]) -> std::vec::Vec<Topics> {
        let sets: std::vec::Vec<Topics> = names
            .iter()
            .map(|name| Topics::one(name).unwrap())
            .collect();
        for (i, a) in sets.iter().enumerate() {
            for b in &sets[i + 1..] {
                assert!(!a.interest().intersects(b.interest()), "pick other names");
            }
        }
        sets
    }

    fn read_all<R: ReplayLog<Cursor = Cursor>>(
        log: &R,
        mut cursor: Cursor,
    ) -> std::vec::Vec<std::string::String> {
        let mut out = std::vec::Vec::new();
        loop {
            match log.next(&mut cursor) {
                Next::Event(bytes) => {
                    out.push(std::string::String::from_utf8(bytes.to_vec()).unwrap())
                }
                Next::Overrun { missed } => out.push(std::format!("overrun {missed}")),
                Next::CaughtUp => return out,
            }
        }
    }

    #[test]
    fn followers_read_exactly_their_topics_in_publish_order() {
        let mut ring = Ring::<16, 2048>::new(1);
        let t = distinct(&["alice", "bob"]);
        let both = Topics::from_names(["alice", "bob"]).unwrap();
        ring.publish_to(&t[0], None, "a1").unwrap();
        ring.publish_to(&t[1], None, "b2").unwrap();
        ring.publish(None, "d3").unwrap();
        ring.publish_to(&both, None, "ab4").unwrap();
        let with_default = Topics::from_names(["bob", "default"]).unwrap();
        ring.publish_to(&with_default, None, "bd5").unwrap();

        let start = ring.oldest_cursor();
        assert_eq!(
            read_all(&ring.following(&t[0]), start),
            ["id: 1-1\ndata: a1\n\n", "id: 1-4\ndata: ab4\n\n"]
        );
        assert_eq!(
            read_all(&ring.following(&t[1]), start),
            [
                "id: 1-2\ndata: b2\n\n",
                "id: 1-4\ndata: ab4\n\n",
                "id: 1-5\ndata: bd5\n\n"
            ]
        );
        assert_eq!(read_all(&ring.following(&both), start).len(), 4);
        // The default reader, direct or through a view, sees no topic's event but its own.
        assert_eq!(
            read_all(&ring, start),
            ["id: 1-3\ndata: d3\n\n", "id: 1-5\ndata: bd5\n\n"]
        );
        assert_eq!(
            read_all(&ring.following(&Topics::default()), start),
            read_all(&ring, start)
        );
        assert!(read_all(&ring.following(&Topics::new()), start).is_empty());
    }

    #[test]
    fn one_id_resumes_every_topic_of_a_follower() {
        let mut ring = Ring::<16, 2048>::new(2);
        let both = Topics::from_names(["x", "y"]).unwrap();
        for (topic, data) in [("x", "1"), ("z", "2"), ("y", "3"), ("z", "4"), ("x", "5")] {
            ring.publish_to(&Topics::one(topic).unwrap(), None, data)
                .unwrap();
        }
        let view = ring.following(&both);

        let Resume::Replay(cursor) = view.resume(Some(b"2-1")) else {
            panic!()
        };
        assert_eq!(
            read_all(&view, cursor),
            ["id: 2-3\ndata: 3\n\n", "id: 2-5\ndata: 5\n\n"]
        );
        // An id of another topic's event is a position all the same.
        let Resume::Replay(cursor) = view.resume(Some(b"2-4")) else {
            panic!()
        };
        assert_eq!(read_all(&view, cursor), ["id: 2-5\ndata: 5\n\n"]);
    }

    #[test]
    fn evicting_other_topics_costs_a_quiet_follower_nothing() {
        let t = distinct(&["quiet", "busy"]);
        let mut ring = Ring::<4, 4096>::new(3);
        ring.publish_to(&t[0], None, "q1").unwrap();
        ring.publish_to(&t[0], None, "q2").unwrap();
        for n in 0..6 {
            ring.publish_to(&t[1], None, &std::format!("b{n}")).unwrap();
        }
        // Events 1 to 4 are gone: q2 (2) was the quiet reader's, so from id 3-1 it lost one,
        // and from 3-2 it lost nothing.
        let view = ring.following(&t[0]);
        assert_eq!(
            view.resume(Some(b"3-2")),
            Resume::Replay(ring.oldest_cursor())
        );
        let Resume::Gap { gap, cursor } = view.resume(Some(b"3-1")) else {
            panic!()
        };
        assert_eq!(gap, Gap::Evicted { missed: 3 });
        let topics = view.gap_topics(gap, &cursor);
        assert_eq!(topics.iter().collect::<std::vec::Vec<_>>(), ["quiet"]);

        // A live reader behind: silently on when nothing of its own went, an overrun otherwise.
        let behind = Cursor { next: 3 };
        assert_eq!(view.peek(&behind), Next::CaughtUp);
        let mut cursor = behind;
        view.advance(&mut cursor);
        assert_eq!(cursor, ring.live_cursor());
        let far_behind = Cursor { next: 2 };
        assert_eq!(view.peek(&far_behind), Next::Overrun { missed: 3 });
    }

    #[test]
    fn a_gap_names_only_the_followers_own_topics_and_never_a_count() {
        let t = distinct(&["mine", "secret"]);
        let mut ring = Ring::<2, 4096>::new(4);
        ring.publish_to(&t[0], None, "m").unwrap();
        for _ in 0..3 {
            ring.publish_to(&t[1], None, "s").unwrap();
        }
        let view = ring.following(&t[0]);
        let mut buf = [0u8; 256];
        for id in [&b"4-0"[..], b"9-1", b"nonsense"] {
            let Resume::Gap { gap, cursor } = view.resume(Some(id)) else {
                panic!()
            };
            let n = GapEvent::default()
                .encode_for(gap, None, view.gap_topics(gap, &cursor), &mut buf)
                .unwrap();
            let text = core::str::from_utf8(&buf[..n]).unwrap();
            assert!(text.contains("\"topics\":[\"mine\"]"), "{text}");
            assert!(
                !text.contains("secret") && !text.contains("missed"),
                "{text}"
            );
            assert!(
                read_all(&view, cursor).is_empty(),
                "no secret event after the gap"
            );
        }
    }

    #[test]
    fn a_ring_without_topics_keeps_exact_counts() {
        let mut ring = Ring::<2, 512>::new(1);
        for data in ["a", "b", "c"] {
            ring.publish(None, data).unwrap();
        }
        let Resume::Gap { gap, cursor } = ring.resume(Some(b"1-0")) else {
            panic!()
        };
        assert_eq!(gap, Gap::Evicted { missed: 1 });
        assert!(ring.gap_topics(gap, &cursor).is_none());
        assert!(
            ring.following(&Topics::default())
                .gap_topics(gap, &cursor)
                .is_none()
        );
    }

    #[test]
    fn an_empty_topic_set_cannot_be_published_to() {
        let mut ring = Ring::<2, 512>::new(1);
        assert_eq!(
            ring.publish_to(&Topics::new(), None, "x"),
            Err(PublishError::NoTopics)
        );
        assert!(ring.is_empty());
    }

    #[test]
    fn wraps_to_the_front_when_the_tail_is_too_short() {
        // 25-byte events in 64 bytes: two fit at 0 and 25, the third goes to 0 after evicting.
        let mut ring = Ring::<16, 64>::new(1);
        for _ in 0..3 {
            ring.publish(None, "xxxxxxxxx").unwrap();
        }
        let mut cursor = ring.oldest_cursor();

        assert_eq!(
            ring.next(&mut cursor),
            Next::Event(b"id: 1-2\ndata: xxxxxxxxx\n\n")
        );
        assert_eq!(
            ring.next(&mut cursor),
            Next::Event(b"id: 1-3\ndata: xxxxxxxxx\n\n")
        );
        assert_eq!(ring.next(&mut cursor), Next::CaughtUp);
    }
}
