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
//! # Reading ([`ReplayLog::next`])
//!
//! Reading gives the next event's wire bytes and advances the cursor, says the cursor is caught
//! up, or reports that the cursor fell behind the oldest kept event (an overrun) and moves it to
//! the oldest one. The session decides what an overrun means for it: a gap event, or closing the
//! connection with a retry hint.

use core::fmt;

use crate::BufferTooSmall;
use crate::ascii::{Overflow, U64_DIGITS, parse_u64, trim_ows, write_u64_str};
use crate::encode::{EventId, EventIdBuf, EventName, Message, id_buf_unchecked};

/// The longest id any [`ReplayLog`] hands out: `<u32>-<u64>` in decimal takes at most 31 bytes,
/// and the rest leaves room for other backends' formats (a Redis stream id is `<u64>-<u64>`).
pub const MAX_ID_LEN: usize = 48;

// A ring id is at most 10 digits, a dash and 20 digits.
const _: () = assert!(MAX_ID_LEN >= 10 + 1 + U64_DIGITS);

/// Access to a replay log: publishing events and reading them from per-session cursors.
///
/// [`Ring`] is the in-memory, fixed-size implementation. Another backend (for example one mirroring
/// a Redis stream so that several server processes share one history) implements the same calls
/// so server sessions need not know which log they read.
pub trait ReplayLog {
    /// A session's read position; small and copied freely.
    type Cursor: Copy;
    /// Where a published event landed.
    type Position: Copy;
    /// Why publishing failed.
    type PublishError: core::error::Error;

    /// Appends an event with the given name and data; the log assigns and writes its id.
    ///
    /// # Errors
    ///
    /// Backend specific; for [`Ring`], see [`PublishError`].
    fn publish(
        &mut self,
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<Self::Position, Self::PublishError>;

    /// Places a new session's cursor from the `Last-Event-ID` request header, if any.
    ///
    /// Surrounding spaces and tabs are ignored, as HTTP field values allow them. See the module
    /// docs for the rules.
    #[must_use]
    fn resume(&self, last_event_id: Option<&[u8]>) -> Resume<Self::Cursor>;

    /// Looks at what the cursor would read next without moving it.
    #[must_use]
    fn peek(&self, cursor: &Self::Cursor) -> Next<'_>;

    /// Moves the cursor past what [`ReplayLog::peek`] returns: one event forward, to the oldest
    /// kept event after an overrun, or nowhere when caught up.
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
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { needed, capacity } => {
                write!(f, "event of {needed} bytes exceeds ring of {capacity}")
            }
            Self::SequenceExhausted => f.write_str("sequence numbers exhausted"),
        }
    }
}

impl core::error::Error for PublishError {}

/// A fixed-size replay log of at most `EVENTS` events in at most `BYTES` bytes, with no
/// allocation.
///
/// Each event is stored as its encoded wire bytes, contiguously, so [`Next::Event`] is one slice.
/// Keeping events whole means up to one event's size less than `BYTES` can sit unused at the end
/// of the array before the ring wraps, so the ring holds at least `BYTES` minus the largest
/// event's size, and at most `BYTES`. It takes `BYTES` plus two words per event of memory.
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
            slots: [Slot { start: 0, len: 0 }; EVENTS],
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

    /// The wire bytes of the event with sequence number `seq`, if it is still kept.
    ///
    /// A session that sent only part of an event uses this to fetch the rest; `None` means the
    /// event was evicted meanwhile and the connection must be closed, since half an event is
    /// already on the wire.
    pub fn event(&self, seq: EventSeq) -> Option<&[u8]> {
        let first = self.first_seq();
        if seq.0 < first || seq.0 >= self.next_seq {
            return None;
        }
        // Below `count`, which is a usize, so the conversion cannot fail.
        let offset = usize::try_from(seq.0 - first).ok()?;
        let slot = self.slots[(self.head + offset) % EVENTS];
        self.bytes.get(slot.start..slot.start + slot.len)
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

    /// Drops the oldest event; false if there was none.
    fn evict_oldest(&mut self) -> bool {
        if self.count == 0 {
            return false;
        }
        self.used -= self.slots[self.head].len;
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
    type Position = EventSeq;
    type PublishError = PublishError;

    /// Encodes the event with the id `<epoch>-<seq>`, evicting the oldest events until it fits.
    ///
    /// # Errors
    ///
    /// [`PublishError::TooLarge`] if the encoded event is larger than `BYTES`, and
    /// [`PublishError::SequenceExhausted`] once sequence numbers run out (after 2^64 - 1 events).
    /// Either way nothing is evicted.
    fn publish(
        &mut self,
        name: Option<EventName<'_>>,
        data: &str,
    ) -> Result<EventSeq, PublishError> {
        let seq = self.next_seq;
        // u64::MAX stays free so that a cursor can always point past the newest event.
        if seq == u64::MAX {
            return Err(PublishError::SequenceExhausted);
        }
        let id = ring_id(self.epoch, seq);
        let mut message = Message::new(data).with_id(id.as_id());
        if let Some(name) = name {
            message = message.with_name(name);
        }
        let needed = message.encoded_len();
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
        if message.encode(target).is_err() {
            // Unreachable: `target` is exactly `encoded_len()` long.
            return Err(too_large);
        }
        self.slots[(self.head + self.count) % EVENTS] = Slot { start, len: needed };
        self.count += 1;
        self.used += needed;
        self.next_seq = seq + 1;
        Ok(EventSeq(seq))
    }

    fn resume(&self, last_event_id: Option<&[u8]>) -> Resume<Cursor> {
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
            return gap(Gap::Evicted {
                missed: first - after,
            });
        }
        Resume::Replay(Cursor { next: after })
    }

    fn peek(&self, cursor: &Cursor) -> Next<'_> {
        let first = self.first_seq();
        if cursor.next < first {
            return Next::Overrun {
                missed: first - cursor.next,
            };
        }
        match self.event(EventSeq(cursor.next)) {
            Some(bytes) => Next::Event(bytes),
            None => Next::CaughtUp,
        }
    }

    fn advance(&self, cursor: &mut Cursor) {
        let first = self.first_seq();
        if cursor.next < first {
            cursor.next = first;
        } else if cursor.next < self.next_seq {
            cursor.next += 1;
        }
    }

    fn resume_id(&self, cursor: &Cursor) -> EventIdBuf<MAX_ID_LEN> {
        // Cursors never sit at 0 (sequence numbers start at 1), so this is the event before it.
        ring_id(self.epoch, cursor.next.saturating_sub(1))
    }
}

/// The in-band event that tells a client it missed events.
///
/// # Convention
///
/// The event is named `sansse-gap` unless configured otherwise, so a browser listens with
/// `source.addEventListener("sansse-gap", ..)`. Its data is a JSON object:
/// `{"reason":"evicted","missed":12}`, where `reason` is one of `evicted`, `overrun`,
/// `other-epoch`, `future-id` or `malformed-id` ([`Gap::reason`]) and `missed` appears when the
/// count is known. It carries the id from [`ReplayLog::resume_id`] so that a reconnect right after
/// it does not report the same gap again. On receiving it the application should resync its state
/// (for example refetch a snapshot); every event after it arrives complete and in order.
///
/// # Examples
///
/// ```
/// use sansse::replay::{Gap, GapEvent, ReplayLog, Resume, Ring};
///
/// let mut ring = Ring::<4, 256>::new(3);
/// let resume = ring.resume(Some(b"2-9"));
/// let Resume::Gap { cursor, gap } = resume else { panic!() };
/// assert_eq!(gap, Gap::OtherEpoch);
///
/// let id = ring.resume_id(&cursor);
/// let mut buf = [0u8; 128];
/// let len = GapEvent::default().encode(gap, Some(id.as_id()), &mut buf)?;
/// assert_eq!(
///     &buf[..len],
///     b"event: sansse-gap\nid: 3-0\ndata: {\"reason\":\"other-epoch\"}\n\n"
/// );
/// # Ok::<(), sansse::BufferTooSmall>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct GapEvent<'n> {
    name: EventName<'n>,
}

impl<'n> GapEvent<'n> {
    /// The default event name, `sansse-gap`.
    pub const DEFAULT_NAME: EventName<'static> = match EventName::new("sansse-gap") {
        Ok(name) => name,
        Err(_) => panic!("the default gap event name is valid"),
    };

    /// A gap event with the given name.
    pub const fn new(name: EventName<'n>) -> Self {
        Self { name }
    }

    /// The event name in use.
    pub const fn name(&self) -> EventName<'n> {
        self.name
    }

    /// The exact number of bytes [`GapEvent::encode`] writes.
    pub fn encoded_len(&self, gap: Gap, id: Option<EventId<'_>>) -> usize {
        self.with_message(gap, id, |message| message.encoded_len())
    }

    /// Writes the gap event into `buf` and returns its length, or writes nothing.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] with the exact size needed; `buf` is then left untouched.
    pub fn encode(
        &self,
        gap: Gap,
        id: Option<EventId<'_>>,
        buf: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        self.with_message(gap, id, |message| message.encode(buf))
    }

    /// Writes the gap event to `writer` and returns its length. It does not flush.
    ///
    /// # Errors
    ///
    /// The writer's error; see [`Message::write_to`] for why the connection should then be
    /// closed.
    ///
    /// # Panics
    ///
    /// Only if `writer` returns `Ok(0)` for a non-empty buffer, breaking its contract.
    pub fn write_to<W: embedded_io::Write>(
        &self,
        gap: Gap,
        id: Option<EventId<'_>>,
        writer: &mut W,
    ) -> Result<usize, W::Error> {
        self.with_message(gap, id, |message| message.write_to(writer))
    }

    fn with_message<R>(
        &self,
        gap: Gap,
        id: Option<EventId<'_>>,
        use_message: impl FnOnce(&Message<'_>) -> R,
    ) -> R {
        let mut data = heapless::String::<GAP_DATA_LEN>::new();
        let mut digits = [0; U64_DIGITS];
        let missed = gap
            .missed()
            .map(|missed| write_u64_str(missed, &mut digits));
        // The longest data, with a 20-digit count, is 50 bytes: every push fits.
        let _ = data.push_str("{\"reason\":\"");
        let _ = data.push_str(gap.reason());
        let _ = data.push('"');
        if let Some(missed) = missed {
            let _ = data.push_str(",\"missed\":");
            let _ = data.push_str(missed);
        }
        let _ = data.push('}');
        let mut message = Message::new(data.as_str()).with_name(self.name);
        if let Some(id) = id {
            message = message.with_id(id);
        }
        use_message(&message)
    }
}

impl Default for GapEvent<'static> {
    fn default() -> Self {
        Self::new(GapEvent::DEFAULT_NAME)
    }
}

/// Room for the gap event's JSON data.
const GAP_DATA_LEN: usize = 64;

/// Where one kept event lies in the byte ring.
#[derive(Clone, Copy, Debug)]
struct Slot {
    start: usize,
    len: usize,
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

    #[test]
    fn gap_event_data_follows_the_convention() {
        let mut buf = [0; 128];
        let gap = Gap::Overrun { missed: u64::MAX };
        let name = EventName::new("resync").unwrap();

        let len = GapEvent::new(name).encode(gap, None, &mut buf).unwrap();

        assert_eq!(
            &buf[..len],
            b"event: resync\ndata: {\"reason\":\"overrun\",\"missed\":18446744073709551615}\n\n"
        );
        assert_eq!(GapEvent::new(name).encoded_len(gap, None), len);
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
