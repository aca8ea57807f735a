//! Owned events, for applications with an allocator that keep events past the next input.

use alloc::string::String;

use super::Event;

/// An [`Event`] that owns its text, so it can outlive the parser's buffer and the input.
///
/// # Examples
///
/// ```
/// use sansse::parse::{OwnedEvent, Output, Parser};
///
/// let mut parser = Parser::<[u8; 256]>::new();
/// let mut kept: Vec<OwnedEvent> = Vec::new();
/// let mut feed = parser.feed(b"id: 1\ndata: a\n\ndata: b\n\n");
/// while let Some(Ok(Output::Event(event))) = feed.next() {
///     kept.push(event.into_owned());
/// }
/// drop(feed);
/// assert_eq!(kept[1], OwnedEvent { event_type: "message".into(), data: "b".into(), id: "1".into() });
/// ```
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct OwnedEvent {
    /// The event type, `message` when the block set none.
    pub event_type: String,
    /// The data.
    pub data: String,
    /// The last event ID in effect when the event was dispatched.
    pub id: String,
}

impl Event<'_> {
    /// Copies the event's text into an [`OwnedEvent`].
    pub fn into_owned(self) -> OwnedEvent {
        OwnedEvent {
            event_type: self.event_type().into(),
            data: self.data().into(),
            id: self.id().into(),
        }
    }
}

impl From<Event<'_>> for OwnedEvent {
    fn from(event: Event<'_>) -> Self {
        event.into_owned()
    }
}
