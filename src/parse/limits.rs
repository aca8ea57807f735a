//! [`Limits`]: how the parser's one buffer is divided. A leaf; the layout it implies is applied
//! by `State::new` in `regions.rs`.

#[cfg(doc)]
use super::error::ParseError;
#[cfg(doc)]
use crate::BufferTooSmall;

/// Room after the comment region so the last character before the cut is seen whole and
/// truncation does not depend on chunking.
const COMMENT_LOOKAHEAD: usize = 3;

/// How the parser's buffer is divided.
///
/// The data region gets whatever the other limits leave. Build one with [`Limits::for_capacity`]
/// and adjust fields, then pass it to [`Parser::with_limits`](super::Parser::with_limits).
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
    /// [`Parser::with_limits`]: super::Parser::with_limits
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
    ///
    /// [`State::new`]: super::state::State::new
    pub(super) const fn comment_region(&self) -> usize {
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
