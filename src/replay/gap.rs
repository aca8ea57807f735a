//! The gap event: how a session tells its client, in band, that events were missed.

use crate::BufferTooSmall;
use crate::ascii::{U64_DIGITS, write_u64_str};
use crate::encode::{EventId, EventName};

use super::Gap;
use super::topics::Packed;

/// The in-band event that tells a client it missed events.
///
/// # Convention
///
/// The event is named `sansse-gap` unless configured otherwise, so a browser listens with
/// `source.addEventListener("sansse-gap", ..)`. Its data is a JSON object:
/// `{"reason":"evicted","missed":12}`, where `reason` is one of `evicted`, `overrun`,
/// `other-epoch`, `future-id` or `malformed-id` ([`Gap::reason`]) and `missed` appears when the
/// count is known. When the log carries [topics](super::Topics), the object names the reader's
/// topics that could not be replayed instead of a count, `{"reason":"evicted","topics":["a"]}`:
/// only the reader's own topics, and no count, since a count of evicted events would tell one
/// subscriber about the volume of topics it does not follow. It carries the id from
/// [`ReplayLog::resume_id`](super::ReplayLog::resume_id) so that a reconnect right after it does
/// not report the same gap again. On receiving it the application should resync its state (for
/// example refetch a snapshot); every event after it arrives complete and in order.
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

/// The topics a gap event names: a subset of one reader's topics, from
/// [`ReplayLog::gap_topics`](super::ReplayLog::gap_topics).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct GapTopics<'a> {
    /// The reader's topics as `Topics` packs them.
    packed: &'a [u8],
    /// Which of them are named: bit `i` for the `i`-th.
    mask: u64,
}

impl<'a> GapTopics<'a> {
    /// No topics: the gap event has the plain form, with the missed count when known.
    pub const NONE: GapTopics<'static> = GapTopics {
        packed: &[],
        mask: 0,
    };

    /// The topics of `topics` whose bit is set in `mask` (bit `i` for the `i`-th topic).
    pub fn new(topics: &'a super::Topics, mask: u64) -> Self {
        Self::from_packed(topics.packed(), mask)
    }

    pub(crate) const fn from_packed(packed: &'a [u8], mask: u64) -> Self {
        Self { packed, mask }
    }

    /// Whether no topic is named (the plain form).
    pub const fn is_none(&self) -> bool {
        self.packed.is_empty()
    }

    /// The topic names, in the reader's order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let mask = self.mask;
        Packed(self.packed)
            .enumerate()
            .filter(move |(i, _)| mask & (1u64 << (i % 64)) != 0)
            .map(|(_, name)| name)
    }
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
        self.encoded_len_for(gap, id, GapTopics::NONE)
    }

    /// The exact number of bytes [`GapEvent::encode_for`] writes.
    pub fn encoded_len_for(
        &self,
        gap: Gap,
        id: Option<EventId<'_>>,
        topics: GapTopics<'_>,
    ) -> usize {
        let mut len = 0usize;
        self.pieces(gap, id, topics, |piece| {
            len = len.saturating_add(piece.len())
        });
        len
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
        self.encode_for(gap, id, GapTopics::NONE, buf)
    }

    /// Writes the gap event naming `topics` into `buf` (see the convention above) and returns
    /// its length, or writes nothing.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] with the exact size needed; `buf` is then left untouched.
    pub fn encode_for(
        &self,
        gap: Gap,
        id: Option<EventId<'_>>,
        topics: GapTopics<'_>,
        buf: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        let needed = self.encoded_len_for(gap, id, topics);
        let Some(target) = buf.get_mut(..needed) else {
            return Err(BufferTooSmall { needed });
        };
        let mut at = 0;
        self.pieces(gap, id, topics, |piece| {
            target[at..at + piece.len()].copy_from_slice(piece);
            at += piece.len();
        });
        Ok(needed)
    }

    /// Writes the gap event to `writer` and returns its length. It does not flush.
    ///
    /// # Errors
    ///
    /// The writer's error; see [`Message::write_to`](crate::encode::Message::write_to) for why
    /// the connection should then be closed.
    pub fn write_to<W: embedded_io::Write>(
        &self,
        gap: Gap,
        id: Option<EventId<'_>>,
        writer: &mut W,
    ) -> Result<usize, W::Error> {
        let mut result = Ok(0);
        self.pieces(gap, id, GapTopics::NONE, |piece| {
            if let Ok(total) = result {
                result = writer.write_all(piece).map(|()| total + piece.len());
            }
        });
        result
    }

    /// Hands the event's bytes to `out` piece by piece. Names, ids and topics are validated
    /// types with no CR, LF, `"` or `\` where it matters, so the pieces need no escaping and
    /// the data is one line.
    fn pieces(
        &self,
        gap: Gap,
        id: Option<EventId<'_>>,
        topics: GapTopics<'_>,
        mut out: impl FnMut(&[u8]),
    ) {
        out(b"event: ");
        out(self.name.as_str().as_bytes());
        out(b"\n");
        if let Some(id) = id {
            out(b"id: ");
            out(id.as_str().as_bytes());
            out(b"\n");
        }
        out(b"data: {\"reason\":\"");
        out(gap.reason().as_bytes());
        out(b"\"");
        if topics.is_none() {
            let mut digits = [0; U64_DIGITS];
            if let Some(missed) = gap.missed() {
                out(b",\"missed\":");
                out(write_u64_str(missed, &mut digits).as_bytes());
            }
        } else {
            out(b",\"topics\":[");
            for (n, name) in topics.iter().enumerate() {
                out(if n == 0 { b"\"" } else { b",\"" });
                out(name.as_bytes());
                out(b"\"");
            }
            out(b"]");
        }
        out(b"}\n\n");
    }
}

impl Default for GapEvent<'static> {
    fn default() -> Self {
        Self::new(GapEvent::DEFAULT_NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::Topics;

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
    fn a_topic_gap_names_the_chosen_topics_and_no_count() {
        let topics = Topics::from_names(["a", "b/c", "d"]).unwrap();
        let chosen = GapTopics::new(&topics, 0b101);
        let gap = Gap::Evicted { missed: 7 };
        let mut buf = [0; 128];

        let len = GapEvent::default()
            .encode_for(gap, None, chosen, &mut buf)
            .unwrap();

        assert_eq!(
            &buf[..len],
            b"event: sansse-gap\ndata: {\"reason\":\"evicted\",\"topics\":[\"a\",\"d\"]}\n\n"
        );
        let mut short = [0; 20];
        assert_eq!(
            GapEvent::default().encode_for(gap, None, chosen, &mut short),
            Err(BufferTooSmall { needed: len })
        );
        assert_eq!(short, [0; 20]);
    }

    #[test]
    fn write_to_writes_what_encode_writes() {
        let mut buf = [0; 128];
        let gap = Gap::Evicted { missed: 3 };
        let len = GapEvent::default().encode(gap, None, &mut buf).unwrap();
        let mut out = [0u8; 128];
        let mut writer = &mut out[..];
        let written = GapEvent::default()
            .write_to(gap, None, &mut writer)
            .unwrap();
        assert_eq!(written, len);
        assert_eq!(&out[..len], &buf[..len]);
    }
}
