//! Topic names and bounded topic sets: what an event is published to and what a subscriber
//! follows.
//!
//! A topic exists only while an event in the log names it: there is no registry, so a topic
//! nobody publishes to and nobody follows costs nothing. A [`Topics`] set is a fixed-size value
//! (no allocator), small enough to hand around by copy.

use core::fmt;

/// The longest topic name, in bytes.
pub const MAX_TOPIC_LEN: usize = 128;

/// The most topics one [`Topics`] set holds (one publish, or one subscriber).
pub const MAX_TOPICS: usize = 16;

/// Bytes a [`Topics`] set has for its names, each stored with one length byte: sixteen names
/// of 31 bytes, or three of the longest.
pub const TOPICS_BYTES: usize = 512;

// A mask over one set's topics is a `u64` (see `GapTopics`), and lengths are one byte.
const _: () = assert!(MAX_TOPICS <= 64 && MAX_TOPIC_LEN <= 255);

/// A valid topic name: 1 to [`MAX_TOPIC_LEN`] bytes of UTF-8 with no control character, no `"`
/// and no `\`.
///
/// The rules keep a name safe everywhere the crate writes it: on one `data:` line of a gap
/// event, inside a JSON string there without escaping, and in logs. Anything else printable
/// is allowed, so URLs (as Mercure uses), paths and UUIDs are all topic names.
///
/// # Examples
///
/// ```
/// use sansse::replay::{Topic, TopicError};
///
/// assert_eq!(Topic::new("user/42/notifications")?.as_str(), "user/42/notifications");
/// assert_eq!(Topic::new(""), Err(TopicError::Empty));
/// assert_eq!(Topic::new("a\"b"), Err(TopicError::InvalidByte { byte: b'"', at: 1 }));
/// # Ok::<(), TopicError>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, PartialOrd, Ord)]
pub struct Topic<'a>(&'a str);

impl<'a> Topic<'a> {
    /// The topic of every event published without naming one, and of every subscriber that
    /// asks for none: the single broadcast of a server that does not use topics.
    pub const DEFAULT: Topic<'static> = Topic("default");

    /// Checks `name` against the rules above.
    ///
    /// # Errors
    ///
    /// [`TopicError::Empty`], [`TopicError::TooLong`] or [`TopicError::InvalidByte`].
    pub const fn new(name: &'a str) -> Result<Self, TopicError> {
        let bytes = name.as_bytes();
        if bytes.is_empty() {
            return Err(TopicError::Empty);
        }
        if bytes.len() > MAX_TOPIC_LEN {
            return Err(TopicError::TooLong { len: bytes.len() });
        }
        let mut at = 0;
        while at < bytes.len() {
            let byte = bytes[at];
            if byte < 0x20 || byte == 0x7f || byte == b'"' || byte == b'\\' {
                return Err(TopicError::InvalidByte { byte, at });
            }
            at += 1;
        }
        Ok(Self(name))
    }

    /// The name.
    pub const fn as_str(&self) -> &'a str {
        self.0
    }

    /// The bucket of this topic, 0 to 63: its bit in an [`Interest`], and where the ring
    /// notes its evictions.
    pub(crate) const fn bucket(&self) -> u32 {
        (fnv1a(self.0.as_bytes()) % 64) as u32
    }

    const fn bit(&self) -> u64 {
        1 << self.bucket()
    }
}

impl fmt::Display for Topic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Why a topic name or a set of topics was refused.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum TopicError {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_TOPIC_LEN`].
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The name holds a control character, `"` or `\`.
    InvalidByte {
        /// The byte.
        byte: u8,
        /// Where, in bytes from the start of the name.
        at: usize,
    },
    /// The set already holds [`MAX_TOPICS`] topics, or its names fill [`TOPICS_BYTES`].
    TooMany,
    /// A query parameter is not valid percent-encoded UTF-8.
    BadEncoding,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty topic name"),
            Self::TooLong { len } => {
                write!(f, "topic name of {len} bytes exceeds {MAX_TOPIC_LEN}")
            }
            Self::InvalidByte { byte, at } => {
                write!(f, "byte {byte:#04x} at {at} is not allowed in a topic name")
            }
            Self::TooMany => write!(
                f,
                "more than {MAX_TOPICS} topics or {TOPICS_BYTES} bytes of names"
            ),
            Self::BadEncoding => f.write_str("topic is not valid percent-encoded UTF-8"),
        }
    }
}

impl core::error::Error for TopicError {}

/// A 64-bit summary of a set of topics, for waking only the connections a publish concerns.
///
/// Each topic sets one of 64 bits (chosen by a hash of its name), so two sets that share a
/// topic always intersect, and two that do not may still intersect when their names share a
/// bit: a spurious wake-up, never a missed one. [`Interest::ALL`] intersects everything.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Interest(u64);

impl Interest {
    /// Interested in everything: a connection that has not chosen its topics yet.
    pub const ALL: Self = Self(u64::MAX);

    /// Whether a publish summarised by `other` may concern this interest.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// The bits, one per hash bucket.
    pub const fn bits(self) -> u64 {
        self.0
    }
}

/// A set of up to [`MAX_TOPICS`] distinct topics with at most [`TOPICS_BYTES`] bytes of names,
/// in the order they were added; a plain value with no allocation.
///
/// A publish names a `Topics` ([`Ring::publish_to`](super::Ring::publish_to)); a subscriber
/// follows one ([`Ring::following`](super::Ring::following)). `Topics::default()` is the
/// set of the [default topic](Topic::DEFAULT) alone, which is what publishing and following
/// without topics mean.
///
/// # Examples
///
/// ```
/// use sansse::replay::{Topic, Topics};
///
/// let topics = Topics::from_query("topic=a&x=1&topic=b%2Fc&topic=a")?;
/// let names: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
/// assert_eq!(names, ["a", "b/c"]);
/// assert!(topics.contains("b/c"));
///
/// // No `topic` parameter: the default topic.
/// assert_eq!(Topics::from_query("")?, Topics::default());
/// assert!(Topics::default().contains(Topic::DEFAULT.as_str()));
/// # Ok::<(), sansse::replay::TopicError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Topics {
    /// Names, each as a length byte then its bytes.
    bytes: [u8; TOPICS_BYTES],
    /// Bytes of `bytes` in use.
    len: u16,
    count: u8,
    interest: Interest,
}

impl Topics {
    /// An empty set: following it reads nothing, publishing to it is refused.
    pub const fn new() -> Self {
        Self {
            bytes: [0; TOPICS_BYTES],
            len: 0,
            count: 0,
            interest: Interest(0),
        }
    }

    /// The set of one topic.
    ///
    /// # Errors
    ///
    /// As [`Topic::new`].
    pub fn one(name: &str) -> Result<Self, TopicError> {
        let mut topics = Self::new();
        topics.insert(Topic::new(name)?)?;
        Ok(topics)
    }

    /// The set of the given names, duplicates ignored.
    ///
    /// # Errors
    ///
    /// The first name [`Topic::new`] refuses, or [`TopicError::TooMany`].
    pub fn from_names<'n>(names: impl IntoIterator<Item = &'n str>) -> Result<Self, TopicError> {
        let mut topics = Self::new();
        for name in names {
            topics.insert(Topic::new(name)?)?;
        }
        Ok(topics)
    }

    /// The topics a request's query string asks for: every `topic=` parameter, percent-decoded
    /// (`+` is a space, as HTML forms and `URLSearchParams` write it), duplicates ignored; the
    /// [default set](Topics::default) when there is none. Other parameters are skipped.
    ///
    /// `query` is what follows `?` in the request target, without the `?`.
    ///
    /// # Errors
    ///
    /// [`TopicError::BadEncoding`] for a bad `%` escape or a name that is not UTF-8 once
    /// decoded, and the errors of [`Topic::new`] and [`Topics::insert`].
    pub fn from_query(query: &str) -> Result<Self, TopicError> {
        let mut topics = Self::new();
        let mut asked = false;
        for pair in query.split('&') {
            let Some(value) = pair.strip_prefix("topic=") else {
                continue;
            };
            asked = true;
            let mut decoded = [0u8; MAX_TOPIC_LEN];
            let len = percent_decode(value.as_bytes(), &mut decoded)?;
            let name =
                core::str::from_utf8(&decoded[..len]).map_err(|_| TopicError::BadEncoding)?;
            topics.insert(Topic::new(name)?)?;
        }
        Ok(if asked { topics } else { Self::default() })
    }

    /// Adds `topic`; `Ok(false)` when it was already in the set.
    ///
    /// # Errors
    ///
    /// [`TopicError::TooMany`] when the set is full; it is then unchanged.
    pub fn insert(&mut self, topic: Topic<'_>) -> Result<bool, TopicError> {
        if self.contains(topic.as_str()) {
            return Ok(false);
        }
        let name = topic.as_str().as_bytes();
        let start = usize::from(self.len);
        let end = start + 1 + name.len();
        if usize::from(self.count) == MAX_TOPICS || end > TOPICS_BYTES {
            return Err(TopicError::TooMany);
        }
        // `Topic::new` caps names at 128 bytes, so the length fits a byte.
        self.bytes[start] = name.len() as u8;
        self.bytes[start + 1..end].copy_from_slice(name);
        // `end <= TOPICS_BYTES`, which fits a u16.
        self.len = end as u16;
        self.count += 1;
        self.interest.0 |= topic.bit();
        Ok(true)
    }

    /// Whether the set holds the topic named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|topic| topic.as_str() == name)
    }

    /// The topics, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = Topic<'_>> + '_ {
        Packed(self.packed()).map(Topic)
    }

    /// The number of topics.
    pub const fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the set is empty.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The summary that wakes a follower of this set when a publish may concern it.
    pub const fn interest(&self) -> Interest {
        self.interest
    }

    /// The names as stored: each a length byte then its bytes.
    pub(crate) fn packed(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl Default for Topics {
    /// The set of the [default topic](Topic::DEFAULT) alone.
    fn default() -> Self {
        let mut topics = Self::new();
        // One short valid name always fits an empty set.
        let _ = topics.insert(Topic::DEFAULT);
        topics
    }
}

impl PartialEq for Topics {
    /// Equal when they hold the same names in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.packed() == other.packed()
    }
}

impl Eq for Topics {}

impl fmt::Debug for Topics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|t| t.0)).finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Topics {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Topics({=usize})", self.len());
    }
}

/// Iterates names stored as a length byte then the bytes, as [`Topics`] and the ring's event
/// headers hold them. Stops at the first malformed entry, which the crate never writes.
#[derive(Clone)]
pub(crate) struct Packed<'a>(pub(crate) &'a [u8]);

impl<'a> Iterator for Packed<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (&len, rest) = self.0.split_first()?;
        let len = usize::from(len);
        let (name, rest) = (rest.get(..len)?, rest.get(len..)?);
        self.0 = rest;
        core::str::from_utf8(name).ok()
    }
}

/// The default topic as [`Packed`] stores it.
pub(crate) const DEFAULT_PACKED: &[u8] = b"\x07default";

/// The 64-bit interest summary of packed names.
pub(crate) fn packed_interest(packed: &[u8]) -> Interest {
    Interest(
        Packed(packed)
            .map(|name| Topic(name).bit())
            .fold(0, |bits, bit| bits | bit),
    )
}

/// FNV-1a: a fast, fixed hash. It only spreads topics over wake-up and eviction buckets, where
/// a collision costs a spurious wake-up or a cautious gap event, never a wrong delivery (names
/// are always compared in full), so a keyed hash buys nothing here.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut at = 0;
    while at < bytes.len() {
        hash ^= bytes[at] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        at += 1;
    }
    hash
}

/// Decodes `%XX` escapes and `+` into `out`, returning the length.
fn percent_decode(input: &[u8], out: &mut [u8; MAX_TOPIC_LEN]) -> Result<usize, TopicError> {
    let mut len = 0;
    let mut at = 0;
    while at < input.len() {
        let byte = match input[at] {
            b'%' => {
                let hex = input.get(at + 1..at + 3).ok_or(TopicError::BadEncoding)?;
                let digit = |b: u8| (b as char).to_digit(16).ok_or(TopicError::BadEncoding);
                at += 2;
                // Two hex digits make at most 255.
                (digit(hex[0])? * 16 + digit(hex[1])?) as u8
            }
            b'+' => b' ',
            byte => byte,
        };
        at += 1;
        let Some(slot) = out.get_mut(len) else {
            return Err(TopicError::TooLong { len: len + 1 });
        };
        *slot = byte;
        len += 1;
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::{format, vec::Vec};

    #[test]
    fn names_are_checked_at_every_byte_and_at_the_length_limit() {
        let longest = "x".repeat(MAX_TOPIC_LEN);
        assert!(Topic::new(&longest).is_ok());
        assert_eq!(
            Topic::new(&"x".repeat(MAX_TOPIC_LEN + 1)),
            Err(TopicError::TooLong {
                len: MAX_TOPIC_LEN + 1
            })
        );
        for byte in [0u8, b'\n', b'\r', 0x1f, 0x7f, b'"', b'\\'] {
            let name = [b'a', byte];
            let name = core::str::from_utf8(&name).unwrap();
            assert_eq!(
                Topic::new(name),
                Err(TopicError::InvalidByte { byte, at: 1 })
            );
        }
        assert!(Topic::new("é/🙂 ok").is_ok());
    }

    #[test]
    fn a_set_refuses_the_seventeenth_topic_and_a_name_past_its_bytes() {
        let mut topics = Topics::new();
        let names: Vec<_> = (0..MAX_TOPICS).map(|n| format!("t{n}")).collect();
        for name in &names {
            assert_eq!(topics.insert(Topic::new(name).unwrap()), Ok(true));
        }
        assert_eq!(topics.insert(Topic::new("t0").unwrap()), Ok(false));
        assert_eq!(
            topics.insert(Topic::new("one more").unwrap()),
            Err(TopicError::TooMany)
        );
        assert_eq!(topics.len(), MAX_TOPICS);

        let long = "y".repeat(MAX_TOPIC_LEN);
        let mut full = Topics::new();
        for n in 0..3 {
            let name = format!("{n}{}", &long[1..]);
            full.insert(Topic::new(&name).unwrap()).unwrap();
        }
        let before = full;
        assert_eq!(
            full.insert(Topic::new(&long).unwrap()),
            Err(TopicError::TooMany)
        );
        assert_eq!(full, before);
    }

    #[test]
    fn queries_decode_percent_and_plus_and_refuse_bad_escapes() {
        let topics = Topics::from_query("a=1&topic=caf%C3%A9+au+lait&topic=x%2Fy").unwrap();
        let names: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, ["café au lait", "x/y"]);

        for bad in ["topic=%", "topic=%4", "topic=%zz", "topic=%FF"] {
            assert_eq!(
                Topics::from_query(bad),
                Err(TopicError::BadEncoding),
                "{bad}"
            );
        }
        assert_eq!(Topics::from_query("topic="), Err(TopicError::Empty));
        assert_eq!(
            Topics::from_query("topic=%0A"),
            Err(TopicError::InvalidByte { byte: b'\n', at: 0 })
        );
        let long = format!("topic={}", "z".repeat(MAX_TOPIC_LEN + 1));
        assert!(matches!(
            Topics::from_query(&long),
            Err(TopicError::TooLong { .. })
        ));
    }

    #[test]
    fn the_default_set_is_stored_as_the_ring_expects() {
        assert_eq!(Topics::default().packed(), DEFAULT_PACKED);
    }

    #[test]
    fn sets_sharing_a_topic_always_intersect() {
        let a = Topics::from_names(["a", "b"]).unwrap();
        let b = Topics::one("b").unwrap();
        assert!(a.interest().intersects(b.interest()));
        assert!(Interest::ALL.intersects(b.interest()));
        assert!(!Topics::new().interest().intersects(Interest::ALL));
        assert_eq!(packed_interest(a.packed()), a.interest());
    }
}
