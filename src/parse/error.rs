//! Errors the parser reports while it keeps going.

use core::fmt;

#[cfg(doc)]
use super::parser::Parser;

/// Why the parser skipped an event.
///
/// Every variant means the same recovery: the event block being read is dropped, fields up to the
/// next blank line are ignored (a `retry` line in it still counts, as the spec applies it
/// at once), and parsing continues in sync with the stream.
///
/// The block's `id` lines are still read, and when the block ends its last one is committed as
/// the last event ID, as the spec's dispatch would, so a client resumes *after* the event it
/// could not hold rather than being sent it again on every reconnect (a livelock on a stream
/// that ends after it). Read [`Parser::last_event_id`](crate::Parser::last_event_id) once the
/// block has ended for the skipped event's id (the error comes when the overflow is found,
/// possibly before the block's `id` line). An id longer than
/// [`Limits::max_id_len`](crate::parse::Limits::max_id_len) cannot be kept: a block whose last
/// `id` line is too long leaves the last event ID as it was.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum ParseError {
    /// The event's data (every `data` line plus one line feed each, decoded) exceeds the buffer.
    EventTooLarge {
        /// The data capacity in bytes.
        capacity: usize,
    },
    /// An `id` value, decoded, is longer than the configured maximum.
    IdTooLong {
        /// The maximum id length in bytes.
        max: usize,
    },
    /// An `event` value, decoded, is longer than the configured maximum.
    EventTypeTooLong {
        /// The maximum event type length in bytes.
        max: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EventTooLarge { capacity } => {
                write!(f, "event data exceeds {capacity} bytes; event skipped")
            }
            Self::IdTooLong { max } => write!(f, "event id exceeds {max} bytes; event skipped"),
            Self::EventTypeTooLong { max } => {
                write!(f, "event type exceeds {max} bytes; event skipped")
            }
        }
    }
}

impl core::error::Error for ParseError {}
