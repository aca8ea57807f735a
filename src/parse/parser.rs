//! The event assembler: whole events from the tokenizer's fragments, in bounded memory.
//!
//! One buffer, fixed at construction, is cut into regions:
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
//! Zero-copy: a field that lies whole in the current input is recorded as a range of that input
//! and borrowed by the event handed out. Only what must outlive the input is copied ("spilled")
//! into the buffer when the input is exhausted or the [`Feed`] is dropped.
//!
//! Every limit is checked against the logical (decoded) length of a field, never against where
//! the input happened to be split, so chunking cannot change which events are delivered.
//!
//! Speed: `benches/README.md` has the measurements behind the shape of the engine. Helpers on
//! the hot path are forced inline on 64-bit targets only, where that pays; on microcontrollers
//! the compiler decides, which keeps the firmware build small (`benches/footprint.sh`).

use core::str;

use memchr::memchr;

use super::error::ParseError;
use super::text::{fitting_prefix, lossy_copy, lossy_in_place, lossy_len};
use super::tokenizer::{Field, Line, RawToken, Tokenizer, classify_line, find_line_end, has_nul};

/// The default buffer size of [`Parser::new`] when the type is written `Parser` alone.
pub const DEFAULT_CAPACITY: usize = 4096;

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
        match self.regions() {
            Some(regions) => regions.data_at,
            None => usize::MAX,
        }
    }

    /// Where each region starts, or `None` when the sum of the limits overflows a `usize`.
    const fn regions(&self) -> Option<Regions> {
        // `?` is not allowed in a `const fn`; each step is written out.
        let Some(type_at) = self.max_id_len.checked_mul(3) else {
            return None;
        };
        let Some(comment_at) = type_at.checked_add(self.max_event_type_len) else {
            return None;
        };
        let Some(comment_region) = self.comment_region() else {
            return None;
        };
        let Some(data_at) = comment_at.checked_add(comment_region) else {
            return None;
        };
        Some(Regions {
            type_at,
            comment_at,
            data_at,
        })
    }

    /// The comment region keeps a few bytes past the limit so the character at the cut is seen
    /// whole and truncation does not depend on chunking; `None` when that overflows.
    const fn comment_region(&self) -> Option<usize> {
        if self.max_comment_len == 0 {
            Some(0)
        } else {
            self.max_comment_len.checked_add(COMMENT_LOOKAHEAD)
        }
    }
}

/// The start of each region of the buffer after the three id slots, as [`Limits`] lay it out.
#[derive(Clone, Copy, Debug)]
struct Regions {
    type_at: usize,
    comment_at: usize,
    data_at: usize,
}

/// The buffer given to [`Parser::with_limits`] cannot hold the reserved regions.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct BufferTooSmall {
    /// The smallest buffer these limits need.
    pub needed: usize,
}

impl core::fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "parser buffer too small: limits need {} bytes",
            self.needed
        )
    }
}

impl core::error::Error for BufferTooSmall {}

/// A dispatched event, borrowed from the input or from the parser's buffer.
///
/// All text is valid UTF-8: invalid sequences in the stream read as U+FFFD.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Event<'a> {
    event_type: &'a str,
    data: &'a str,
    id: &'a str,
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

/// An incremental, bounded, zero-copy `text/event-stream` parser.
///
/// `B` is the buffer: an array (`Parser::<[u8; 1024]>::new()`) or a lent slice
/// (`Parser::with_buffer(&mut storage[..])`). Memory never grows with the input.
///
/// # Examples
///
/// ```
/// use sansse::parse::{Output, Parser};
///
/// let mut parser = Parser::<[u8; 1024]>::new();
/// let mut seen = Vec::new();
/// for chunk in [&b"id: 7\nevent: greet\ndata: hel"[..], b"lo\r\n\r\nretry: 500\n"] {
///     let mut feed = parser.feed(chunk);
///     while let Some(out) = feed.next() {
///         match out {
///             Ok(Output::Event(e)) => seen.push(format!("{} {} {}", e.event_type(), e.id(), e.data())),
///             Ok(Output::Retry(ms)) => seen.push(format!("retry {ms}")),
///             Ok(_) => {}
///             Err(e) => seen.push(format!("error {e}")),
///         }
///     }
/// }
/// assert_eq!(seen, ["greet 7 hello", "retry 500"]);
/// assert_eq!(parser.last_event_id(), "7");
/// ```
#[derive(Clone, Debug)]
// On small targets the buffer goes first: built in place (`MaybeUninit::write(Parser::new())`
// into a static, as firmware does), the zeroed buffer is then one memset of the destination,
// where the default layout made the compiler build the whole parser in a stack temporary the
// size of the buffer and copy it. On 64-bit hosts the default layout is a little faster.
#[cfg_attr(not(target_pointer_width = "64"), repr(C))]
pub struct Parser<B = [u8; DEFAULT_CAPACITY]> {
    buf: B,
    state: State,
}

impl<const N: usize> Parser<[u8; N]> {
    /// Creates a parser that owns an `N`-byte buffer, with [`Limits::for_capacity`]`(N)`.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            state: State::new(Limits::for_capacity(N), N),
        }
    }
}

impl<const N: usize> Default for Parser<[u8; N]> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Parser<B> {
    /// Creates a parser over a buffer the caller provides, with [`Limits::for_capacity`].
    pub fn with_buffer(buf: B) -> Self {
        let len = buf.as_ref().len();
        Self {
            buf,
            state: State::new(Limits::for_capacity(len), len),
        }
    }

    /// Creates a parser with explicit limits.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] when the buffer cannot hold the regions the limits reserve
    /// ([`Limits::reserved`]), with `needed: usize::MAX` when their sum overflows a `usize`.
    pub fn with_limits(buf: B, limits: Limits) -> Result<Self, BufferTooSmall> {
        let len = buf.as_ref().len();
        // Every offset the parser computes later lies inside the buffer once this holds, so the
        // check must not wrap: `reserved` saturates where the plain sum would.
        let needed = limits.reserved();
        if needed > len {
            return Err(BufferTooSmall { needed });
        }
        Ok(Self {
            buf,
            state: State::new(limits, len),
        })
    }

    /// Starts parsing `input`, the next bytes of the stream.
    ///
    /// Drain the returned [`Feed`] with [`Feed::next`] until it returns `None`: only then is the
    /// whole input consumed. Dropping it earlier is allowed; the bytes it did not reach
    /// ([`Feed::remaining`]) must then be fed again.
    pub fn feed<'p, 'i>(&'p mut self, input: &'i [u8]) -> Feed<'p, 'i, B> {
        Feed {
            parser: self,
            input,
            pos: 0,
            utf8: Utf8Window::EMPTY,
        }
    }

    /// Ends the stream as if it had ended with a blank line, so a final unterminated event is
    /// dispatched. Drain the returned [`Feed`] as usual.
    ///
    /// The spec says to discard such an event: use this only for one-shot bodies (a file, a
    /// finished HTTP response) where you know the peer meant it. For a live stream that broke,
    /// call [`Parser::reset`] instead.
    pub fn finish(&mut self) -> Feed<'_, 'static, B> {
        self.state.tokenizer.clear_pending_cr();
        let eol: &'static [u8] = if self.state.tokenizer.at_line_start() {
            b"\n"
        } else {
            b"\n\n"
        };
        self.feed(eol)
    }

    /// Starts a new stream (after a reconnect): drops any partial line and event, and checks for
    /// a BOM again. The last event ID is kept, as the spec keeps it across reconnections.
    pub fn reset(&mut self) {
        self.state.reset();
    }

    /// Sets the last event ID, for example one persisted before a restart.
    ///
    /// # Errors
    ///
    /// [`ParseError::IdTooLong`] when `id` is longer than [`Limits::max_id_len`].
    pub fn set_last_event_id(&mut self, id: &str) -> Result<(), ParseError> {
        self.state.set_last_event_id(self.buf.as_mut(), id)
    }

    /// The last event ID: the `id` of the last dispatched event block that had one, `""` if none.
    ///
    /// This is the value to send as `Last-Event-ID` when reconnecting.
    pub fn last_event_id(&self) -> &str {
        self.state.committed_id(self.buf.as_ref())
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.state.limits
    }

    /// The largest event data accepted, counting one line feed per `data` line.
    pub fn data_capacity(&self) -> usize {
        self.state.data_cap
    }

    /// The next output of `input[*pos..]`, advancing `*pos`; the engine behind [`Feed::next`]
    /// for callers (the client session) that keep the input and position themselves. They must
    /// call [`Parser::release_input`] before `input` goes away if they stop before `None`.
    // Forced inline: its first lines are the fast path for small inputs, meant to run in the
    // caller's loop; the rest is one call.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    pub(crate) fn next_output<'a, 'i: 'a>(
        &'a mut self,
        input: &'i [u8],
        pos: &mut usize,
        utf8: &mut Utf8Window<'i>,
    ) -> Option<Result<Output<'a>, ParseError>> {
        let buf = self.buf.as_mut();
        // Inline in the caller's loop: the rest of a `data` line begun in an earlier input, the
        // common start of an input when a stream arrives in small pieces, costs no call. It is
        // left out on smaller targets, where it would cost close to a kilobyte of flash at every
        // call site.
        #[cfg(target_pointer_width = "64")]
        if let Some(done) = self.state.continue_data(buf, input, pos) {
            return done.err().map(Err);
        }
        self.state.next_output(buf, input, pos, utf8)
    }

    /// Copies what still borrows `input` into the buffer, so `input` may be dropped.
    pub(crate) fn release_input(&mut self, input: &[u8]) {
        self.state.spill(self.buf.as_mut(), input);
    }

    /// Advances to the next output of `input[*pos..]` without borrowing it yet.
    ///
    /// For callers (the client session) that keep the input and position themselves and loop
    /// over several inputs: an output that borrows the parser cannot be returned from such a
    /// loop, but a [`Found`] can, and [`Parser::resolve_event`] borrows it afterwards. A found
    /// event's id is committed only when it is resolved. Callers must call
    /// [`Parser::release_input`] before `input` goes away if they stop before `None`, and keep
    /// one `utf8` window per input.
    pub(crate) fn next_found<'i>(
        &mut self,
        input: &'i [u8],
        pos: &mut usize,
        utf8: &mut Utf8Window<'i>,
    ) -> Option<Result<Found, ParseError>> {
        let buf = self.buf.as_mut();
        self.state.find(buf, input, pos, utf8)
    }

    /// Borrows a found event from `input` (the one given to [`Parser::next_found`]) and the
    /// buffer, and commits its id.
    ///
    /// # Errors
    ///
    /// [`ParseError::EventTooLarge`] when data that is not valid UTF-8 no longer fits once its
    /// invalid sequences are replaced; the event is dropped whole, its id with it.
    pub(crate) fn resolve_event<'a, 'i: 'a>(
        &'a mut self,
        input: &'i [u8],
        found: FoundEvent,
        utf8: &mut Utf8Window<'i>,
    ) -> Result<Event<'a>, ParseError> {
        let buf = self.buf.as_mut();
        self.state.deliver(buf, input, utf8, found.0)
    }

    /// Borrows a found comment's text from `input` (the one given to [`Parser::next_found`]) or
    /// the buffer.
    pub(crate) fn resolve_comment<'a, 'i: 'a>(
        &'a self,
        input: &'i [u8],
        found: FoundComment,
        utf8: &mut Utf8Window<'i>,
    ) -> &'a str {
        resolve_text(found.0, self.buf.as_ref(), input, utf8)
    }
}

/// The outputs of one input; see [`Parser::feed`].
///
/// It is a lending iterator: each output borrows the feed, so take what you need from it before
/// calling [`Feed::next`] again.
#[derive(Debug)]
pub struct Feed<'p, 'i, B: AsRef<[u8]> + AsMut<[u8]>> {
    parser: &'p mut Parser<B>,
    input: &'i [u8],
    pos: usize,
    utf8: Utf8Window<'i>,
}

impl<'i, B: AsRef<[u8]> + AsMut<[u8]>> Feed<'_, 'i, B> {
    /// The next output, `None` once the input is consumed.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] reports an event that was skipped; the parser has already recovered and
    /// the next call continues with the stream.
    #[allow(clippy::should_implement_trait)] // Outputs borrow the feed: not an `Iterator`.
    #[inline]
    pub fn next(&mut self) -> Option<Result<Output<'_>, ParseError>> {
        self.parser
            .next_output(self.input, &mut self.pos, &mut self.utf8)
    }

    /// The bytes of this input the feed has not consumed yet.
    pub fn remaining(&self) -> &'i [u8] {
        &self.input[self.pos..]
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Drop for Feed<'_, '_, B> {
    fn drop(&mut self) {
        // Ranges of this input must not outlive it.
        self.parser.release_input(self.input);
    }
}

/// Bytes already checked to be UTF-8; the fallback is unreachable.
fn text(bytes: &[u8]) -> &str {
    str::from_utf8(bytes).unwrap_or_default()
}

/// Text already checked to be UTF-8, from the input (through its window) or the buffer.
#[cfg_attr(target_pointer_width = "64", inline(always))]
#[cfg_attr(not(target_pointer_width = "64"), inline)]
fn resolve_text<'a, 'i: 'a>(
    loc: Loc,
    buf: &'a [u8],
    input: &'i [u8],
    utf8: &mut Utf8Window<'i>,
) -> &'a str {
    match loc {
        Loc::Input(s, e) => utf8.text_field(input, s, e).unwrap_or_default(),
        Loc::Buf(s, e) if s == e => "",
        Loc::Buf(s, e) => text(&buf[s..e]),
    }
}

/// How many bytes of input [`Utf8Window`] validates at once: large enough that the per-call
/// cost of `str::from_utf8` vanishes on small events, small enough that little is validated in
/// vain when the lines after a field end up copied into the buffer (a large multi-line event),
/// or when a feed is dropped early and fed again.
const UTF8_WINDOW: usize = 4 * 1024;

/// A stretch of the input already validated as UTF-8, so that the many short fields inside it
/// become `&str` by slicing (which checks only the two ends) instead of each being validated
/// with its own call. Windows only move forwards: a field before the window (the committed id of
/// an earlier event) is validated on its own, so it cannot make the window thrash.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Utf8Window<'i> {
    start: usize,
    text: &'i str,
}

impl<'i> Utf8Window<'i> {
    pub(crate) const EMPTY: Self = Self { start: 0, text: "" };

    /// `input[s..e]` as text, or `None` when it is not valid UTF-8.
    // Forced inline: inside the window it is a few comparisons, paid for every borrowed field.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    fn text(&mut self, input: &'i [u8], s: usize, e: usize) -> Option<&'i str> {
        if s >= self.start && e <= self.start + self.text.len() {
            return self.text.get(s - self.start..e - self.start);
        }
        self.refill(input, s, e)
    }

    /// Like [`Utf8Window::text`], for a short field (an id, an event type, a comment) that is
    /// validated alone when it lies outside the window: moving the window there would validate
    /// kilobytes of what follows, in vain when that is a large event whose lines are copied.
    #[inline]
    fn text_field(&mut self, input: &'i [u8], s: usize, e: usize) -> Option<&'i str> {
        if s >= self.start && e <= self.start + self.text.len() {
            return self.text.get(s - self.start..e - self.start);
        }
        alone(&input[s..e])
    }

    /// [`Utf8Window::text`] outside the window: validates the field alone when it lies before
    /// the window, else moves the window to start at the field.
    #[inline(never)]
    fn refill(&mut self, input: &'i [u8], s: usize, e: usize) -> Option<&'i str> {
        if s < self.start {
            return alone(&input[s..e]);
        }
        let bytes = &input[s..input.len().min(e.max(s.saturating_add(UTF8_WINDOW)))];
        self.start = s;
        self.text = match str::from_utf8(bytes) {
            Ok(text) => text,
            // The valid prefix checks again quickly; the window stops before the bad bytes.
            Err(err) => str::from_utf8(&bytes[..err.valid_up_to()]).unwrap_or_default(),
        };
        self.text.get(..e - s)
    }
}

/// A field validated on its own, outside any window.
#[inline(never)]
fn alone(field: &[u8]) -> Option<&str> {
    str::from_utf8(field).ok()
}

const fn min(a: usize, b: usize) -> usize {
    if a < b { a } else { b }
}

/// Where a piece of text lies: in the current input or in the parser's buffer.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Loc {
    Input(usize, usize),
    Buf(usize, usize),
}

impl Loc {
    const EMPTY: Self = Self::Buf(0, 0);

    fn resolve<'a>(self, buf: &'a [u8], input: &'a [u8]) -> &'a [u8] {
        match self {
            Self::Input(s, e) => &input[s..e],
            Self::Buf(s, e) => &buf[s..e],
        }
    }
}

/// What a field handler found, located but not yet borrowed.
#[derive(Clone, Copy, Debug)]
enum RawOutput {
    Retry(u64),
    Comment(Loc),
}

/// What the engine found at one line or piece of a line.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// A blank line: dispatch the event.
    Blank,
    /// A piece of a `data` line's value, `input[start..end]`.
    Data {
        start: usize,
        end: usize,
        /// It starts the value.
        first: bool,
        /// It ends the line.
        last: bool,
    },
    /// What a field handler found, if anything.
    Found(Option<Result<RawOutput, ParseError>>),
}

/// An output found by [`Parser::next_found`]: located, not yet borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Found {
    /// A dispatched event; borrow it with [`Parser::resolve_event`].
    Event(FoundEvent),
    /// A valid `retry` field, in milliseconds.
    Retry(u64),
    /// A comment; borrow its text with [`Parser::resolve_comment`].
    Comment(FoundComment),
}

/// Where a dispatched event's fields lie; its id is committed when it is resolved.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FoundEvent(Dispatched);

/// Where a comment's text lies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FoundComment(Loc);

/// An event block that ended with a blank line, located but not yet borrowed.
#[derive(Clone, Copy, Debug)]
struct Dispatched {
    ty: Loc,
    /// The last event ID to report.
    id: Loc,
    /// The same id in an id slot, to become the last event ID once the event is known to be
    /// delivered.
    commit: Loc,
    data: Loc,
}

/// A value being assembled: nothing yet, a range of the current input, or `len` bytes at the
/// start of its region. `too_long` marks a value already past its limit.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Span {
    None,
    Input(usize, usize),
    Buf(usize),
}

/// An `id` line arriving in pieces, written raw into an id slot.
#[derive(Clone, Copy, Debug)]
struct IdLine {
    slot: usize,
    len: usize,
    nul: bool,
    too_long: bool,
}

#[derive(Clone, Debug)]
struct State {
    tokenizer: Tokenizer,
    limits: Limits,
    /// Start of the type, comment and data regions.
    type_at: usize,
    comment_at: usize,
    data_at: usize,
    data_cap: usize,
    /// The last event ID string, always in an id slot.
    committed: Loc,
    /// Set by an `id` line of the block being read; `None` means "same as committed".
    pending: Option<Loc>,
    id_line: Option<IdLine>,
    event_type: Span,
    type_too_long: bool,
    data: Span,
    /// Raw comment bytes kept so far (at most the comment region).
    comment_len: usize,
    /// Digits of a `retry` line so far; `None` once a non-digit was seen.
    retry: Option<u64>,
    retry_digits: bool,
    /// The block overflowed a limit: ignore it up to the next blank line.
    skipping: bool,
    /// The data, the event type or the pending id may be a range of the current input, so the
    /// end of the input must copy them: one flag to test per input instead of three.
    borrows: bool,
}

impl State {
    /// The state for `limits` over a buffer of `capacity` bytes. The constructors only pass
    /// limits that fit (checked in [`Parser::with_limits`], small by construction in
    /// [`Limits::for_capacity`]); should the sum overflow anyway, every region is cut to the
    /// capacity, so no offset can leave the buffer.
    const fn new(limits: Limits, capacity: usize) -> Self {
        let Regions {
            type_at,
            comment_at,
            data_at,
        } = match limits.regions() {
            Some(regions) => regions,
            None => Regions {
                type_at: capacity,
                comment_at: capacity,
                data_at: capacity,
            },
        };
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

    fn reset(&mut self) {
        self.tokenizer.reset();
        self.pending = None;
        self.id_line = None;
        self.clear_event();
        self.skipping = false;
        self.borrows = false;
    }

    fn clear_event(&mut self) {
        self.event_type = Span::None;
        self.type_too_long = false;
        self.data = Span::None;
    }

    /// Continues a `data` line begun in an earlier input (or earlier in this one) with the
    /// bytes at `*pos`, up to its line break or the end of the input. `Some(Ok(()))` when that
    /// consumed the input, `Some(Err(..))` when the data outgrew the region (the event is
    /// skipped), `None` when the engine must go on (possibly after this line was appended) or
    /// this is not such a line.
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn continue_data(
        &mut self,
        buf: &mut [u8],
        input: &[u8],
        pos: &mut usize,
    ) -> Option<Result<(), ParseError>> {
        let Line::Value {
            field: Field::Data,
            started: true,
            space_checked: true,
        } = self.tokenizer.line
        else {
            return None;
        };
        let Span::Buf(len) = self.data else {
            return None;
        };
        let p = *pos;
        let piece = input.get(p..).filter(|piece| !piece.is_empty())?;
        if self.skipping || self.borrows {
            return None;
        }
        match find_line_end(piece) {
            None => {
                let at = self.data_at + len;
                let dst = buf.get_mut(at..at + piece.len())?;
                if piece.len() <= 16 {
                    copy_short(dst, piece);
                } else {
                    dst.copy_from_slice(piece);
                }
                self.data = Span::Buf(len + piece.len());
                *pos = input.len();
                Some(Ok(()))
            }
            Some(off) => {
                *pos = self.tokenizer.end_line(input, p + off);
                if let Some(Err(e)) = self.push_data(buf, &piece[..off], len, true) {
                    return Some(Err(e));
                }
                None
            }
        }
    }

    /// The next output of `input[*pos..]`: [`Parser::next_output`] without the buffer's type,
    /// so the engine is compiled once, as one function.
    ///
    /// The loop handles the lines that make up nearly every stream inline: a blank line, a
    /// whole `data` line, and the next piece of a `data` line split across inputs. Everything
    /// else goes through the tokenizer and the field handlers, kept out of line so the loop
    /// stays small. Each handler appears once: the paths meet at the [`Step`] they found.
    fn next_output<'a, 'i: 'a>(
        &mut self,
        buf: &'a mut [u8],
        input: &'i [u8],
        pos: &mut usize,
        utf8: &mut Utf8Window<'i>,
    ) -> Option<Result<Output<'a>, ParseError>> {
        // Speed for servers and desktops; small targets keep one copy of the loop for flash.
        #[cfg(target_pointer_width = "64")]
        if let Some(data) = self.lone_data_event(input, pos, utf8) {
            let id = resolve_text(self.committed, buf, input, utf8);
            return Some(Ok(Output::Event(Event {
                event_type: "",
                data,
                id,
            })));
        }
        Some(match self.find(buf, input, pos, utf8)? {
            Ok(Found::Event(event)) => self.deliver(buf, input, utf8, event.0).map(Output::Event),
            Ok(Found::Retry(ms)) => Ok(Output::Retry(ms)),
            Ok(Found::Comment(at)) => Ok(Output::Comment(resolve_text(at.0, buf, input, utf8))),
            Err(e) => Err(e),
        })
    }

    /// The most common event whole, a lone `data` line and its blank line (token streams send
    /// little else), returned straight to a [`Feed`] without the detour through [`Found`] that
    /// [`State::find`] takes: that detour cost a tenth of the throughput on such streams.
    /// `None`, with nothing consumed or changed, in every other case.
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn lone_data_event<'i>(
        &mut self,
        input: &'i [u8],
        pos: &mut usize,
        utf8: &mut Utf8Window<'i>,
    ) -> Option<&'i str> {
        let alone = matches!(self.tokenizer.line, Line::Start)
            && !self.skipping
            && self.data == Span::None
            && self.event_type == Span::None
            && self.pending.is_none();
        let p = *pos;
        let rest = input
            .get(p..)
            .filter(|rest| alone && rest.starts_with(b"data:"))?;
        let end = p + find_line_end(rest)?;
        let start = if rest[5] == b' ' { p + 6 } else { p + 5 };
        let mut after = self.tokenizer.end_line(input, end);
        let data = self.data_event(input, &mut after, utf8, start, end);
        match data {
            Some(_) => *pos = after,
            // `end_line` may have noted a CR at the end of the input; the general path will
            // read this line again from the start.
            None => self.tokenizer.line = Line::Start,
        }
        data
    }

    /// The engine: consumes `input[*pos..]` up to the next output and says where it lies,
    /// without borrowing it, so a caller looping over several inputs (the client session) can
    /// borrow it afterwards. Spills at the end of the input.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    fn find<'i>(
        &mut self,
        buf: &mut [u8],
        input: &'i [u8],
        pos: &mut usize,
        utf8: &mut Utf8Window<'i>,
    ) -> Option<Result<Found, ParseError>> {
        loop {
            let p = *pos;
            let Some(&b) = input.get(p) else {
                self.spill(buf, input);
                return None;
            };
            let step = match self.tokenizer.line {
                Line::Start if b == b'\n' || b == b'\r' => {
                    *pos = self.tokenizer.end_line(input, p);
                    Step::Blank
                }
                Line::Start => match find_line_end(&input[p..]) {
                    Some(off) => {
                        let end = p + off;
                        *pos = self.tokenizer.end_line(input, end);
                        let line = &input[p..end];
                        if line.starts_with(b"data:") {
                            let start = if line.get(5) == Some(&b' ') {
                                p + 6
                            } else {
                                p + 5
                            };
                            if self.data_event(input, pos, utf8, start, end).is_some() {
                                let id = self.committed;
                                return Some(Ok(Found::Event(FoundEvent(Dispatched {
                                    ty: Loc::EMPTY,
                                    id,
                                    commit: id,
                                    data: Loc::Input(start, end),
                                }))));
                            }
                            Step::Data {
                                start,
                                end,
                                first: true,
                                last: true,
                            }
                        } else {
                            self.on_line(buf, input, utf8, p, end)
                        }
                    }
                    // A `data` line that continues in a later input, its value begun here.
                    None if input.len() - p > 5 && input[p..].starts_with(b"data:") => {
                        let start = if input[p + 5] == b' ' { p + 6 } else { p + 5 };
                        *pos = input.len();
                        let started = start < input.len();
                        self.tokenizer.line = Line::Value {
                            field: Field::Data,
                            started,
                            space_checked: true,
                        };
                        if started {
                            Step::Data {
                                start,
                                end: input.len(),
                                first: true,
                                last: false,
                            }
                        } else {
                            Step::Found(None)
                        }
                    }
                    None => self.on_token(buf, input, pos, utf8),
                },
                Line::Value {
                    field: Field::Data,
                    started: true,
                    space_checked: true,
                } => match find_line_end(&input[p..]) {
                    Some(off) => {
                        *pos = self.tokenizer.end_line(input, p + off);
                        Step::Data {
                            start: p,
                            end: p + off,
                            first: false,
                            last: true,
                        }
                    }
                    None => {
                        *pos = input.len();
                        Step::Data {
                            start: p,
                            end: input.len(),
                            first: false,
                            last: false,
                        }
                    }
                },
                _ => self.on_token(buf, input, pos, utf8),
            };
            let found = match step {
                Step::Blank => match self.dispatch(buf, input) {
                    Some(event) => return Some(Ok(Found::Event(FoundEvent(event)))),
                    None => continue,
                },
                Step::Data {
                    start,
                    end,
                    first,
                    last,
                } => self.on_data(buf, input, start, end, first, last),
                Step::Found(found) => found,
            };
            match found {
                None => {}
                Some(Ok(RawOutput::Retry(ms))) => return Some(Ok(Found::Retry(ms))),
                Some(Ok(RawOutput::Comment(at))) => {
                    return Some(Ok(Found::Comment(FoundComment(at))));
                }
                Some(Err(e)) => return Some(Err(e)),
            }
        }
    }

    /// The most common event whole: one `data` line, `input[start..end]`, that starts a block
    /// with nothing else in it and is followed by a blank line in the same input. Its data is
    /// returned, borrowed from the input, with `*pos` past the blank line; the event has no type
    /// and the committed id. `None` (and nothing changed) in every other case, which the
    /// general path then handles.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    fn data_event<'i>(
        &mut self,
        input: &'i [u8],
        pos: &mut usize,
        utf8: &mut Utf8Window<'i>,
        start: usize,
        end: usize,
    ) -> Option<&'i str> {
        let blank = *pos;
        let alone = !self.skipping
            && self.data == Span::None
            && self.event_type == Span::None
            && self.pending.is_none();
        if !alone
            || !matches!(input.get(blank), Some(b'\n' | b'\r'))
            || end - start >= self.data_cap
        {
            return None;
        }
        let data = utf8.text(input, start, end)?;
        *pos = self.tokenizer.end_line(input, blank);
        Some(data)
    }

    /// Turns a dispatched event into the output, or reports it too large once decoded.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    fn deliver<'a, 'i: 'a>(
        &mut self,
        buf: &'a mut [u8],
        input: &'i [u8],
        utf8: &mut Utf8Window<'i>,
        event: Dispatched,
    ) -> Result<Event<'a>, ParseError> {
        let Dispatched {
            ty,
            id,
            commit,
            data,
        } = event;
        // The common case, one data line whole in this input, is borrowed straight from the
        // input (which does not borrow the parser) once its window is known to be UTF-8.
        let borrowed = match data {
            Loc::Input(s, e) => utf8.text(input, s, e),
            Loc::Buf(..) => None,
        };
        // The type and the ids lie before the data region, so they can be read while the data
        // is borrowed.
        let (buf, region) = buf.split_at_mut(self.data_at);
        let data = match borrowed {
            Some(d) => d,
            // When the data does not fit decoded, the event is dropped whole, its id with it.
            None => self.data_text(region, input, data)?,
        };
        self.committed = commit;
        let buf = &*buf;
        Ok(Event {
            event_type: resolve_text(ty, buf, input, utf8),
            data,
            id: resolve_text(id, buf, input, utf8),
        })
    }

    /// A whole line other than `data:`, at `input[start..end]`. A short valid `event` or `id`
    /// is borrowed here directly; the rest goes to the field handlers.
    #[inline(never)]
    fn on_line<'i>(
        &mut self,
        buf: &mut [u8],
        input: &'i [u8],
        utf8: &mut Utf8Window<'i>,
        start: usize,
        end: usize,
    ) -> Step {
        let (field, value_at) = classify_line(&input[start..end]);
        let start = start + value_at;
        Step::Found(match field {
            Field::Unknown => None,
            // `data` without a colon: an empty line of data.
            Field::Data => {
                return Step::Data {
                    start,
                    end,
                    first: true,
                    last: true,
                };
            }
            Field::Event
                if !self.skipping
                    && end - start <= self.limits.max_event_type_len
                    && utf8.text_field(input, start, end).is_some() =>
            {
                self.event_type = Span::Input(start, end);
                self.borrows = true;
                None
            }
            Field::Id
                if !self.skipping
                    && end - start <= self.limits.max_id_len
                    && !has_nul(&input[start..end])
                    && utf8.text_field(input, start, end).is_some() =>
            {
                self.pending = Some(Loc::Input(start, end));
                self.borrows = true;
                None
            }
            _ => self.on_field(buf, input, utf8, field, start, end, true, true),
        })
    }

    /// Takes the next token from the tokenizer (the general path: partial lines, BOM, names
    /// and values split across inputs) and acts on it. `None` when it yields no output.
    #[inline(never)]
    fn on_token<'i>(
        &mut self,
        buf: &mut [u8],
        input: &'i [u8],
        pos: &mut usize,
        utf8: &mut Utf8Window<'i>,
    ) -> Step {
        match self.tokenizer.next_raw(input, pos) {
            None => Step::Found(None),
            Some(RawToken::Blank) => Step::Blank,
            Some(RawToken::Field {
                field: Field::Data,
                start,
                end,
                first,
                last,
            }) => Step::Data {
                start,
                end,
                first,
                last,
            },
            Some(RawToken::Field {
                field,
                start,
                end,
                first,
                last,
            }) => Step::Found(self.on_field(buf, input, utf8, field, start, end, first, last)),
        }
    }

    /// Acts on one piece of a field's value other than data, `input[start..end]`.
    #[allow(clippy::too_many_arguments)] // One flag per fact the tokenizer found.
    #[inline(never)]
    fn on_field<'i>(
        &mut self,
        buf: &mut [u8],
        input: &'i [u8],
        utf8: &mut Utf8Window<'i>,
        field: Field,
        start: usize,
        end: usize,
        first: bool,
        last: bool,
    ) -> Option<Result<RawOutput, ParseError>> {
        let value = &input[start..end];
        // Only whole values are borrowed, so only they need checking here.
        let whole = first && last;
        let mut valid = || whole && utf8.text_field(input, start, end).is_some();
        match field {
            // The engine takes data itself (see `Step::Data`).
            Field::Data | Field::Unknown => None,
            Field::Event => {
                let valid = valid();
                self.on_event_type(buf, value, valid, start, end, first, last)
            }
            Field::Id => {
                let valid = valid();
                self.on_id(buf, value, valid, start, end, first, last)
            }
            Field::Retry => self.on_retry(value, first, last),
            Field::Comment => {
                let valid = valid();
                self.on_comment(buf, value, valid, start, end, first, last)
            }
        }
    }

    // Forced inline: it runs once per event, and as a call its result travels through memory.
    // The engine has one call site.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    fn dispatch(&mut self, buf: &mut [u8], input: &[u8]) -> Option<Dispatched> {
        let skipped = core::mem::replace(&mut self.skipping, false);
        let pending = self.pending.take();
        let ty = self.event_type;
        let data = self.data;
        self.clear_event();
        // The ranges taken here are resolved before the next input; none is left behind.
        self.borrows = false;
        if skipped {
            return None;
        }
        // The last event ID outlives the input, so an id borrowed from the input is copied into
        // a free slot now (ids are short). It is not committed yet; see below. The event itself
        // reports the id from the input, which is already known to be text.
        let (id, commit) = match pending {
            Some(Loc::Input(s, e)) => (Loc::Input(s, e), self.copy_id(buf, &input[s..e])),
            Some(loc) => (loc, loc),
            None => (self.committed, self.committed),
        };
        let data = match data {
            Span::None => {
                // Spec: the last event ID string is set at dispatch, even when no event follows.
                self.committed = commit;
                return None;
            }
            Span::Input(s, e) => Loc::Input(s, e),
            // Every buffered data line ends with LF; the spec strips the final one.
            Span::Buf(len) => Loc::Buf(self.data_at, self.data_at + len - 1),
        };
        let ty = match ty {
            Span::None => Loc::EMPTY,
            Span::Input(s, e) => Loc::Input(s, e),
            Span::Buf(len) => Loc::Buf(self.type_at, self.type_at + len),
        };
        // Committed by `next_output` only once the data is known to fit decoded: an event
        // skipped as too large must not move the last event ID.
        Some(Dispatched {
            ty,
            id,
            commit,
            data,
        })
    }

    fn skip(&mut self, error: ParseError) -> Option<Result<RawOutput, ParseError>> {
        self.skipping = true;
        self.clear_event();
        self.id_line = None;
        Some(Err(error))
    }

    #[cold]
    #[inline(never)]
    fn too_large(&mut self) -> Option<Result<RawOutput, ParseError>> {
        self.skip(ParseError::EventTooLarge {
            capacity: self.data_cap,
        })
    }

    /// Acts on a piece of a `data` line: a whole line that starts the data stays borrowed from
    /// the input; anything else is appended to the data region.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    fn on_data(
        &mut self,
        buf: &mut [u8],
        input: &[u8],
        start: usize,
        end: usize,
        first: bool,
        last: bool,
    ) -> Option<Result<RawOutput, ParseError>> {
        if self.skipping {
            return None;
        }
        match self.data {
            Span::Buf(len) => self.push_data(buf, &input[start..end], len, last),
            Span::None if first && last => {
                // The limit counts the line feed the spec appends, so it does not depend on
                // whether the line stays borrowed or is later buffered.
                if end - start >= self.data_cap {
                    return self.too_large();
                }
                self.data = Span::Input(start, end);
                self.borrows = true;
                None
            }
            Span::None | Span::Input(..) => self.append_data(buf, input, start, end, last),
        }
    }

    /// [`State::on_data`] when the data is not in the region yet: the first piece of a split
    /// line, or a line after one still borrowed from the input (copied first).
    #[inline(never)]
    fn append_data(
        &mut self,
        buf: &mut [u8],
        input: &[u8],
        start: usize,
        end: usize,
        last: bool,
    ) -> Option<Result<RawOutput, ParseError>> {
        let len = match self.data {
            Span::Input(s, e) => {
                // It fit with its line feed when it was borrowed.
                let region = &mut buf[self.data_at..];
                region[..e - s].copy_from_slice(&input[s..e]);
                region[e - s] = b'\n';
                e - s + 1
            }
            Span::Buf(len) => len,
            Span::None => 0,
        };
        self.push_data(buf, &input[start..end], len, last)
    }

    /// Appends `value` (and the spec's line feed when it ends the line) to the `len` bytes of
    /// data in the region, or skips the event when that does not fit.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    fn push_data(
        &mut self,
        buf: &mut [u8],
        value: &[u8],
        len: usize,
        last: bool,
    ) -> Option<Result<RawOutput, ParseError>> {
        let at = self.data_at + len;
        let end = at + value.len();
        if end + usize::from(last) > buf.len() {
            return self.too_large();
        }
        buf[at..end].copy_from_slice(value);
        if last {
            buf[end] = b'\n';
        }
        self.data = Span::Buf(len + value.len() + usize::from(last));
        None
    }

    #[allow(clippy::too_many_arguments)] // One flag per fact the tokenizer and window found.
    fn on_event_type(
        &mut self,
        buf: &mut [u8],
        value: &[u8],
        valid: bool,
        start: usize,
        end: usize,
        first: bool,
        last: bool,
    ) -> Option<Result<RawOutput, ParseError>> {
        if self.skipping {
            return None;
        }
        let max = self.limits.max_event_type_len;
        let region = &mut buf[self.type_at..self.type_at + max];
        if first && last {
            self.event_type = match place_text(value, valid, region) {
                Placed::Borrow if value.len() <= max => {
                    self.borrows = true;
                    Span::Input(start, end)
                }
                Placed::Copied(n) => Span::Buf(n),
                Placed::Borrow | Placed::TooLong => {
                    return self.skip(ParseError::EventTypeTooLong { max });
                }
            };
            return None;
        }
        let mut len = match self.event_type {
            Span::Buf(len) if !first => len,
            _ => {
                self.type_too_long = false;
                0
            }
        };
        if len + value.len() > max {
            self.type_too_long = true;
        } else {
            region[len..len + value.len()].copy_from_slice(value);
            len += value.len();
        }
        self.event_type = Span::Buf(len);
        if !last {
            return None;
        }
        match repair_in_place(region, len) {
            Some(n) if !self.type_too_long => {
                self.event_type = Span::Buf(n);
                None
            }
            _ => self.skip(ParseError::EventTypeTooLong { max }),
        }
    }

    #[allow(clippy::too_many_arguments)] // One flag per fact the tokenizer and window found.
    fn on_id(
        &mut self,
        buf: &mut [u8],
        value: &[u8],
        valid: bool,
        start: usize,
        end: usize,
        first: bool,
        last: bool,
    ) -> Option<Result<RawOutput, ParseError>> {
        if self.skipping {
            return None;
        }
        let max = self.limits.max_id_len;
        if first && last {
            // Spec: an id containing NUL is ignored, so it is no error even when too long.
            if has_nul(value) {
                return None;
            }
            let slot = self.free_slot();
            let at = slot * max;
            self.pending = Some(match place_text(value, valid, &mut buf[at..at + max]) {
                Placed::Borrow if value.len() <= max => {
                    self.borrows = true;
                    Loc::Input(start, end)
                }
                Placed::Copied(n) => Loc::Buf(at, at + n),
                Placed::Borrow | Placed::TooLong => {
                    return self.skip(ParseError::IdTooLong { max });
                }
            });
            return None;
        }
        let mut line = match self.id_line {
            Some(line) if !first => line,
            _ => IdLine {
                slot: self.free_slot(),
                len: 0,
                nul: false,
                too_long: false,
            },
        };
        line.nul |= memchr(0, value).is_some();
        if line.len + value.len() > max {
            line.too_long = true;
        } else if !line.too_long {
            let at = line.slot * max + line.len;
            buf[at..at + value.len()].copy_from_slice(value);
            line.len += value.len();
        }
        if !last {
            self.id_line = Some(line);
            return None;
        }
        self.id_line = None;
        if line.nul {
            return None;
        }
        let at = line.slot * max;
        match repair_in_place(&mut buf[at..at + max], line.len) {
            Some(n) if !line.too_long => {
                self.pending = Some(Loc::Buf(at, at + n));
                None
            }
            _ => self.skip(ParseError::IdTooLong { max }),
        }
    }

    fn on_retry(
        &mut self,
        value: &[u8],
        first: bool,
        last: bool,
    ) -> Option<Result<RawOutput, ParseError>> {
        if first {
            self.retry = Some(0);
            self.retry_digits = false;
        }
        for &b in value {
            self.retry = match self.retry {
                Some(ms) if b.is_ascii_digit() => {
                    Some(ms.saturating_mul(10).saturating_add(u64::from(b - b'0')))
                }
                _ => None,
            };
        }
        self.retry_digits |= !value.is_empty();
        if !last || !self.retry_digits {
            return None;
        }
        // Spec: only a value of ASCII digits sets the reconnection time; anything else is ignored.
        self.retry.map(|ms| Ok(RawOutput::Retry(ms)))
    }

    #[allow(clippy::too_many_arguments)] // One flag per fact the tokenizer and window found.
    fn on_comment(
        &mut self,
        buf: &mut [u8],
        value: &[u8],
        valid: bool,
        start: usize,
        end: usize,
        first: bool,
        last: bool,
    ) -> Option<Result<RawOutput, ParseError>> {
        let max = self.limits.max_comment_len;
        let region = &mut buf[self.comment_at..self.data_at];
        if first && last {
            if value.len() <= max && valid {
                return Some(Ok(RawOutput::Comment(Loc::Input(start, end))));
            }
            let keep = fitting_prefix(value, max);
            let n = lossy_copy(&value[..keep], region);
            return Some(Ok(RawOutput::Comment(Loc::Buf(
                self.comment_at,
                self.comment_at + n,
            ))));
        }
        if first {
            self.comment_len = 0;
        }
        let room = region.len() - self.comment_len;
        let take = value.len().min(room);
        region[self.comment_len..self.comment_len + take].copy_from_slice(&value[..take]);
        self.comment_len += take;
        if !last {
            return None;
        }
        let keep = fitting_prefix(&region[..self.comment_len], max);
        let n = lossy_in_place(region, keep);
        Some(Ok(RawOutput::Comment(Loc::Buf(
            self.comment_at,
            self.comment_at + n,
        ))))
    }

    /// The data as text: buffered data checked (and decoded in place when invalid), or data
    /// from the input that is not valid UTF-8 decoded into the buffer; too large when the
    /// decoded form does not fit.
    /// `region` is the data region.
    fn data_text<'a>(
        &mut self,
        region: &'a mut [u8],
        input: &[u8],
        data: Loc,
    ) -> Result<&'a str, ParseError> {
        let too_large = ParseError::EventTooLarge {
            capacity: self.data_cap,
        };
        match data {
            Loc::Input(s, e) => {
                let value = &input[s..e];
                // The spec's data buffer holds the line feed too, hence the `+ 1`.
                if lossy_len(value) >= region.len() {
                    return Err(too_large);
                }
                let n = lossy_copy(value, region);
                Ok(text(&region[..n]))
            }
            Loc::Buf(s, e) => {
                // Buffered data still has its final line feed at `e`; keep it in the check.
                debug_assert_eq!(s, self.data_at, "buffered data starts its region");
                let text = text_in_place(region, e - s + 1).ok_or(too_large)?;
                Ok(text.strip_suffix('\n').unwrap_or(text))
            }
        }
    }

    /// Copies every range of `input` that must outlive it into the buffer.
    ///
    /// It runs at the end of every input, twice (the feed's end and its drop), and usually has
    /// nothing to copy: the check stays inline and the copying out of line, so small inputs do
    /// not pay for a large function's prologue.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    fn spill(&mut self, buf: &mut [u8], input: &[u8]) {
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
    fn copy_id(&self, buf: &mut [u8], id: &[u8]) -> Loc {
        let at = self.free_slot() * self.limits.max_id_len;
        buf[at..at + id.len()].copy_from_slice(id);
        Loc::Buf(at, at + id.len())
    }

    fn set_last_event_id(&mut self, buf: &mut [u8], id: &str) -> Result<(), ParseError> {
        let max = self.limits.max_id_len;
        if id.len() > max {
            return Err(ParseError::IdTooLong { max });
        }
        // The pending id, if any, wins at the next dispatch, as an `id` line would.
        let loc = self.copy_id(buf, id.as_bytes());
        self.committed = loc;
        Ok(())
    }

    fn committed_id<'a>(&self, buf: &'a [u8]) -> &'a str {
        text(self.committed.resolve(buf, &[]))
    }

    /// An id slot used by neither the committed id, the pending id nor an id line in progress.
    fn free_slot(&self) -> usize {
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

/// Copies `src`, at most 16 bytes, into `dst` of the same length with a few word moves instead
/// of a call to `memcpy`.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    if n >= 8 {
        dst[..8].copy_from_slice(&src[..8]);
        dst[n - 8..].copy_from_slice(&src[n - 8..]);
    } else if n >= 4 {
        dst[..4].copy_from_slice(&src[..4]);
        dst[n - 4..].copy_from_slice(&src[n - 4..]);
    } else {
        dst.copy_from_slice(src);
    }
}

/// How a whole value was placed: borrowable as is, copied decoded into the region, or too long.
enum Placed {
    Borrow,
    Copied(usize),
    TooLong,
}

/// Valid UTF-8 can be borrowed; invalid is decoded into `region` when the result fits.
fn place_text(value: &[u8], valid: bool, region: &mut [u8]) -> Placed {
    if valid {
        return Placed::Borrow;
    }
    if lossy_len(value) > region.len() {
        return Placed::TooLong;
    }
    Placed::Copied(lossy_copy(value, region))
}

/// Data is checked a block at a time for ASCII first: that check runs several times faster
/// than UTF-8 validation, and payloads (JSON, base64) are mostly ASCII. A block that is not
/// ASCII costs one wasted block check at most.
const ASCII_BLOCK: usize = 1024;

/// `region[..len]` as text, decoded in place first when it is not UTF-8; `None` when the
/// decoded form does not fit the region.
///
/// Valid text, the common case, is read once: the check and the borrow returned are one pass
/// over the bytes. Safe code needs a second pass here, since a borrow returned on one branch
/// keeps `region` borrowed on the branch that must decode into it; for the 64 KiB events of
/// the benchmarks that second pass cost a fifth of the parse.
#[allow(unsafe_code)]
fn text_in_place(region: &mut [u8], len: usize) -> Option<&str> {
    let mut ascii = 0;
    while len - ascii >= ASCII_BLOCK && region[ascii..ascii + ASCII_BLOCK].is_ascii() {
        ascii += ASCII_BLOCK;
    }
    if len - ascii < ASCII_BLOCK && is_ascii_short(&region[ascii..len]) {
        ascii = len;
    }
    if ascii == len || str::from_utf8(&region[ascii..len]).is_ok() {
        // SAFETY: `region[..ascii]` was checked above to be ASCII, so it is UTF-8 and ends on a
        // character boundary, and `region[ascii..len]` is empty or was checked to be UTF-8 on
        // the line above; together they are UTF-8. Nothing has written to `region` since.
        return Some(unsafe { str::from_utf8_unchecked(&region[..len]) });
    }
    if lossy_len(&region[..len]) > region.len() {
        return None;
    }
    let n = lossy_in_place(region, len);
    str::from_utf8(&region[..n]).ok()
}

/// Whether every byte of `bytes` (under a kilobyte) is ASCII, eight at a time.
/// `<[u8]>::is_ascii` checks what is left after its 64-byte steps one byte at a time, which
/// costs more than the whole check for the 100-200 byte events that make up most streams.
#[inline]
fn is_ascii_short(bytes: &[u8]) -> bool {
    const HIGH_BITS: u64 = u64::from_le_bytes([0x80; 8]);
    let word = |w: &[u8]| {
        let mut b = [0; 8];
        b.copy_from_slice(w);
        u64::from_le_bytes(b)
    };
    let Some(last) = bytes.len().checked_sub(8) else {
        return bytes.iter().all(u8::is_ascii);
    };
    let words = bytes.chunks_exact(8);
    let any = words.fold(word(&bytes[last..]), |any, w| any | word(w));
    any & HIGH_BITS == 0
}

/// Decodes `region[..len]` in place; `None` when the decoded form does not fit the region.
fn repair_in_place(region: &mut [u8], len: usize) -> Option<usize> {
    if str::from_utf8(&region[..len]).is_ok() {
        return Some(len);
    }
    if lossy_len(&region[..len]) > region.len() {
        return None;
    }
    Some(lossy_in_place(region, len))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::{String, ToString};
    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;

    /// What a parser run gave, comments left out (their truncation is a limit, not a rule).
    #[derive(Clone, Debug, Eq, PartialEq)]
    enum Seen {
        Event(String, String, String),
        Retry(u64),
    }

    fn parse_in(input: &[u8], chunks: &[usize]) -> Vec<Seen> {
        let limits = Limits {
            max_id_len: 4096,
            max_event_type_len: 4096,
            max_comment_len: 16,
        };
        let mut parser = Parser::with_limits(std::vec![0u8; 1 << 17], limits).unwrap();
        let mut seen = Vec::new();
        let mut rest = input;
        let mut sizes = chunks.iter().copied().cycle();
        while !rest.is_empty() {
            let n = sizes.next().unwrap_or(usize::MAX).clamp(1, rest.len());
            let (piece, tail) = rest.split_at(n);
            rest = tail;
            let mut feed = parser.feed(piece);
            while let Some(out) = feed.next() {
                match out.unwrap() {
                    Output::Event(e) => seen.push(Seen::Event(
                        e.event_type().to_string(),
                        e.data().to_string(),
                        e.id().to_string(),
                    )),
                    Output::Retry(ms) => seen.push(Seen::Retry(ms)),
                    Output::Comment(_) => {}
                }
            }
        }
        seen
    }

    /// WHATWG HTML §9.2.6 read literally: decode the whole stream, split lines, apply fields.
    fn oracle(input: &[u8]) -> Vec<Seen> {
        let text = String::from_utf8_lossy(input);
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
        let (mut data, mut ty, mut id_buf, mut last_id) =
            (String::new(), String::new(), String::new(), String::new());
        let mut seen = Vec::new();
        let mut rest = text;
        // A last line without its line break is never processed.
        while let Some(end) = rest.find(['\r', '\n']) {
            let line = &rest[..end];
            let skip = if rest[end..].starts_with("\r\n") {
                2
            } else {
                1
            };
            rest = &rest[end + skip..];
            if line.is_empty() {
                last_id.clone_from(&id_buf);
                if !data.is_empty() {
                    data.pop();
                    let name = if ty.is_empty() { "message" } else { &ty };
                    seen.push(Seen::Event(name.to_string(), data.clone(), last_id.clone()));
                }
                data.clear();
                ty.clear();
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line, ""),
            };
            match field {
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "event" => ty = value.to_string(),
                "id" if !value.contains('\0') => id_buf = value.to_string(),
                "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                    let ms = value.bytes().fold(0u64, |ms, b| {
                        ms.saturating_mul(10).saturating_add(u64::from(b - b'0'))
                    });
                    seen.push(Seen::Retry(ms));
                }
                _ => {}
            }
        }
        seen
    }

    /// Pieces that meet at every interesting boundary: line ends, colons, spaces, BOM, NUL,
    /// multi-byte characters and invalid or cut UTF-8.
    const PIECES: &[&[u8]] = &[
        b"data",
        b"data:",
        b"data: ",
        b"event:",
        b"id: ",
        b"retry: ",
        b":",
        b" ",
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
        b"x",
        b"12",
        b"\0",
        "\u{FEFF}".as_bytes(),
        "é".as_bytes(),
        "東".as_bytes(),
        "😀".as_bytes(),
        b"\xFF",
        b"\xC3",
        b"\xE6\x9D",
        b"\x80",
    ];

    fn stream() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(0..PIECES.len(), 0..120).prop_map(|picks| {
            picks
                .iter()
                .flat_map(|&i| PIECES[i].iter().copied())
                .collect()
        })
    }

    proptest! {
        #[test]
        fn matches_the_spec_however_split(
            input in stream(),
            chunks in prop::collection::vec(1usize..24, 1..6),
        ) {
            let want = oracle(&input);
            prop_assert_eq!(&parse_in(&input, &[usize::MAX]), &want);
            prop_assert_eq!(&parse_in(&input, &chunks), &want);
            prop_assert_eq!(&parse_in(&input, &[1]), &want);
        }
    }

    /// Buffered data is checked for ASCII a block at a time before UTF-8 validation; characters
    /// and invalid bytes at, just before and after a block edge are decoded as the spec says.
    #[test]
    fn buffered_text_is_checked_across_ascii_blocks() {
        let tails: [&[u8]; 6] = [
            "é".as_bytes(),
            b"\xFF",
            b"\xE6\x9D",
            "東x".as_bytes(),
            b"plain",
            b"",
        ];
        for prefix in [
            0,
            3,
            8,
            13,
            ASCII_BLOCK - 9,
            ASCII_BLOCK,
            2 * ASCII_BLOCK + 1,
        ] {
            for tail in tails {
                let mut raw = std::vec![b'a'; prefix];
                raw.extend_from_slice(tail);
                raw.extend_from_slice(tail);
                let mut region = std::vec![0u8; 3 * raw.len() + 3];
                region[..raw.len()].copy_from_slice(&raw);
                let got = text_in_place(&mut region, raw.len()).map(ToString::to_string);
                let want = String::from_utf8_lossy(&raw);
                assert_eq!(got.as_deref(), Some(&*want), "{prefix} {tail:?}");
            }
        }
    }

    /// Streams longer than one UTF-8 window, with characters and invalid bytes on and around
    /// window edges, and an id committed long before the events that report it.
    #[test]
    fn long_streams_match_the_spec_at_window_edges() {
        let mut input = Vec::from(&b"id: \xE6\x9D\xB1-start\n\n"[..]);
        let mut n = 0usize;
        while input.len() < 12 * UTF8_WINDOW {
            input.extend_from_slice(b"data: ");
            // Line lengths drift so characters land on every offset modulo the window.
            input.extend(core::iter::repeat_n(b'a', n % 61));
            input.extend_from_slice("é東😀".as_bytes());
            if n.is_multiple_of(97) {
                input.extend_from_slice(b"\xFF");
            }
            if n.is_multiple_of(41) {
                input.extend_from_slice(b"\nevent: t\xC3\xA9\nid: ");
                input.extend_from_slice(n.to_string().as_bytes());
            }
            input.extend_from_slice(b"\n\n");
            n += 1;
        }
        let want = oracle(&input);
        assert!(want.len() > 300);
        for chunks in [
            &[usize::MAX][..],
            &[4096],
            &[UTF8_WINDOW - 1],
            &[64],
            &[7],
            &[1],
        ] {
            assert_eq!(parse_in(&input, chunks), want, "chunks {chunks:?}");
        }
    }
}
