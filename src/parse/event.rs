//! The public outputs of the parser: [`Output`] and the [`Event`] it carries. A leaf, so the
//! engine that builds them does not depend on the [`Parser`](super::Parser) that hands them out.

/// A dispatched event, borrowed from the input or from the parser's buffer.
///
/// All text is valid UTF-8: invalid sequences in the stream read as U+FFFD.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Event<'a> {
    pub(super) event_type: &'a str,
    pub(super) data: &'a str,
    pub(super) id: &'a str,
}

impl<'a> Event<'a> {
    /// Creates an event; an empty `event_type` means `message`. Mostly useful in tests.
    pub const fn new(event_type: &'a str, data: &'a str, id: &'a str) -> Self {
        Self {
            event_type,
            data,
            id,
        }
    }

    /// The event type: the last `event` value of the block, or `message` when there was none.
    pub fn event_type(&self) -> &'a str {
        if self.event_type.is_empty() {
            "message"
        } else {
            self.event_type
        }
    }

    /// Whether the block set an event type (an `event` line with a non-empty value).
    pub fn has_event_type(&self) -> bool {
        !self.event_type.is_empty()
    }

    /// The data: every `data` value of the block joined by line feeds.
    pub fn data(&self) -> &'a str {
        self.data
    }

    /// The last event ID in effect when the event was dispatched (`""` if none): the `id` of this
    /// block, or of an earlier one.
    pub fn id(&self) -> &'a str {
        self.id
    }
}

/// Something the parser found, in stream order.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Output<'a> {
    /// A complete event was dispatched.
    Event(Event<'a>),
    /// A valid `retry` field set the reconnection time to this many milliseconds (saturating at
    /// `u64::MAX`). The spec applies it at once, even inside an event that is later dropped.
    Retry(u64),
    /// A comment line, without the leading colon and one optional space. The spec ignores
    /// comments; they are offered for keep-alive handling.
    Comment(&'a str),
}
