//! The engine: the loop that turns an input into outputs, one line or piece of a line at a
//! time, and the fast paths for the lines that make up nearly every stream (a lone `data` line
//! and its blank line, the rest of a `data` line begun in an earlier input). Other lines go
//! through the tokenizer to the field handlers (`fields.rs`), out of line so the loop stays
//! small.

use super::error::ParseError;
use super::event::{Event, Output};
use super::state::{Loc, Piece, RawOutput, Span, State};
use super::text::{lossy_copy, lossy_len};
use super::tokenizer::{
    Field, Line, RawToken, classify_line, find_line_end, has_nul, is_data_line,
};
use super::utf8::{Utf8Window, text, text_in_place};

/// Whether the engine takes the lines most streams are made of (a whole line, a `data` line
/// and its blank line, the rest of a `data` line) on paths of their own before the tokenizer.
/// They are most of the parser's speed on 64-bit targets and about 1.2 KiB of flash on a
/// Cortex-M4 (`benches/footprint.sh`), where only the tokenizer's path is built.
const FAST_PATHS: bool = cfg!(target_pointer_width = "64");

/// What the engine found at one line or piece of a line.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// A blank line: dispatch the event.
    Blank,
    /// A piece of a `data` line's value, `input[start..end]`: a [`Piece`] spelled out. As
    /// `Data(Piece)` the loop ran 0.25 % more instructions on 64 KiB events (callgrind,
    /// `benches/callgrind.sh`); the handlers get their `Piece` when the step is acted on.
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

/// An output found by [`Parser::next_found`](super::Parser::next_found): located, not yet borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Found {
    /// A dispatched event; borrow it with [`Parser::resolve_event`](super::Parser::resolve_event).
    Event(FoundEvent),
    /// A valid `retry` field, in milliseconds.
    Retry(u64),
    /// A comment; borrow its text with [`Parser::resolve_comment`](super::Parser::resolve_comment).
    Comment(FoundComment),
}

/// Where a dispatched event's fields lie; its id is committed when it is resolved.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FoundEvent(pub(super) Dispatched);

/// Where a comment's text lies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FoundComment(pub(super) Loc);

/// An event block that ended with a blank line, located but not yet borrowed.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dispatched {
    ty: Loc,
    /// The last event ID to report.
    id: Loc,
    /// The same id in an id slot, to become the last event ID once the event is known to be
    /// delivered.
    commit: Loc,
    data: Loc,
}

impl State {
    pub(super) fn reset(&mut self) {
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
    pub(super) fn continue_data(
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
    /// [`Parser::next_output`]: super::Parser::next_output
    ///
    /// The loop handles the lines that make up nearly every stream inline: a blank line, a
    /// whole `data` line, and the next piece of a `data` line split across inputs. Everything
    /// else goes through the tokenizer and the field handlers, kept out of line so the loop
    /// stays small. Each handler appears once: the paths meet at the [`Step`] they found.
    pub(super) fn next_output<'a, 'i: 'a>(
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
    ///
    /// [`Feed`]: super::Feed
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
        let rest = input.get(p..).filter(|rest| alone && is_data_line(rest))?;
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
    pub(super) fn find<'i>(
        &mut self,
        buf: &mut [u8],
        input: &'i [u8],
        pos: &mut usize,
        utf8: &mut Utf8Window<'i>,
    ) -> Option<Result<Found, ParseError>> {
        self.find_with::<FAST_PATHS>(buf, input, pos, utf8)
    }

    /// [`State::find`], with the fast paths for whole lines or without them. Without them
    /// every line goes through the tokenizer and the field handlers, which give the same
    /// outputs (the host's tests check both against the spec) in less code: what small
    /// targets build (see [`FAST_PATHS`]).
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    pub(super) fn find_with<'i, const FAST: bool>(
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
            let step = if !FAST {
                self.on_token(buf, input, pos, utf8)
            } else {
                match self.tokenizer.line {
                    Line::Start if b == b'\n' || b == b'\r' => {
                        *pos = self.tokenizer.end_line(input, p);
                        Step::Blank
                    }
                    Line::Start => match find_line_end(&input[p..]) {
                        Some(off) => {
                            let end = p + off;
                            *pos = self.tokenizer.end_line(input, end);
                            let line = &input[p..end];
                            if is_data_line(line) {
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
                        None if input.len() - p > 5 && is_data_line(&input[p..]) => {
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
                }
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
                } => {
                    let piece = Piece {
                        start,
                        end,
                        first,
                        last,
                    };
                    self.on_data(buf, input, piece)
                }
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
    pub(super) fn deliver<'a, 'i: 'a>(
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
        // Committed even when the data does not fit decoded and the event is skipped, as a
        // block skipped while it is read commits its id.
        self.committed = commit;
        let data = match borrowed {
            Some(d) => d,
            None => self.data_text(region, input, data)?,
        };
        let buf = &*buf;
        Ok(Event {
            event_type: resolve_text(ty, buf, input, utf8),
            data,
            id: resolve_text(id, buf, input, utf8),
        })
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
                if end - start <= self.limits.max_id_len
                    && !has_nul(&input[start..end])
                    && utf8.text_field(input, start, end).is_some() =>
            {
                self.pending = Some(Loc::Input(start, end));
                self.borrows = true;
                None
            }
            _ => {
                let piece = Piece {
                    start,
                    end,
                    first: true,
                    last: true,
                };
                self.on_field(buf, input, utf8, field, piece)
            }
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
            }) => {
                let piece = Piece {
                    start,
                    end,
                    first,
                    last,
                };
                Step::Found(self.on_field(buf, input, utf8, field, piece))
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
            // A skipped block still sets the last event ID from its last `id` line, as the
            // spec's dispatch would: a client that reconnects then resumes after the event it
            // could not hold instead of being sent it again, and again (issue 14). A too-long id
            // leaves no pending id, so the last event ID stays as it was.
            if let Some(loc) = pending {
                self.committed = match loc {
                    Loc::Input(s, e) => self.copy_id(buf, &input[s..e]),
                    loc => loc,
                };
            }
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
        // Committed by `deliver`, whether the data fits decoded or the event is skipped there.
        Some(Dispatched {
            ty,
            id,
            commit,
            data,
        })
    }

    pub(super) fn skip(&mut self, error: ParseError) -> Option<Result<RawOutput, ParseError>> {
        self.skipping = true;
        self.clear_event();
        self.id_line = None;
        Some(Err(error))
    }

    #[cold]
    #[inline(never)]
    pub(super) fn too_large(&mut self) -> Option<Result<RawOutput, ParseError>> {
        self.skip(ParseError::EventTooLarge {
            capacity: self.data_cap,
        })
    }
}

/// Text already checked to be UTF-8, from the input (through its window) or the buffer.
#[cfg_attr(target_pointer_width = "64", inline(always))]
#[cfg_attr(not(target_pointer_width = "64"), inline)]
pub(super) fn resolve_text<'a, 'i: 'a>(
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
