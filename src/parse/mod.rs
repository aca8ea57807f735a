//! `text/event-stream` decoding, exactly as WHATWG HTML §9.2.6 "Interpreting an event stream".
//!
//! Two layers:
//!
//! - [`Tokenizer`] splits lines (LF, CR, CRLF, also across input boundaries), strips one leading
//!   BOM and hands out field fragments in constant memory. Use it to consume events larger than
//!   any buffer, piece by piece.
//! - [`Parser`] assembles fragments into [`Event`]s in a buffer fixed at construction. A field
//!   that lies whole in the current input is borrowed from it, not copied. An event larger than
//!   the buffer is skipped up to the next blank line and reported as a [`ParseError`]; parsing
//!   continues in sync, and the skipped block's `id` is still committed as the last event ID,
//!   so a reconnecting client resumes after the event instead of being sent it again.
//!
//! Where the crate adds to the spec: the opt-in [`Parser::finish`] dispatches an unterminated last
//! event (the spec discards it), and comments are offered as [`Output::Comment`] (the spec
//! ignores them) so the keep-alive announcement can be read.

mod engine;
mod error;
mod fields;
#[cfg(feature = "alloc")]
mod owned;
mod parser;
mod regions;
mod text;
mod tokenizer;
mod utf8;

pub(crate) use engine::{Found, FoundEvent};
pub use error::ParseError;
#[cfg(feature = "alloc")]
pub use owned::OwnedEvent;
pub use parser::{DEFAULT_CAPACITY, Event, Feed, Output, Parser};
pub use regions::Limits;
pub use tokenizer::{Field, Fragment, Token, Tokenizer, Tokens};
pub(crate) use utf8::Utf8Window;
