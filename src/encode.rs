//! text/event-stream encoding: messages, comments and validated field values.
//!
//! The wire format is the one the WHATWG HTML standard ("Server-sent events", section 9.2.6)
//! parses. Every block this module writes is made so that the standard parser reads back exactly
//! what was given, and so that no value can smuggle in a field of its own:
//!
//! - A [`Message`] is written as `event:`, `id:` and `retry:` lines, then one `data:` line per line
//!   of its data, then a blank line that makes the client dispatch it. Every line ends in LF.
//! - Every field line is `name: value`: the parser strips exactly one space after the colon, so
//!   a value that itself starts with a space survives.
//! - Data is split on every LF, CR and CRLF. The parser joins `data:` lines with LF, so data
//!   reads back unchanged except that each CR and CRLF line break comes back as LF: the format
//!   has no way to carry a CR (see [`Message::new`]).
//! - Event names ([`EventName`]) and ids ([`EventId`]) cannot hold a line break (it would start a
//!   new field) and ids cannot hold NUL (the parser ignores such an `id:` line). They are checked
//!   once, when the value is made, so writing never fails for a reason other than space.
//! - A [`Comment`] is written as `:` lines; line breaks in its text start another comment line.
//!
//! Output goes either into a lent `&mut [u8]`, all or nothing, with the size needed on failure
//! ([`Message::encode`]), or into any blocking [`embedded_io::Write`] ([`Message::write_to`]).

use core::fmt;

use memchr::memchr2;

use crate::ascii::{U64_DIGITS, write_u64};
use crate::buffer::{self, BufferTooSmall, Emit, Sink, count, write_counted};

/// An event type for the `event:` field: non-empty, without CR or LF.
///
/// A client's `EventSource` dispatches the event under this name (`addEventListener(name, ..)`).
/// A message without a name is dispatched as `message`; the empty name is refused because it
/// would mean the same as no name at all (the parser treats `event:` with an empty value as
/// "message"), so leave the name out instead.
///
/// # Examples
///
/// ```
/// use sansse::encode::{EventName, InvalidField};
///
/// let name = EventName::new("update")?;
/// assert_eq!(name.as_str(), "update");
/// assert_eq!(EventName::new("a\nb"), Err(InvalidField::LineBreak { at: 1 }));
/// assert_eq!(EventName::try_from(""), Err(InvalidField::Empty));
/// # Ok::<(), InvalidField>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct EventName<'a>(&'a str);

impl<'a> EventName<'a> {
    /// Checks `name` and wraps it.
    ///
    /// Being a `const fn`, it can check a name at compile time:
    /// `const PING: EventName<'static> = match EventName::new("ping") { Ok(n) => n, Err(_) => panic!() };`
    ///
    /// # Errors
    ///
    /// [`InvalidField::Empty`] for `""`, [`InvalidField::LineBreak`] if it holds CR or LF.
    pub const fn new(name: &'a str) -> Result<Self, InvalidField> {
        if name.is_empty() {
            return Err(InvalidField::Empty);
        }
        match first_forbidden(name.as_bytes(), false) {
            Some(error) => Err(error),
            None => Ok(Self(name)),
        }
    }

    /// The name as text.
    pub const fn as_str(&self) -> &'a str {
        self.0
    }
}

impl<'a> TryFrom<&'a str> for EventName<'a> {
    type Error = InvalidField;

    fn try_from(name: &'a str) -> Result<Self, Self::Error> {
        Self::new(name)
    }
}

impl fmt::Display for EventName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A value for the `id:` field: without CR, LF or NUL; may be empty.
///
/// The client sends the id of the last event it saw back as `Last-Event-ID` when it reconnects.
/// The empty id is allowed and meaningful: `id:` with an empty value clears the client's last
/// event id, so it reconnects without the header.
///
/// # Examples
///
/// ```
/// use sansse::encode::{EventId, InvalidField};
///
/// assert_eq!(EventId::new("7-42")?.as_str(), "7-42");
/// assert_eq!(EventId::new("")?.as_str(), "");
/// assert_eq!(EventId::new("a\0b"), Err(InvalidField::Nul { at: 1 }));
/// assert_eq!(EventId::try_from("a\rb"), Err(InvalidField::LineBreak { at: 1 }));
/// # Ok::<(), InvalidField>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct EventId<'a>(&'a str);

impl<'a> EventId<'a> {
    /// Checks `id` and wraps it.
    ///
    /// # Errors
    ///
    /// [`InvalidField::LineBreak`] if it holds CR or LF, [`InvalidField::Nul`] if it holds NUL
    /// (the parser ignores an `id:` line containing NUL, so the id would silently not take).
    pub const fn new(id: &'a str) -> Result<Self, InvalidField> {
        match first_forbidden(id.as_bytes(), true) {
            Some(error) => Err(error),
            None => Ok(Self(id)),
        }
    }

    /// The id as text.
    pub const fn as_str(&self) -> &'a str {
        self.0
    }
}

impl<'a> TryFrom<&'a str> for EventId<'a> {
    type Error = InvalidField;

    fn try_from(id: &'a str) -> Result<Self, Self::Error> {
        Self::new(id)
    }
}

impl fmt::Display for EventId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// An owned [`EventName`] of at most `N` bytes, for storing a name without a borrow.
///
/// # Examples
///
/// ```
/// use sansse::encode::{EventNameBuf, InvalidField};
///
/// let name = EventNameBuf::<8>::new("tick")?;
/// assert_eq!(name.as_name().as_str(), "tick");
/// assert_eq!(
///     EventNameBuf::<2>::new("tick"),
///     Err(InvalidField::TooLong { len: 4, capacity: 2 })
/// );
/// # Ok::<(), InvalidField>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct EventNameBuf<const N: usize>(heapless::String<N>);

impl<const N: usize> EventNameBuf<N> {
    /// Checks `name` like [`EventName::new`] and copies it.
    ///
    /// # Errors
    ///
    /// As [`EventName::new`], and [`InvalidField::TooLong`] if it is longer than `N` bytes.
    pub fn new(name: &str) -> Result<Self, InvalidField> {
        let name = EventName::new(name)?;
        Ok(Self(copy_bounded(name.as_str())?))
    }

    /// Borrows the name for writing.
    pub fn as_name(&self) -> EventName<'_> {
        EventName(self.0.as_str())
    }
}

/// An owned [`EventId`] of at most `N` bytes, for storing an id without a borrow.
///
/// # Examples
///
/// ```
/// use sansse::encode::{EventIdBuf, InvalidField};
///
/// let id = EventIdBuf::<16>::new("3-99")?;
/// assert_eq!(id.as_id().as_str(), "3-99");
/// assert_eq!(
///     EventIdBuf::<2>::new("3-99"),
///     Err(InvalidField::TooLong { len: 4, capacity: 2 })
/// );
/// # Ok::<(), InvalidField>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct EventIdBuf<const N: usize>(heapless::String<N>);

impl<const N: usize> EventIdBuf<N> {
    /// Checks `id` like [`EventId::new`] and copies it.
    ///
    /// # Errors
    ///
    /// As [`EventId::new`], and [`InvalidField::TooLong`] if it is longer than `N` bytes.
    pub fn new(id: &str) -> Result<Self, InvalidField> {
        let id = EventId::new(id)?;
        Ok(Self(copy_bounded(id.as_str())?))
    }

    /// Borrows the id for writing.
    pub fn as_id(&self) -> EventId<'_> {
        EventId(self.0.as_str())
    }
}

/// Why a value cannot be used as an event name or id.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum InvalidField {
    /// The value is empty where that would mean nothing (an event name).
    Empty,
    /// The value holds a CR or LF at byte offset `at`, which would end the field line.
    LineBreak {
        /// Byte offset of the first line break.
        at: usize,
    },
    /// The value holds NUL at byte offset `at`; the parser ignores ids containing NUL.
    Nul {
        /// Byte offset of the first NUL.
        at: usize,
    },
    /// The value is longer than an owned buffer can hold.
    TooLong {
        /// Length of the value in bytes.
        len: usize,
        /// Capacity of the buffer in bytes.
        capacity: usize,
    },
}

impl fmt::Display for InvalidField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty field value"),
            Self::LineBreak { at } => write!(f, "line break in field value at byte {at}"),
            Self::Nul { at } => write!(f, "nul in field value at byte {at}"),
            Self::TooLong { len, capacity } => {
                write!(
                    f,
                    "field value of {len} bytes exceeds capacity of {capacity}"
                )
            }
        }
    }
}

impl core::error::Error for InvalidField {}

/// One event block: optional name, id, retry and data, closed by a blank line.
///
/// This is what a client's `EventSource` turns into one `MessageEvent`. Fields are written in the
/// order `event:`, `id:`, `retry:`, `data:`. A block without data sets the client's last event id
/// and reconnection time but dispatches no event (WHATWG "dispatch the event" step 2), which is how
/// an id-only or retry-only block is sent.
///
/// # Examples
///
/// ```
/// use sansse::encode::{EventId, EventName, Message};
///
/// let message = Message::new("line one\r\nline two")
///     .with_name(EventName::new("note")?)
///     .with_id(EventId::new("1-5")?);
/// let mut buf = [0u8; 64];
/// let len = message.encode(&mut buf)?;
/// assert_eq!(len, message.encoded_len());
/// assert_eq!(
///     &buf[..len],
///     b"event: note\nid: 1-5\ndata: line one\ndata: line two\n\n"
/// );
///
/// // A retry-only block: the client adopts a 5 s reconnection delay, no event is dispatched.
/// let len = Message::without_data().with_retry(5_000).encode(&mut buf)?;
/// assert_eq!(&buf[..len], b"retry: 5000\n\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct Message<'a> {
    name: Option<EventName<'a>>,
    id: Option<EventId<'a>>,
    retry: Option<u64>,
    data: Option<&'a str>,
}

impl<'a> Message<'a> {
    /// Creates a message carrying `data` and no other field.
    ///
    /// The client reads back `data` unchanged except for line breaks: every CR, LF and CRLF in
    /// `data` ends a `data:` line, and the parser joins those lines with LF, so CR and CRLF come
    /// back as LF. Empty data is sent as one empty `data:` line, which the client dispatches as an
    /// event with empty data (a block with no `data:` line at all is not dispatched).
    pub const fn new(data: &'a str) -> Self {
        Self {
            name: None,
            id: None,
            retry: None,
            data: Some(data),
        }
    }

    /// Creates a message with no field at all; add an id or a retry time to it.
    ///
    /// Encoded as it is, it is a lone blank line, which the parser treats as a no-op.
    pub const fn without_data() -> Self {
        Self {
            name: None,
            id: None,
            retry: None,
            data: None,
        }
    }

    /// Sets the data (see [`Message::new`] for how it reads back).
    #[must_use]
    pub const fn with_data(mut self, data: &'a str) -> Self {
        self.data = Some(data);
        self
    }

    /// Sets the event type the client dispatches under.
    #[must_use]
    pub const fn with_name(mut self, name: EventName<'a>) -> Self {
        self.name = Some(name);
        self
    }

    /// Sets the id the client will report as `Last-Event-ID` after a reconnect.
    #[must_use]
    pub const fn with_id(mut self, id: EventId<'a>) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the client's reconnection delay in milliseconds (`retry:`).
    #[must_use]
    pub const fn with_retry(mut self, millis: u64) -> Self {
        self.retry = Some(millis);
        self
    }

    /// The data, if any.
    pub const fn data(&self) -> Option<&'a str> {
        self.data
    }

    /// The event name, if any.
    pub const fn name(&self) -> Option<EventName<'a>> {
        self.name
    }

    /// The id, if any.
    pub const fn id(&self) -> Option<EventId<'a>> {
        self.id
    }

    /// The retry time in milliseconds, if any.
    pub const fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// The exact number of bytes [`Message::encode`] writes (saturating at `usize::MAX`).
    ///
    /// This walks the data once to count its lines.
    pub fn encoded_len(&self) -> usize {
        count(self)
    }

    /// Writes the whole block into `buf` and returns its length, or writes nothing.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] with the exact size needed when `buf` is too short; `buf` is
    /// then left untouched.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        write_counted(buf, self.encoded_len(), self)
    }

    /// Writes the whole block to `writer` and returns its length. It does not flush.
    ///
    /// Small pieces are gathered in a small stack buffer so that a socket sees a few large
    /// writes rather than one per field part; long data lines go straight through.
    ///
    /// # Errors
    ///
    /// The writer's error. A write can fail after part of the block went out, and the block cannot
    /// be taken back: the client would read the rest of the stream as the continuation of this
    /// half block (for example a following event's fields merged into it). After an error, close
    /// the connection; the client reconnects and resumes from its last complete event.
    ///
    /// # Panics
    ///
    /// Only if `writer` breaks the `embedded_io::Write` contract by returning `Ok(0)` for a
    /// non-empty buffer (`write_all` panics then).
    pub fn write_to<W: embedded_io::Write>(&self, writer: &mut W) -> Result<usize, W::Error> {
        buffer::write_to(writer, self)
    }
}

impl Emit for Message<'_> {
    #[inline]
    fn emit<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), S::Error> {
        if let Some(name) = self.name {
            field(sink, b"event", name.as_str().as_bytes())?;
        }
        if let Some(id) = self.id {
            field(sink, b"id", id.as_str().as_bytes())?;
        }
        if let Some(retry) = self.retry {
            let mut digits = [0; U64_DIGITS];
            field(sink, b"retry", write_u64(retry, &mut digits))?;
        }
        if let Some(data) = self.data {
            for line in Lines::new(data.as_bytes()) {
                field(sink, b"data", line)?;
            }
        }
        sink.put(b"\n")
    }
}

/// A comment block: `:` lines the client ignores, used as keep-alive and for humans reading the
/// stream.
///
/// Each line of the text (split on LF, CR and CRLF, like data) becomes its own `:` line, so the
/// text can never start a field. The text is written right after the colon with nothing added:
/// `Comment::new("")` is the two bytes `:\n`, the smallest keep-alive there is.
///
/// # Examples
///
/// ```
/// use sansse::encode::Comment;
///
/// let mut buf = [0u8; 32];
/// let len = Comment::new(" keep-alive").encode(&mut buf)?;
/// assert_eq!(&buf[..len], b": keep-alive\n");
/// let len = Comment::new("a\ndata: x").encode(&mut buf)?;
/// assert_eq!(&buf[..len], b":a\n:data: x\n");
/// # Ok::<(), sansse::BufferTooSmall>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Comment<'a>(&'a str);

impl<'a> Comment<'a> {
    /// Creates a comment with the given text.
    pub const fn new(text: &'a str) -> Self {
        Self(text)
    }

    /// The exact number of bytes [`Comment::encode`] writes (saturating at `usize::MAX`).
    pub fn encoded_len(&self) -> usize {
        count(self)
    }

    /// Writes the comment into `buf` and returns its length, or writes nothing.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] with the exact size needed; `buf` is then left untouched.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        write_counted(buf, self.encoded_len(), self)
    }

    /// Writes the comment to `writer` and returns its length. It does not flush.
    ///
    /// # Errors
    ///
    /// The writer's error; see [`Message::write_to`] for why the connection should then be
    /// closed.
    ///
    /// # Panics
    ///
    /// Only if `writer` returns `Ok(0)` for a non-empty buffer, breaking its contract.
    pub fn write_to<W: embedded_io::Write>(&self, writer: &mut W) -> Result<usize, W::Error> {
        buffer::write_to(writer, self)
    }
}

impl Emit for Comment<'_> {
    #[inline]
    fn emit<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), S::Error> {
        for line in Lines::new(self.0.as_bytes()) {
            sink.put(b":")?;
            sink.put(line)?;
            sink.put(b"\n")?;
        }
        Ok(())
    }
}

/// Wraps text already known to be a valid id (built by this crate from digits and '-').
pub(crate) fn id_buf_unchecked<const N: usize>(text: heapless::String<N>) -> EventIdBuf<N> {
    EventIdBuf(text)
}

/// Writes one `name: value` line. The space keeps a value's own leading space intact, since
/// the parser strips exactly one.
#[inline]
pub(crate) fn field<S: Sink + ?Sized>(
    sink: &mut S,
    name: &[u8],
    value: &[u8],
) -> Result<(), S::Error> {
    sink.put(name)?;
    sink.put(b": ")?;
    sink.put(value)?;
    sink.put(b"\n")
}

/// The lines of a text split on LF, CR and CRLF, as the event-stream parser splits them.
///
/// A text with `k` line breaks has `k + 1` lines; the empty text is one empty line.
pub(crate) struct Lines<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a [u8]) -> Self {
        Self { rest: Some(text) }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        let Some(at) = memchr2(b'\r', b'\n', rest) else {
            self.rest = None;
            return Some(rest);
        };
        let (line, tail) = rest.split_at(at);
        let after = match tail {
            [b'\r', b'\n', after @ ..] => after,
            [_, after @ ..] => after,
            [] => tail,
        };
        self.rest = Some(after);
        Some(line)
    }
}

/// The first byte that may not appear in a name (`nul_too == false`) or id (`nul_too == true`).
const fn first_forbidden(bytes: &[u8], nul_too: bool) -> Option<InvalidField> {
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\r' | b'\n' => return Some(InvalidField::LineBreak { at }),
            0 if nul_too => return Some(InvalidField::Nul { at }),
            _ => at += 1,
        }
    }
    None
}

fn copy_bounded<const N: usize>(text: &str) -> Result<heapless::String<N>, InvalidField> {
    let mut owned = heapless::String::new();
    owned.push_str(text).map_err(|_| InvalidField::TooLong {
        len: text.len(),
        capacity: N,
    })?;
    Ok(owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_split_on_every_line_break() {
        let text = encode_to_array(&Message::new("a\nb\rc\r\nd\r\r\ne\n"));

        assert_eq!(
            text.as_slice(),
            b"data: a\ndata: b\ndata: c\ndata: d\ndata: \ndata: e\ndata: \n\n"
        );
    }

    #[test]
    fn empty_data_is_one_empty_data_line() {
        let text = encode_to_array(&Message::new(""));

        assert_eq!(text.as_slice(), b"data: \n\n");
    }

    #[test]
    fn leading_space_survives_behind_the_separator_space() {
        let text = encode_to_array(&Message::new(" x").with_name(EventName(" n")));

        assert_eq!(text.as_slice(), b"event:  n\ndata:  x\n\n");
    }

    #[test]
    fn fields_come_in_fixed_order() {
        let message = Message::new("d")
            .with_retry(0)
            .with_id(EventId(""))
            .with_name(EventName("n"));

        let text = encode_to_array(&message);

        assert_eq!(text.as_slice(), b"event: n\nid: \nretry: 0\ndata: d\n\n");
    }

    #[test]
    fn id_only_block_ends_with_blank_line() {
        let text = encode_to_array(&Message::without_data().with_id(EventId("9")));

        assert_eq!(text.as_slice(), b"id: 9\n\n");
    }

    #[test]
    fn retry_prints_every_u64() {
        for (value, expected) in [
            (0, "0"),
            (7, "7"),
            (10, "10"),
            (u64::MAX, "18446744073709551615"),
        ] {
            let mut buf = [0; 64];
            let len = Message::without_data()
                .with_retry(value)
                .encode(&mut buf)
                .unwrap();
            assert_eq!(buf.get(..7), Some(&b"retry: "[..]));
            assert_eq!(buf.get(7..len - 2), Some(expected.as_bytes()));
            assert_eq!(buf.get(len - 2..len), Some(&b"\n\n"[..]));
        }
    }

    #[test]
    fn too_small_buffer_is_untouched_and_told_the_exact_size() {
        let message = Message::new("hello\nworld");
        let needed = message.encoded_len();
        let mut buf = [0xAA; 64];

        let result = message.encode(&mut buf[..needed - 1]);

        assert_eq!(result, Err(BufferTooSmall { needed }));
        assert!(buf.iter().all(|&b| b == 0xAA));
        assert_eq!(message.encode(&mut buf[..needed]), Ok(needed));
    }

    #[test]
    fn comment_lines_cannot_start_a_field() {
        let mut buf = [0; 32];

        let len = Comment::new("x\r\nid: 1\r").encode(&mut buf).unwrap();

        assert_eq!(&buf[..len], b":x\n:id: 1\n:\n");
        assert_eq!(Comment::new("").encoded_len(), 2);
    }

    #[test]
    fn names_and_ids_refuse_what_would_inject_a_field() {
        assert_eq!(
            EventName::new("ok\r"),
            Err(InvalidField::LineBreak { at: 2 })
        );
        assert_eq!(EventName::new("a\0b").map(|n| n.as_str()), Ok("a\0b"));
        assert_eq!(EventId::new("\n"), Err(InvalidField::LineBreak { at: 0 }));
        assert_eq!(EventId::new("x\0"), Err(InvalidField::Nul { at: 1 }));
        assert_eq!(EventNameBuf::<4>::new(""), Err(InvalidField::Empty));
        assert_eq!(
            EventIdBuf::<4>::new("\r"),
            Err(InvalidField::LineBreak { at: 0 })
        );
    }

    #[test]
    fn writer_output_matches_slice_output_across_gather_boundaries() {
        let long = "x".repeat_into::<300>();
        let data = [long.as_str(), "\nshort\n", long.as_str()].concat_into::<700>();
        let message = Message::new(data.as_str())
            .with_name(EventName("n"))
            .with_id(EventId("1"));
        let mut expected = [0; 1024];
        let expected_len = message.encode(&mut expected).unwrap();
        let mut out = [0; 1024];
        let mut writer: &mut [u8] = &mut out;

        let written = message.write_to(&mut writer).unwrap();

        assert_eq!(written, expected_len);
        assert_eq!(&out[..written], &expected[..expected_len]);
    }

    #[test]
    fn writer_error_is_returned() {
        let mut out = [0; 10];
        let mut writer: &mut [u8] = &mut out;

        let result = Message::new("longer than ten bytes").write_to(&mut writer);

        assert!(result.is_err());
    }

    fn encode_to_array(message: &Message<'_>) -> heapless::Vec<u8, 256> {
        let mut buf = [0; 256];
        let len = message.encode(&mut buf).unwrap();
        assert_eq!(len, message.encoded_len());
        heapless::Vec::from_slice(&buf[..len]).unwrap()
    }

    /// Fixed-capacity string helpers so these tests need no allocator.
    trait Fill {
        fn repeat_into<const N: usize>(&self) -> heapless::String<N>;
    }

    impl Fill for str {
        fn repeat_into<const N: usize>(&self) -> heapless::String<N> {
            let mut out = heapless::String::new();
            while out.push_str(self).is_ok() {}
            out
        }
    }

    trait Concat {
        fn concat_into<const N: usize>(&self) -> heapless::String<N>;
    }

    impl Concat for [&str] {
        fn concat_into<const N: usize>(&self) -> heapless::String<N> {
            let mut out = heapless::String::new();
            for part in self {
                out.push_str(part).unwrap();
            }
            out
        }
    }
}
