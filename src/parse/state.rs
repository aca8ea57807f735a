//! The state the parser keeps apart from its buffer, and the small types it is made of. This is
//! the bottom layer of the parser's files: the methods of [`State`] are spread by concern over
//! `engine.rs` (the loop), `fields.rs` (the field handlers) and `regions.rs` (the buffer's
//! layout), which import it from here and never from each other or from `parser.rs`.

use super::limits::Limits;
use super::tokenizer::Tokenizer;

/// Where a piece of text lies: in the current input or in the parser's buffer.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(super) enum Loc {
    Input(usize, usize),
    Buf(usize, usize),
}

impl Loc {
    pub(super) const EMPTY: Self = Self::Buf(0, 0);

    pub(super) fn resolve<'a>(self, buf: &'a [u8], input: &'a [u8]) -> &'a [u8] {
        match self {
            Self::Input(s, e) => &input[s..e],
            Self::Buf(s, e) => &buf[s..e],
        }
    }
}

/// What a field handler found, located but not yet borrowed.
#[derive(Clone, Copy, Debug)]
pub(super) enum RawOutput {
    Retry(u64),
    Comment(Loc),
}

/// A piece of a field's value, `input[start..end]`, with where it lies in its line.
#[derive(Clone, Copy, Debug)]
pub(super) struct Piece {
    pub(super) start: usize,
    pub(super) end: usize,
    /// It starts the value.
    pub(super) first: bool,
    /// It ends the line.
    pub(super) last: bool,
}

/// A value being assembled: nothing yet, a range of the current input, or `len` bytes at the
/// start of its region. Whether a value is already past its limit is kept beside it
/// ([`State::type_too_long`], [`IdLine::too_long`]).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(super) enum Span {
    None,
    Input(usize, usize),
    Buf(usize),
}

/// Everything the parser keeps apart from its buffer: the tokenizer, where the regions start,
/// and the event being assembled. The buffer is passed in by [`Parser`], so this code is compiled
/// once whatever the buffer's type. Its methods are spread by concern: the loop here, the field
/// handlers in `fields.rs`, the layout and the copies into the regions in `regions.rs`.
///
/// [`Parser`]: super::Parser
#[derive(Clone, Debug)]
pub(super) struct State {
    pub(super) tokenizer: Tokenizer,
    pub(super) limits: Limits,
    /// Start of the type, comment and data regions.
    pub(super) type_at: usize,
    pub(super) comment_at: usize,
    pub(super) data_at: usize,
    pub(super) data_cap: usize,
    /// The last event ID string, always in an id slot.
    pub(super) committed: Loc,
    /// Set by an `id` line of the block being read; `None` means "same as committed".
    pub(super) pending: Option<Loc>,
    pub(super) id_line: Option<IdLine>,
    pub(super) event_type: Span,
    pub(super) type_too_long: bool,
    pub(super) data: Span,
    /// Raw comment bytes kept so far (at most the comment region).
    pub(super) comment_len: usize,
    /// Digits of a `retry` line so far; `None` once a non-digit was seen.
    pub(super) retry: Option<u64>,
    pub(super) retry_digits: bool,
    /// The block overflowed a limit: ignore it up to the next blank line, except its `id`
    /// lines, which still set the id the block commits (see `dispatch`).
    pub(super) skipping: bool,
    /// The data, the event type or the pending id may be a range of the current input, so the
    /// end of the input must copy them: one flag to test per input instead of three.
    pub(super) borrows: bool,
}

/// An `id` line arriving in pieces, written raw into an id slot.
#[derive(Clone, Copy, Debug)]
pub(super) struct IdLine {
    pub(super) slot: usize,
    pub(super) len: usize,
    pub(super) nul: bool,
    pub(super) too_long: bool,
}
