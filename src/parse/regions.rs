//! How the parser's one buffer, fixed at construction, is cut into regions:
//!
//! ```text
//! [ id slot 0 | id slot 1 | id slot 2 | event type | comment (+3) | data ............ ]
//! ```
//!
//! Three id slots are enough for the ids that must outlive an input at once: the committed last
//! event ID, the pending one set by an `id` line of the event being read (committed only when the
//! event is dispatched, so an id from an event cut off by a disconnect is never committed), and an
//! `id` line still arriving in pieces (kept apart because a NUL in its last piece means the whole
//! line is ignored).
//!
//! [`Limits`] size the regions; [`Limits::reserved`] is their checked sum. The state's region
//! offsets are set once here, and the copies into the regions that outlive an input (the spill at
//! its end, the id slots) live here too.

use super::engine::{Loc, Span, State};
use super::error::ParseError;
use super::tokenizer::Tokenizer;
use super::utf8::text;

#[cfg(doc)]
use super::parser::Parser;
#[cfg(doc)]
use crate::BufferTooSmall;

/// Room after the comment region so the last character before the cut is seen whole and
/// truncation does not depend on chunking.
const COMMENT_LOOKAHEAD: usize = 3;

/// How the parser's buffer is divided.
///
/// The data region gets whatever the other limits leave. Build one with [`Limits::for_capacity`]
/// and adjust fields, then pass it to [`Parser::with_limits`].
///
/// # Examples
///
/// ```
/// use sansse::parse::Limits;
///
/// let limits = Limits { max_id_len: 128, ..Limits::for_capacity(8192) };
/// assert_eq!(limits.reserved(), 3 * 128 + 32 + 64 + 3);
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Limits {
    /// The longest `id` value accepted, in decoded bytes. Longer ids skip their event with
    /// [`ParseError::IdTooLong`].
    pub max_id_len: usize,
    /// The longest `event` value accepted, in decoded bytes. Longer types skip their event with
    /// [`ParseError::EventTypeTooLong`].
    pub max_event_type_len: usize,
    /// Comments longer than this (decoded) are delivered cut to this length, at a character
    /// boundary. Comments carry no data; this only bounds what is offered for inspection.
    pub max_comment_len: usize,
}

impl Limits {
    /// Limits scaled to a buffer of `capacity` bytes: ids up to 64 bytes, event types up to 32,
    /// comments up to 64, each smaller for buffers under 512 bytes.
    pub const fn for_capacity(capacity: usize) -> Self {
        Self {
            max_id_len: min(64, capacity / 8),
            max_event_type_len: min(32, capacity / 16),
            max_comment_len: min(64, capacity / 16),
        }
    }

    /// Bytes of the buffer these limits take before the data region.
    ///
    /// Saturates at `usize::MAX` when the sum does not fit in a `usize`. No buffer is that large
    /// (a slice holds at most `isize::MAX` bytes), so [`Parser::with_limits`] refuses such limits
    /// with [`BufferTooSmall`] and `needed: usize::MAX`, whatever the buffer.
    ///
    /// ```
    /// use sansse::parse::Limits;
    ///
    /// let huge = Limits { max_id_len: usize::MAX / 3 + 1, ..Limits::for_capacity(64) };
    /// assert_eq!(huge.reserved(), usize::MAX);
    /// ```
    pub const fn reserved(&self) -> usize {
        // `?` is not allowed in a `const fn`; each step is written out.
        let Some(ids) = self.max_id_len.checked_mul(3) else {
            return usize::MAX;
        };
        let Some(before_comment) = ids.checked_add(self.max_event_type_len) else {
            return usize::MAX;
        };
        let Some(comment) = self.max_comment_len.checked_add(COMMENT_LOOKAHEAD) else {
            return usize::MAX;
        };
        let comment = if self.max_comment_len == 0 {
            0
        } else {
            comment
        };
        match before_comment.checked_add(comment) {
            Some(reserved) => reserved,
            None => usize::MAX,
        }
    }

    /// The comment region keeps a few bytes past the limit so the character at the cut is seen
    /// whole and truncation does not depend on chunking. Unchecked, like [`State::new`]: only
    /// for limits whose [`Limits::reserved`] is known to fit a buffer.
    const fn comment_region(&self) -> usize {
        if self.max_comment_len == 0 {
            0
        } else {
            self.max_comment_len + COMMENT_LOOKAHEAD
        }
    }
}

pub(super) const fn min(a: usize, b: usize) -> usize {
    if a < b { a } else { b }
}

impl State {
    /// The state for `limits` over a buffer of `capacity` bytes.
    ///
    /// The sums here are unchecked because they cannot overflow: the constructors pass only
    /// limits that fit the buffer, checked with [`Limits::reserved`] in [`Parser::with_limits`]
    /// and small by construction in [`Limits::for_capacity`]. They stay plain arithmetic on
    /// purpose: this is inlined into every caller's constructor, and checked sums here cost
    /// 1-2 % more instructions in the parse loops next to it (callgrind, `benches/callgrind.sh`).
    pub(super) const fn new(limits: Limits, capacity: usize) -> Self {
        let type_at = 3 * limits.max_id_len;
        let comment_at = type_at + limits.max_event_type_len;
        let data_at = comment_at + limits.comment_region();
        let data_at = min(data_at, capacity);
        Self {
            tokenizer: Tokenizer::new(),
            limits,
            type_at,
            comment_at,
            data_at,
            data_cap: capacity - data_at,
            committed: Loc::EMPTY,
            pending: None,
            id_line: None,
            event_type: Span::None,
            type_too_long: false,
            data: Span::None,
            comment_len: 0,
            retry: Some(0),
            retry_digits: false,
            skipping: false,
            borrows: false,
        }
    }

    /// Copies every range of `input` that must outlive it into the buffer.
    ///
    /// It runs at the end of every input, twice (the feed's end and its drop), and usually has
    /// nothing to copy: the check stays inline and the copying out of line, so small inputs do
    /// not pay for a large function's prologue.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    pub(super) fn spill(&mut self, buf: &mut [u8], input: &[u8]) {
        debug_assert!(
            self.borrows
                || !(matches!(self.data, Span::Input(..))
                    || matches!(self.event_type, Span::Input(..))
                    || matches!(self.pending, Some(Loc::Input(..)))),
            "a range of the input is kept without the flag that spills it"
        );
        if self.borrows {
            self.spill_borrowed(buf, input);
        }
    }

    #[inline(never)]
    fn spill_borrowed(&mut self, buf: &mut [u8], input: &[u8]) {
        self.borrows = false;
        if let Span::Input(s, e) = self.data {
            let region = &mut buf[self.data_at..];
            region[..e - s].copy_from_slice(&input[s..e]);
            region[e - s] = b'\n';
            self.data = Span::Buf(e - s + 1);
        }
        if let Span::Input(s, e) = self.event_type {
            buf[self.type_at..self.type_at + e - s].copy_from_slice(&input[s..e]);
            self.event_type = Span::Buf(e - s);
        }
        if let Some(Loc::Input(s, e)) = self.pending {
            self.pending = Some(self.copy_id(buf, &input[s..e]));
        }
    }

    /// Copies an id (known to fit and be valid) into a free slot.
    pub(super) fn copy_id(&self, buf: &mut [u8], id: &[u8]) -> Loc {
        let at = self.free_slot() * self.limits.max_id_len;
        buf[at..at + id.len()].copy_from_slice(id);
        Loc::Buf(at, at + id.len())
    }

    pub(super) fn set_last_event_id(&mut self, buf: &mut [u8], id: &str) -> Result<(), ParseError> {
        let max = self.limits.max_id_len;
        if id.len() > max {
            return Err(ParseError::IdTooLong { max });
        }
        // The pending id, if any, wins at the next dispatch, as an `id` line would.
        let loc = self.copy_id(buf, id.as_bytes());
        self.committed = loc;
        Ok(())
    }

    pub(super) fn committed_id<'a>(&self, buf: &'a [u8]) -> &'a str {
        text(self.committed.resolve(buf, &[]))
    }

    /// An id slot used by neither the committed id, the pending id nor an id line in progress.
    pub(super) fn free_slot(&self) -> usize {
        let max = self.limits.max_id_len;
        // A bit per slot in use; slots start at multiples of `max`, so no division is needed.
        let bit_of = |loc: Option<Loc>| match loc {
            Some(Loc::Buf(s, _)) if s < self.type_at => {
                if s < max {
                    1
                } else if s < 2 * max {
                    2
                } else {
                    4
                }
            }
            _ => 0,
        };
        let used: u32 = bit_of(Some(self.committed))
            | bit_of(self.pending)
            | self.id_line.map_or(0, |l| 1 << l.slot);
        match (!used).trailing_zeros() {
            slot @ 0..3 => slot as usize,
            _ => 0,
        }
    }
}
