//! The public face of the event assembler: [`Parser`], the [`Feed`] of one input, and the
//! [`Output`]s and [`Event`]s they hand out.
//!
//! The work is done by siblings, one concern each:
//!
//! | file | concern |
//! |---|---|
//! | `state.rs` | the state kept apart from the buffer, the bottom layer the others import |
//! | `event.rs` | the [`Output`]s and [`Event`]s handed out |
//! | `limits.rs` | [`Limits`], how the one buffer is divided |
//! | `regions.rs` | how [`Limits`] cut the one buffer into regions, and what is copied there |
//! | `engine.rs` | the dispatch loop and its fast paths for the lines most streams are made of |
//! | `fields.rs` | the field handlers: data, event type, id, retry, comment |
//! | `utf8.rs` | UTF-8 validation of what is handed out, with the crate's one `unsafe` block |
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

use super::engine::{Found, FoundComment, FoundEvent, resolve_text};
use super::error::ParseError;
use super::event::{Event, Output};
use super::limits::Limits;
use super::state::State;
use super::utf8::Utf8Window;
use crate::BufferTooSmall;

/// The default buffer size of [`Parser::new`] when the type is written `Parser` alone.
pub const DEFAULT_CAPACITY: usize = 4096;

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

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::{String, ToString};
    use std::vec::Vec;

    use proptest::prelude::*;

    use super::super::engine::Found;
    use super::super::utf8::UTF8_WINDOW;
    use super::*;

    /// What a parser run gave, comments left out (their truncation is a limit, not a rule).
    #[derive(Clone, Debug, Eq, PartialEq)]
    enum Seen {
        Event(String, String, String),
        Retry(u64),
    }

    /// What feeding `input` in pieces of the `chunks` sizes gives, checked to be the same
    /// with and without the engine's fast paths (the small targets' engine).
    fn parse_in(input: &[u8], chunks: &[usize]) -> Vec<Seen> {
        let seen = parse_in_feeds(input, chunks);
        assert_eq!(parse_in_with::<true>(input, chunks), seen, "engine alone");
        assert_eq!(
            parse_in_with::<false>(input, chunks),
            seen,
            "without the fast paths"
        );
        seen
    }

    fn parser_for_tests() -> Parser<Vec<u8>> {
        let limits = Limits {
            max_id_len: 4096,
            max_event_type_len: 4096,
            max_comment_len: 16,
        };
        Parser::with_limits(std::vec![0u8; 1 << 17], limits).unwrap()
    }

    /// Feeds `input` in pieces of the `chunks` sizes (cycled) through [`Parser::feed`].
    fn parse_in_feeds(input: &[u8], chunks: &[usize]) -> Vec<Seen> {
        let mut parser = parser_for_tests();
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

    /// [`parse_in_feeds`] through `find_with::<FAST>`: a feed's loop spelled out, so the
    /// engine of the other kind of target runs on the host too.
    fn parse_in_with<const FAST: bool>(input: &[u8], chunks: &[usize]) -> Vec<Seen> {
        let mut parser = parser_for_tests();
        let mut seen = Vec::new();
        let mut rest = input;
        let mut sizes = chunks.iter().copied().cycle();
        while !rest.is_empty() {
            let n = sizes.next().unwrap_or(usize::MAX).clamp(1, rest.len());
            let (piece, tail) = rest.split_at(n);
            rest = tail;
            let mut pos = 0;
            let mut utf8 = Utf8Window::EMPTY;
            let Parser { buf, state } = &mut parser;
            while let Some(found) = state.find_with::<FAST>(buf, piece, &mut pos, &mut utf8) {
                match found.unwrap() {
                    Found::Event(found) => {
                        let e = state.deliver(buf, piece, &mut utf8, found.0).unwrap();
                        seen.push(Seen::Event(
                            e.event_type().to_string(),
                            e.data().to_string(),
                            e.id().to_string(),
                        ));
                    }
                    Found::Retry(ms) => seen.push(Seen::Retry(ms)),
                    Found::Comment(_) => {}
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
