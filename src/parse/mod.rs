//! text/event-stream decoding (being written).

/// Placeholder.
pub struct Parser;
/// Placeholder.
pub struct Event;
/// Placeholder.
pub struct ParseError;
