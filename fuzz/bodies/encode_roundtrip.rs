//! Body of the `encode_roundtrip` fuzz target, shared by the cargo-fuzz wrapper
//! (`fuzz/fuzz_targets/encode_roundtrip.rs`) and the stable tests, which include this file with
//! `#[path]`.
//!
//! Input layout: byte 0 is a control byte (bits 0-2: how many chunk lengths follow, at most 7;
//! bit 3: start the stream with a BOM), then the chunk lengths used to split the wire for the
//! parser, then blocks. A block is a flag byte (bit 0: a comment; bit 1: data, else
//! `Message::without_data`; bit 2: an event name; bit 3: an id; bit 4: a retry time; bits 5-7: the
//! largest write the `write_to` writer accepts at once, 0 for `encode` into a slice) followed by
//! the fields it announces, in that order: each text a length byte and that many bytes (each
//! byte one character, see [`text`], so CR, LF, NUL, BOM and multi-byte characters are common),
//! the retry time eight little-endian bytes.
//!
//! It checks, for the encoder (`sansse::encode`) and the parser (`sansse::Parser`):
//!
//! 1. `EventName::new`, `EventId::new` and their owned forms accept a value exactly when the
//!    documented rule does (names: non-empty, no CR or LF; ids: no CR, LF or NUL), and report the
//!    first offending byte;
//! 2. `encoded_len` is exact; `encode` into a buffer one byte short fails with that size and
//!    leaves the buffer untouched; `write_to` through a writer taking a few bytes at a time writes
//!    the same bytes;
//! 3. encode then parse is the identity as the spec allows, whatever the split: each message with
//!    data comes back as one event with its type (or `message`), its data with every CR and CRLF
//!    read as LF, and the last id set so far (an id-only block sets it too); each retry time comes
//!    back as a `Retry`; each line of a comment as a `Comment` with the one leading space the parser
//!    strips; nothing else, no error, and nothing more at `finish`.

use sansse::Parser;
use sansse::encode::{
    Comment, EventId, EventIdBuf, EventName, EventNameBuf, InvalidField, Message,
};
use sansse::parse::{Limits, Output};

/// At most this many blocks per input: enough for interactions, bounded work per run.
const MAX_BLOCKS: usize = 32;
/// Capacity of the owned name and id buffers checked against the borrowed ones.
const OWNED: usize = 16;

/// Runs one fuzz input.
pub(crate) fn encode_roundtrip(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(control & 7).min(rest.len());
    let (splits, mut rest) = rest.split_at(count);

    let mut wire = Vec::new();
    if control & 8 != 0 {
        // A BOM is allowed (and stripped) only at the very start of the stream.
        wire.extend_from_slice("\u{FEFF}".as_bytes());
    }
    let mut expected = Vec::new();
    let mut last_id = String::new();
    let mut longest = 0;
    for _ in 0..MAX_BLOCKS {
        let Some((&flags, tail)) = rest.split_first() else {
            break;
        };
        rest = tail;
        let block = Block::read(flags, &mut rest);
        longest = longest.max(block.longest());
        block.encode(&mut wire, &mut expected, &mut last_id);
    }

    let seen = parse(&wire, splits, longest);
    assert_eq!(
        seen.outputs,
        expected,
        "wire {:?}",
        String::from_utf8_lossy(&wire)
    );
    assert_eq!(seen.last_id, last_id);
}

/// What the parser should report, owned.
#[derive(Clone, Debug, Eq, PartialEq)]
enum Seen {
    Event {
        event_type: String,
        data: String,
        id: String,
    },
    Retry(u64),
    Comment(String),
}

/// One block read from the input: a comment, then a message.
struct Block {
    comment: Option<String>,
    data: Option<String>,
    name: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    /// Largest write `write_to`'s writer accepts at once; 0: `encode` into a slice.
    write_size: usize,
}

impl Block {
    fn read(flags: u8, rest: &mut &[u8]) -> Self {
        let mut field = |bit: u8| (flags & bit != 0).then(|| text(rest));
        let comment = field(1);
        let data = field(2);
        let name = field(4);
        let id = field(8);
        let retry = (flags & 16 != 0).then(|| {
            let mut bytes = [0u8; 8];
            let take = rest.len().min(8);
            bytes[..take].copy_from_slice(&rest[..take]);
            *rest = &rest[take..];
            u64::from_le_bytes(bytes)
        });
        Self {
            comment,
            data,
            name,
            id,
            retry,
            write_size: usize::from(flags >> 5),
        }
    }

    /// The longest text in the block, in bytes: sizes the parser's limits.
    fn longest(&self) -> usize {
        [&self.comment, &self.data, &self.name, &self.id]
            .iter()
            .filter_map(|text| text.as_ref().map(String::len))
            .max()
            .unwrap_or(0)
    }

    /// Appends the block's bytes to `wire` and what the parser should make of them to
    /// `expected`.
    fn encode(&self, wire: &mut Vec<u8>, expected: &mut Vec<Seen>, last_id: &mut String) {
        if let Some(text) = &self.comment {
            let comment = Comment::new(text);
            let bytes = self.bytes(
                comment.encoded_len(),
                |buf| comment.encode(buf),
                |w| comment.write_to(w),
            );
            wire.extend_from_slice(&bytes);
            for line in lines(text) {
                // The parser drops one space after the colon; the encoder writes none.
                let line = line.strip_prefix(' ').unwrap_or(line);
                expected.push(Seen::Comment(line.to_owned()));
            }
        }

        let mut message = match &self.data {
            Some(data) => Message::new(data),
            None => Message::without_data(),
        };
        let name = self.name.as_deref().and_then(checked_name);
        if let Some(name) = name {
            message = message.with_name(name);
        }
        if let Some(id) = self.id.as_deref().and_then(checked_id) {
            message = message.with_id(id);
            id.as_str().clone_into(last_id);
        }
        if let Some(retry) = self.retry {
            message = message.with_retry(retry);
            expected.push(Seen::Retry(retry));
        }
        let bytes = self.bytes(
            message.encoded_len(),
            |buf| message.encode(buf),
            |w| message.write_to(w),
        );
        wire.extend_from_slice(&bytes);
        if let Some(data) = &self.data {
            expected.push(Seen::Event {
                event_type: name.map_or("message", |n| n.as_str()).to_owned(),
                data: lines(data).collect::<Vec<_>>().join("\n"),
                id: last_id.clone(),
            });
        }
    }

    /// Encodes with `encode` (checking the exact length and the short-buffer contract) or with
    /// `write_to` through a writer that takes at most `write_size` bytes a call, which must
    /// write the same bytes.
    fn bytes(
        &self,
        len: usize,
        encode: impl Fn(&mut [u8]) -> Result<usize, sansse::BufferTooSmall>,
        write_to: impl Fn(&mut Trickle) -> Result<usize, embedded_io::ErrorKind>,
    ) -> Vec<u8> {
        let mut buf = vec![0x5A; len];
        if len > 0 {
            let short = &mut buf[..len - 1];
            assert_eq!(encode(short), Err(sansse::BufferTooSmall { needed: len }));
            assert!(
                short.iter().all(|&b| b == 0x5A),
                "a short buffer is untouched"
            );
        }
        assert_eq!(encode(&mut buf), Ok(len), "encoded_len is exact");
        if self.write_size > 0 {
            let mut writer = Trickle {
                out: Vec::new(),
                max: self.write_size,
            };
            assert_eq!(write_to(&mut writer), Ok(len));
            assert_eq!(writer.out, buf, "write_to writes what encode writes");
        }
        buf
    }
}

/// Splits text on CRLF, CR and LF, as the event-stream format does.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            Some(at) => {
                let skip = if text[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// Checks a name against the documented rule and returns it when valid.
fn checked_name(name: &str) -> Option<EventName<'_>> {
    let expected = if name.is_empty() {
        Err(InvalidField::Empty)
    } else {
        match name.bytes().position(|b| matches!(b, b'\r' | b'\n')) {
            Some(at) => Err(InvalidField::LineBreak { at }),
            None => Ok(name),
        }
    };
    let checked = EventName::new(name);
    assert_eq!(checked.map(|n| n.as_str()), expected, "name {name:?}");
    let owned = EventNameBuf::<OWNED>::new(name);
    match (&expected, owned) {
        (Err(error), owned) => assert_eq!(owned.err(), Some(*error)),
        (Ok(_), Ok(owned)) => assert_eq!(owned.as_name().as_str(), name),
        (Ok(_), Err(error)) => assert_eq!(
            error,
            InvalidField::TooLong {
                len: name.len(),
                capacity: OWNED
            }
        ),
    }
    checked.ok()
}

/// Checks an id against the documented rule and returns it when valid.
fn checked_id(id: &str) -> Option<EventId<'_>> {
    let expected = match id.bytes().position(|b| matches!(b, b'\r' | b'\n' | 0)) {
        Some(at) if id.as_bytes()[at] == 0 => Err(InvalidField::Nul { at }),
        Some(at) => Err(InvalidField::LineBreak { at }),
        None => Ok(id),
    };
    let checked = EventId::new(id);
    assert_eq!(checked.map(|i| i.as_str()), expected, "id {id:?}");
    let owned = EventIdBuf::<OWNED>::new(id);
    match (&expected, owned) {
        (Err(error), owned) => assert_eq!(owned.err(), Some(*error)),
        (Ok(_), Ok(owned)) => assert_eq!(owned.as_id().as_str(), id),
        (Ok(_), Err(error)) => assert_eq!(
            error,
            InvalidField::TooLong {
                len: id.len(),
                capacity: OWNED
            }
        ),
    }
    checked.ok()
}

/// A length byte and that many bytes, each mapped to a character: ASCII as itself (so CR, LF,
/// NUL, colon and space are common), the rest to characters the format might mishandle.
fn text(rest: &mut &[u8]) -> String {
    let Some((&len, tail)) = rest.split_first() else {
        return String::new();
    };
    let take = usize::from(len).min(tail.len());
    let (bytes, tail) = tail.split_at(take);
    *rest = tail;
    bytes
        .iter()
        .map(|&b| match b {
            0x00..=0x7F => char::from(b),
            // BOM, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR, a 4-byte emoji, REPLACEMENT.
            0x80..=0x85 => [
                '\u{FEFF}',
                '\u{85}',
                '\u{2028}',
                '\u{2029}',
                '\u{1F600}',
                '\u{FFFD}',
            ][usize::from(b - 0x80)],
            // The rest of the upper half: Latin-1 letters and symbols (two bytes each).
            _ => char::from(b),
        })
        .collect()
}

/// A writer that takes at most `max` bytes per call, so `write_to` must loop.
struct Trickle {
    out: Vec<u8>,
    max: usize,
}

impl embedded_io::ErrorType for Trickle {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.max);
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// What the parser reported over the whole wire.
struct Parsed {
    outputs: Vec<Seen>,
    last_id: String,
}

/// Parses `wire` in the fuzz-chosen chunks with limits large enough for every field, so any
/// error is a failure of the round trip.
fn parse(wire: &[u8], splits: &[u8], longest: usize) -> Parsed {
    let field = longest.max(1);
    let limits = Limits {
        max_id_len: field,
        max_event_type_len: field,
        max_comment_len: field,
    };
    let capacity = limits.reserved() + wire.len() + 64;
    let mut parser =
        Parser::with_limits(vec![0u8; capacity], limits).expect("the buffer covers the limits");
    let mut outputs = Vec::new();
    let mut record = |output: Output<'_>| match output {
        Output::Event(event) => outputs.push(Seen::Event {
            event_type: event.event_type().to_owned(),
            data: event.data().to_owned(),
            id: event.id().to_owned(),
        }),
        Output::Retry(millis) => outputs.push(Seen::Retry(millis)),
        Output::Comment(text) => outputs.push(Seen::Comment(text.to_owned())),
        other => panic!("unexpected output {other:?}"),
    };
    for chunk in chunks(splits, wire) {
        let mut feed = parser.feed(chunk);
        while let Some(output) = feed.next() {
            record(output.expect("encoder output never trips the parser"));
        }
    }
    let mut finish = parser.finish();
    assert!(finish.next().is_none(), "every block ends in a blank line");
    drop(finish);
    Parsed {
        outputs,
        last_id: parser.last_event_id().to_owned(),
    }
}

fn chunks<'a>(splits: &[u8], stream: &'a [u8]) -> Vec<&'a [u8]> {
    if splits.is_empty() {
        return vec![stream];
    }
    let mut chunks = Vec::new();
    let mut rest = stream;
    for &len in splits.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(usize::from(len).clamp(1, rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}
