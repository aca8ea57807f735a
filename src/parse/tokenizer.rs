//! Line and field tokenizer: the lower layer of the parser.
//!
//! It turns bytes into field fragments in constant memory, whatever the line length, following
//! WHATWG HTML §9.2.6 "Interpreting an event stream":
//!
//! - one leading UTF-8 BOM is stripped at stream start, also when split across inputs;
//! - a line ends at CRLF, LF or CR; a CR that ends one input and an LF that starts the next are
//!   one line break (the CR leaves the state `AfterCr`, which swallows exactly one LF that follows);
//! - a line starting with `:` is a comment; otherwise the bytes before the first `:` are the field
//!   name and the bytes after it the value, minus exactly one leading space; a line without a
//!   colon is a field name with an empty value; an empty line dispatches.
//!
//! States: `Bom` (at stream start, part of a BOM matched), `Start` (at the beginning of a line),
//! `AfterCr` (at the beginning of a line that follows a CR which ended the last input: one LF
//! here still belongs to that line break), `Name` (a line whose name began in an earlier input;
//! at most five name bytes are kept, since no field name we act on is longer), `Value` (inside a
//! value that began in an earlier input). Keeping the BOM and CR facts in the same state lets the
//! common case, `Start`, be recognised with one comparison. Each input byte is examined a bounded
//! number of times, so the work is linear in the input for any chunking.
//!
//! As in the parser, hot helpers are forced inline on 64-bit targets only.

#[cfg(target_pointer_width = "64")]
use memchr::{memchr, memchr2};

/// Below this many bytes a plain loop finds a byte sooner than `memchr`, whose dispatch and
/// setup cost more than the search when inputs arrive a few bytes at a time.
#[cfg(any(target_pointer_width = "64", test))]
const SHORT_SCAN: usize = 16;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// The longest field name we act on: `event` and `retry`.
const NAME_MAX: usize = 5;
/// Name length meaning "longer than any known name".
const NAME_UNKNOWN: u8 = u8::MAX;

/// Which field a line belongs to.
///
/// Field names are case-sensitive: `Data:` is an unknown field.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Field {
    /// `data`: appended to the event's data, followed by a line feed.
    Data,
    /// `event`: sets the event type.
    Event,
    /// `id`: sets the last event ID (ignored when the value contains NUL).
    Id,
    /// `retry`: sets the reconnection time when the value is all ASCII digits.
    Retry,
    /// A line starting with `:`; ignored by the spec, offered for keep-alive handling.
    Comment,
    /// Any other field name; ignored by the spec.
    Unknown,
}

/// A piece of one line's value, borrowed from the input.
///
/// A line that lies whole in one input yields one fragment with both `first` and `last` set; a
/// line split across inputs yields several, in order. Non-final fragments are never empty.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Fragment<'i> {
    /// The field this value belongs to.
    pub field: Field,
    /// Raw value bytes (one leading space already stripped). Not checked for UTF-8.
    pub value: &'i [u8],
    /// This fragment starts the value.
    pub first: bool,
    /// This fragment ends the line.
    pub last: bool,
}

/// What the tokenizer found next.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Token<'i> {
    /// A piece of a field's value.
    Field(Fragment<'i>),
    /// An empty line: the end of an event block.
    Blank,
}

/// The constant-memory lower layer of the parser: lines and fields, no buffering.
///
/// Use it directly to consume events larger than any buffer, piece by piece; use
/// [`Parser`](super::Parser) to get whole events.
///
/// # Examples
///
/// Counting the bytes of `data` in constant memory, however the stream is split:
///
/// ```
/// use sansse::parse::{Field, Token, Tokenizer};
///
/// let mut tokenizer = Tokenizer::new();
/// let mut data_bytes = 0;
/// let mut events = 0;
/// for chunk in [&b"data: hel"[..], b"lo\r", b"\ndata: world\n\n"] {
///     for token in tokenizer.feed(chunk) {
///         match token {
///             Token::Field(f) if f.field == Field::Data => data_bytes += f.value.len(),
///             Token::Blank => events += 1,
///             Token::Field(_) => {}
///         }
///     }
/// }
/// assert_eq!((data_bytes, events), (10, 1));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Debug)]
pub struct Tokenizer {
    pub(super) line: Line,
}

#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug)]
pub(super) enum Line {
    /// At stream start, with this many BOM bytes matched so far.
    Bom(u8),
    /// At the beginning of a line.
    Start,
    /// A line starts here, and the last one ended with a CR at the very end of an input: one LF
    /// that follows belongs to that line break.
    AfterCr,
    Name {
        name: [u8; NAME_MAX],
        len: u8,
    },
    Value {
        field: Field,
        started: bool,
        space_checked: bool,
    },
}

/// A token located by offsets into the input, so the parser can borrow or copy it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RawToken {
    Field {
        field: Field,
        start: usize,
        end: usize,
        first: bool,
        last: bool,
    },
    Blank,
}

impl Tokenizer {
    /// Creates a tokenizer at the start of a stream.
    pub const fn new() -> Self {
        Self { line: Line::Bom(0) }
    }

    /// Returns an iterator over the tokens in `input`, continuing from earlier inputs.
    ///
    /// The state advances as tokens are taken. If the iterator is dropped early, the bytes it
    /// had not reached are not consumed: [`Tokens::remaining`] tells which, and they must be fed
    /// again.
    pub fn feed<'t, 'i>(&'t mut self, input: &'i [u8]) -> Tokens<'t, 'i> {
        Tokens {
            tokenizer: self,
            input,
            pos: 0,
        }
    }

    /// Forgets everything about the current stream: the next input is the start of a new one.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Whether the tokenizer stands at the start of a line (no line is half read).
    pub fn at_line_start(&self) -> bool {
        matches!(self.line, Line::Start | Line::AfterCr | Line::Bom(_))
    }

    /// Forgets a CR that ended the last input, so that ending the stream does not wait for its LF.
    pub(crate) fn clear_pending_cr(&mut self) {
        if matches!(self.line, Line::AfterCr) {
            self.line = Line::Start;
        }
    }

    /// Finds the next token in `input[*pos..]`, advancing `*pos` past what it consumed.
    /// Returns `None` once every byte of `input` is consumed.
    ///
    /// The parser handles the common lines itself and calls this for the rest (a line or name
    /// split across inputs, the BOM, a CR that ended the last input).
    #[inline]
    pub(crate) fn next_raw(&mut self, input: &[u8], pos: &mut usize) -> Option<RawToken> {
        loop {
            let p = *pos;
            if p >= input.len() {
                return None;
            }
            match self.line {
                Line::Start => {
                    if let Some(token) = self.line_start(input, p, pos) {
                        return Some(token);
                    }
                }
                Line::AfterCr => {
                    self.line = Line::Start;
                    if input[p] == b'\n' {
                        *pos = p + 1;
                    }
                }
                Line::Bom(matched) => *pos = self.skip_bom(input, p, matched),
                Line::Name { name, len } => {
                    if let Some(token) = self.continue_name(input, p, pos, name, len) {
                        return Some(token);
                    }
                }
                Line::Value {
                    field,
                    started,
                    space_checked,
                } => {
                    let mut p = p;
                    if !space_checked {
                        if input[p] == b' ' {
                            p += 1;
                        }
                        self.line = Line::Value {
                            field,
                            started,
                            space_checked: true,
                        };
                        if p == input.len() {
                            *pos = p;
                            return None;
                        }
                    }
                    let (end, last) = match find_line_end(&input[p..]) {
                        Some(off) => {
                            let end = p + off;
                            *pos = self.end_line(input, end);
                            (end, true)
                        }
                        None => {
                            *pos = input.len();
                            self.line = Line::Value {
                                field,
                                started: true,
                                space_checked: true,
                            };
                            (input.len(), false)
                        }
                    };
                    return Some(RawToken::Field {
                        field,
                        start: p,
                        end,
                        first: !started,
                        last,
                    });
                }
            }
        }
    }

    /// Matches the start-of-stream BOM one byte at a time, so a BOM split across inputs is found.
    fn skip_bom(&mut self, input: &[u8], mut p: usize, mut matched: u8) -> usize {
        while let Some(&want) = BOM.get(usize::from(matched)) {
            let Some(&b) = input.get(p) else {
                self.line = Line::Bom(matched);
                return p;
            };
            if b != want {
                // A line that starts with part of a BOM has a non-ASCII field name: unknown.
                self.line = if matched > 0 {
                    Line::Name {
                        name: [0; NAME_MAX],
                        len: NAME_UNKNOWN,
                    }
                } else {
                    Line::Start
                };
                return p;
            }
            matched += 1;
            p += 1;
        }
        self.line = Line::Start;
        p
    }

    /// Handles a line that starts at `p`: the fast path when it ends inside this input.
    /// Returns `None` when the line continues past this input with nothing to report yet.
    fn line_start(&mut self, input: &[u8], p: usize, pos: &mut usize) -> Option<RawToken> {
        let b = input[p];
        if b == b'\n' || b == b'\r' {
            *pos = self.end_line(input, p);
            return Some(RawToken::Blank);
        }
        let rest = &input[p..];
        if let Some(off) = find_line_end(rest) {
            let end = p + off;
            let (field, value_at) = split_line(&input[p..end]);
            *pos = self.end_line(input, end);
            return Some(RawToken::Field {
                field,
                start: p + value_at,
                end,
                first: true,
                last: true,
            });
        }
        // The line continues in a later input.
        *pos = input.len();
        let colon = if b == b':' {
            Some(0)
        } else {
            find_byte(b':', rest)
        };
        let Some(colon) = colon else {
            self.line = Line::Name {
                name: [0; NAME_MAX],
                len: 0,
            };
            self.push_name(rest);
            return None;
        };
        let field = if colon == 0 {
            Field::Comment
        } else {
            field_named(&rest[..colon])
        };
        let mut start = p + colon + 1;
        let mut space_checked = false;
        if start < input.len() {
            space_checked = true;
            if input[start] == b' ' {
                start += 1;
            }
        }
        if start == input.len() {
            self.line = Line::Value {
                field,
                started: false,
                space_checked,
            };
            return None;
        }
        self.line = Line::Value {
            field,
            started: true,
            space_checked: true,
        };
        Some(RawToken::Field {
            field,
            start,
            end: input.len(),
            first: true,
            last: false,
        })
    }

    /// Continues a field name that began in an earlier input.
    fn continue_name(
        &mut self,
        input: &[u8],
        p: usize,
        pos: &mut usize,
        name: [u8; NAME_MAX],
        len: u8,
    ) -> Option<RawToken> {
        let rest = &input[p..];
        let line_end = find_line_end(rest);
        let scan = &rest[..line_end.unwrap_or(rest.len())];
        self.line = Line::Name { name, len };
        if let Some(colon) = find_byte(b':', scan) {
            self.push_name(&scan[..colon]);
            let field = self.pending_field();
            self.line = Line::Value {
                field,
                started: false,
                space_checked: false,
            };
            *pos = p + colon + 1;
            return None;
        }
        self.push_name(scan);
        let Some(off) = line_end else {
            *pos = input.len();
            return None;
        };
        let field = self.pending_field();
        let end = p + off;
        *pos = self.end_line(input, end);
        Some(RawToken::Field {
            field,
            start: end,
            end,
            first: true,
            last: true,
        })
    }

    fn push_name(&mut self, bytes: &[u8]) {
        let Line::Name { name, len } = &mut self.line else {
            return;
        };
        if *len == NAME_UNKNOWN {
            return;
        }
        let have = usize::from(*len);
        if have + bytes.len() > NAME_MAX {
            *len = NAME_UNKNOWN;
            return;
        }
        name[have..have + bytes.len()].copy_from_slice(bytes);
        // `have + bytes.len() <= NAME_MAX`, so this fits a u8.
        *len = (have + bytes.len()) as u8;
    }

    fn pending_field(&self) -> Field {
        match self.line {
            Line::Name { len, .. } if len == NAME_UNKNOWN => Field::Unknown,
            Line::Name { name, len } => field_named(&name[..usize::from(len)]),
            _ => Field::Unknown,
        }
    }

    /// Ends the line whose break is at `end`: the tokenizer stands at a line start, and the
    /// position after the break is returned. A CR at the very end of the input may pair with an
    /// LF at the start of the next one.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    pub(super) fn end_line(&mut self, input: &[u8], end: usize) -> usize {
        self.line = Line::Start;
        if input[end] == b'\r' {
            match input.get(end + 1) {
                Some(b'\n') => return end + 2,
                Some(_) => {}
                None => self.line = Line::AfterCr,
            }
        }
        end + 1
    }
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self::new()
    }
}

/// Iterator over the tokens of one input; see [`Tokenizer::feed`].
#[derive(Debug)]
pub struct Tokens<'t, 'i> {
    tokenizer: &'t mut Tokenizer,
    input: &'i [u8],
    pos: usize,
}

impl<'i> Tokens<'_, 'i> {
    /// The bytes of this input not yet consumed.
    pub fn remaining(&self) -> &'i [u8] {
        &self.input[self.pos..]
    }
}

impl<'i> Iterator for Tokens<'_, 'i> {
    type Item = Token<'i>;

    fn next(&mut self) -> Option<Token<'i>> {
        let raw = self.tokenizer.next_raw(self.input, &mut self.pos)?;
        Some(match raw {
            RawToken::Blank => Token::Blank,
            RawToken::Field {
                field,
                start,
                end,
                first,
                last,
            } => Token::Field(Fragment {
                field,
                value: &self.input[start..end],
                first,
                last,
            }),
        })
    }
}

/// The offset of the first CR or LF in `hay`.
///
/// On 64-bit targets `memchr2` for all but short stretches. Smaller targets scan a byte at a
/// time: `memchr`'s word-at-a-time search is a few hundred bytes of flash there, and their
/// inputs (a socket buffer of a kilobyte or two) are short.
#[cfg_attr(target_pointer_width = "64", inline(always))]
#[cfg_attr(not(target_pointer_width = "64"), inline)]
pub(super) fn find_line_end(hay: &[u8]) -> Option<usize> {
    #[cfg(target_pointer_width = "64")]
    {
        if hay.len() < SHORT_SCAN {
            find_line_end_short(hay)
        } else {
            memchr2(b'\n', b'\r', hay)
        }
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        find_line_end_short(hay)
    }
}

/// The offset of the first `byte` in `hay`: `memchr` on 64-bit targets, a byte at a time on
/// smaller ones (see [`find_line_end`]).
#[cfg_attr(target_pointer_width = "64", inline(always))]
#[cfg_attr(not(target_pointer_width = "64"), inline)]
pub(super) fn find_byte(byte: u8, hay: &[u8]) -> Option<usize> {
    #[cfg(target_pointer_width = "64")]
    {
        memchr(byte, hay)
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        hay.iter().position(|&b| b == byte)
    }
}

#[cfg(target_pointer_width = "64")]
use words::find_line_end_short;
#[cfg(target_pointer_width = "64")]
pub(super) use words::has_nul;

/// Searches of short inputs a word at a time. They need 64-bit registers to pay; smaller targets
/// (microcontrollers, where flash is scarce) use the plain loops below, shorter code and about as
/// fast there.
#[cfg(target_pointer_width = "64")]
mod words {
    use memchr::memchr;

    use super::SHORT_SCAN;

    /// [`find_line_end`](super::find_line_end) for fewer than [`SHORT_SCAN`] bytes: the bytes
    /// are read as one or two (overlapping) words and searched together, a few instructions
    /// instead of a loop per byte.
    #[inline(always)]
    pub(super) fn find_line_end_short(hay: &[u8]) -> Option<usize> {
        find_short(hay, |w| {
            zero_bytes(w ^ splat(b'\n')) | zero_bytes(w ^ splat(b'\r'))
        })
    }

    /// Whether `value` holds a NUL byte.
    #[inline(always)]
    pub(in super::super) fn has_nul(value: &[u8]) -> bool {
        if value.len() < SHORT_SCAN {
            find_short(value, zero_bytes).is_some()
        } else {
            memchr(0, value).is_some()
        }
    }

    /// The index of the first byte of `hay` (shorter than 16 bytes) that `hits` marks: `hits`
    /// sets the high bit of each matching byte of a word, and of no byte below the first match.
    #[inline(always)]
    fn find_short(hay: &[u8], hits: impl Fn(u64) -> u64) -> Option<usize> {
        let n = hay.len();
        let first = |w: u64| match hits(w) {
            0 => None,
            found => Some(found.trailing_zeros() as usize / 8),
        };
        if n >= 8 {
            if let Some(i) = first(word(&hay[..8])) {
                return Some(i);
            }
            // The last eight bytes overlap the first eight, which hold no match.
            return first(word(&hay[n - 8..])).map(|i| i + n - 8);
        }
        if n >= 4 {
            // Bytes 0..4 in the low half, bytes n-4..n in the high half: together all of them.
            let low = u64::from(half(&hay[..4]));
            let high = u64::from(half(&hay[n - 4..]));
            return first(low | high << 32).map(|i| if i < 4 { i } else { i + n - 8 });
        }
        // Fewer than four bytes, the rest of the word masked off.
        let w = hay.iter().rev().fold(0, |w, &b| w << 8 | u64::from(b));
        let valid = (1u64 << (8 * n)) - 1;
        match hits(w) & valid {
            0 => None,
            found => Some(found.trailing_zeros() as usize / 8),
        }
    }

    /// Eight bytes as one little-endian word, so byte `i` sits in bits `8 * i..8 * i + 8`.
    #[inline(always)]
    fn word(bytes: &[u8]) -> u64 {
        let mut w = [0; 8];
        w.copy_from_slice(bytes);
        u64::from_le_bytes(w)
    }

    /// Four bytes as one little-endian word.
    #[inline(always)]
    fn half(bytes: &[u8]) -> u32 {
        let mut w = [0; 4];
        w.copy_from_slice(bytes);
        u32::from_le_bytes(w)
    }

    /// `b` in every byte of a word.
    const fn splat(b: u8) -> u64 {
        u64::from_le_bytes([b; 8])
    }

    /// The high bit of every zero byte of `w`, and possibly of bytes above the lowest zero
    /// byte, but of none below it: `w - 0x01..` borrows only upwards from a zero byte, so the
    /// lowest set bit is exact.
    #[inline(always)]
    fn zero_bytes(w: u64) -> u64 {
        w.wrapping_sub(splat(0x01)) & !w & splat(0x80)
    }
}

/// [`find_line_end`] for fewer than [`SHORT_SCAN`] bytes, one byte at a time.
#[cfg(not(target_pointer_width = "64"))]
#[inline]
fn find_line_end_short(hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == b'\n' || b == b'\r')
}

/// Whether `value` holds a NUL byte.
#[cfg(not(target_pointer_width = "64"))]
#[inline]
pub(super) fn has_nul(value: &[u8]) -> bool {
    find_byte(0, value).is_some()
}

/// The field of a whole line (not empty, without its line break) and where its value starts,
/// one leading space stripped. Only the names the parser acts on are recognised, so no search
/// for the colon is needed; an `Unknown` line's value is not located, as no one reads it.
#[cfg_attr(target_pointer_width = "64", inline(always))]
#[cfg_attr(not(target_pointer_width = "64"), inline)]
pub(super) fn classify_line(line: &[u8]) -> (Field, usize) {
    match line[0] {
        b'd' => named(line, Field::Data, b"data"),
        b'e' => named(line, Field::Event, b"event"),
        b'i' => named(line, Field::Id, b"id"),
        b'r' => named(line, Field::Retry, b"retry"),
        b':' => named(line, Field::Comment, b""),
        _ => (Field::Unknown, line.len()),
    }
}

/// [`classify_line`] for a line that may be named `name`: a constant length, so the name is
/// compared in a register or two instead of with a call to `memcmp`.
#[cfg_attr(target_pointer_width = "64", inline(always))]
#[cfg_attr(not(target_pointer_width = "64"), inline)]
fn named<const N: usize>(line: &[u8], field: Field, name: &[u8; N]) -> (Field, usize) {
    if !line.starts_with(name) {
        return (Field::Unknown, line.len());
    }
    let value_at = match line.get(N) {
        None => return (field, line.len()),
        Some(b':') => N + 1,
        Some(_) => return (Field::Unknown, line.len()),
    };
    if line.get(value_at) == Some(&b' ') {
        (field, value_at + 1)
    } else {
        (field, value_at)
    }
}

/// Whether `line` starts with `data:`, the most common line.
///
/// On 64-bit targets `starts_with`, which the compiler turns into a word compare. On smaller
/// targets built for size it stays a call to `memcmp` (116 bytes on a Cortex-M4 that the parser
/// needs for nothing else), so the bytes are compared one by one there.
#[cfg_attr(target_pointer_width = "64", inline(always))]
#[cfg_attr(not(target_pointer_width = "64"), inline)]
pub(super) fn is_data_line(line: &[u8]) -> bool {
    #[cfg(target_pointer_width = "64")]
    {
        line.starts_with(b"data:")
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        matches!(line, [b'd', b'a', b't', b'a', b':', ..])
    }
}

/// Splits a whole line into its field and the offset where the value starts.
#[inline]
pub(super) fn split_line(line: &[u8]) -> (Field, usize) {
    let (field, colon) = if is_data_line(line) {
        (Field::Data, 4)
    } else if line[0] == b':' {
        (Field::Comment, 0)
    } else {
        match find_byte(b':', line) {
            Some(colon) => (field_named(&line[..colon]), colon),
            None => return (field_named(line), line.len()),
        }
    };
    let value_at = colon + 1;
    if line.get(value_at) == Some(&b' ') {
        (field, value_at + 1)
    } else {
        (field, value_at)
    }
}

#[inline]
fn field_named(name: &[u8]) -> Field {
    match name {
        b"data" => Field::Data,
        b"event" => Field::Event,
        b"id" => Field::Id,
        b"retry" => Field::Retry,
        _ => Field::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word search agrees with a plain scan for every length below `SHORT_SCAN`, every
    /// position of the first line end, and neighbours that could fool a borrow (0x00, 0x0B,
    /// 0x0C, 0x0E, 0x80, 0xFF).
    #[test]
    fn short_scan_finds_the_first_line_end() {
        let fillers = [b'a', 0x00, 0x0B, 0x0C, 0x0E, 0x80, 0xFF];
        for len in 0..SHORT_SCAN {
            for filler in fillers {
                for first in 0..=len {
                    for (eol, later) in [(b'\n', b'\r'), (b'\r', b'\n'), (b'\n', b'\n')] {
                        let mut hay = [filler; SHORT_SCAN];
                        let hay = &mut hay[..len];
                        if first < len {
                            hay[first] = eol;
                            for b in hay.iter_mut().skip(first + 1).step_by(3) {
                                *b = later;
                            }
                        }
                        let want = hay.iter().position(|&b| b == b'\n' || b == b'\r');
                        assert_eq!(find_line_end_short(hay), want, "{hay:?}");
                        assert_eq!(find_line_end(hay), want, "{hay:?}");
                    }
                }
            }
        }
    }

    /// For every line built from name-like pieces, the colon-free classification agrees with
    /// `split_line` on the field, and on the value's start for every field but `Unknown`.
    #[test]
    fn classify_line_agrees_with_split_line() {
        let pieces: [&[u8]; 12] = [
            b"data", b"event", b"id", b"retry", b":", b" ", b"x", b"d", b"ev", b"a", b"::", b"\xEF",
        ];
        let mut line = [0u8; 24];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let len = a.len() + b.len() + c.len();
                    line[..a.len()].copy_from_slice(a);
                    line[a.len()..a.len() + b.len()].copy_from_slice(b);
                    line[a.len() + b.len()..len].copy_from_slice(c);
                    let line = &line[..len];
                    let (field, at) = classify_line(line);
                    let (want_field, want_at) = split_line(line);
                    assert_eq!(field, want_field, "{line:?}");
                    if field != Field::Unknown {
                        assert_eq!(at, want_at, "{line:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn has_nul_finds_a_nul_anywhere() {
        for len in 0..40 {
            let mut value = [b'\x01'; 40];
            assert!(!has_nul(&value[..len]));
            for at in 0..len {
                value = [0x80; 40];
                value[at] = 0;
                assert!(has_nul(&value[..len]), "{len} {at}");
            }
        }
    }
}
