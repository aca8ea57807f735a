//! The lending iterator over the SSE messages in one input of a [`ClientSession`].

use heapless::String;

use crate::heartbeat::parse_keepalive_announcement;
use crate::parse::{Event, Found, FoundEvent, ParseError, Utf8Window};
use crate::time::Instant;

use super::{ClientSession, ID_CAPACITY, Phase, ReconnectReason, ResumeMode};

/// The messages in the bytes given to [`ClientSession::handle_bytes`], handed out one by one.
///
/// It removes the body framing (chunked, `Content-Length` or close-delimited) and parses the
/// payload as it goes, borrowing each event from the input or the parser's buffer: take what you
/// need from an event before calling [`Messages::next`] again. Along the way it applies `retry:`
/// fields and the server's keep-alive announcement, and ends the connection when the body ends
/// or its framing breaks.
///
/// # Drain it
///
/// Call [`Messages::next`] until it returns `None`. If you drop it earlier, the session reads
/// the rest of the input without you. When that rest holds an event you never saw, the session
/// drops the connection and reconnects ([`ReconnectReason::Undelivered`]), resuming from before
/// that event, so nothing is lost, at the cost of a reconnect. Comments, `retry:` fields, id-only
/// blocks and skipped (oversized) events before it are applied as usual.
#[must_use = "drain the messages: dropping them early costs a reconnect"]
#[derive(Debug)]
pub struct Messages<'s, 'buf, 'i> {
    session: &'s mut ClientSession<'buf>,
    now: Instant,
    input: &'i [u8],
    cursor: Cursor,
    /// The stretch of the payload known to be UTF-8 (a cache: empty is always correct).
    utf8: Utf8Window<'i>,
}

/// Where the walk through one input stands, in offsets, so that a shell can keep it across
/// awaits without borrowing the input (the pull client parks it between `next()` calls).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor {
    /// Body bytes from here on are not yet given to the body decoder.
    rest: usize,
    /// The payload slice being parsed (`input[start..end]`) and the parser's position in it.
    start: usize,
    end: usize,
    pos: usize,
    /// The body ends after the slice.
    body_end: bool,
    done: bool,
}

impl Cursor {
    /// A walk whose body starts at `rest`; `done` when there is no body.
    pub(crate) const fn new(rest: usize, done: bool) -> Self {
        Self {
            rest,
            start: rest,
            end: rest,
            pos: 0,
            body_end: false,
            done,
        }
    }

    fn slice<'i>(&self, input: &'i [u8]) -> &'i [u8] {
        input.get(self.start..self.end).unwrap_or_default()
    }
}

impl<'s, 'buf, 'i> Messages<'s, 'buf, 'i> {
    pub(super) fn new(
        session: &'s mut ClientSession<'buf>,
        now: Instant,
        input: &'i [u8],
        cursor: Cursor,
    ) -> Self {
        Self {
            session,
            now,
            input,
            cursor,
            utf8: Utf8Window::EMPTY,
        }
    }

    /// The next event, `None` once the input is used up.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] reports an event that was skipped (too large for the parser's buffer);
    /// the stream is already back in sync and the next call continues.
    #[allow(clippy::should_implement_trait)] // Events borrow the iterator: not an `Iterator`.
    pub fn next(&mut self) -> Option<Result<Event<'_>, ParseError>> {
        let found = match advance(
            self.session,
            self.now,
            self.input,
            &mut self.cursor,
            &mut self.utf8,
        )? {
            Ok(found) => found,
            Err(e) => return Some(Err(e)),
        };
        let slice = self.cursor.slice(self.input);
        Some(self.session.resolve_found(slice, found, &mut self.utf8))
    }
}

// Used by the pull client, which needs `embedded-io-async-0.7`.
#[cfg_attr(not(feature = "embedded-io-async-0.7"), allow(dead_code))]
impl<'buf> ClientSession<'buf> {
    /// Locates the next event of `input` from where `cursor` stands, applying everything
    /// before it; `None` once the input is used up. For shells that keep the cursor across
    /// awaits: resolve what this finds with [`resolve_message`](Self::resolve_message) before
    /// any other call.
    pub(crate) fn locate_message(
        &mut self,
        now: Instant,
        input: &[u8],
        cursor: &mut Cursor,
    ) -> Option<Result<FoundEvent, ParseError>> {
        let now = self.clock.observe(now);
        let mut utf8 = Utf8Window::EMPTY;
        advance(self, now, input, cursor, &mut utf8)
    }

    /// The event [`locate_message`](Self::locate_message) found, borrowed from `input` or the
    /// parser's buffer; resolving commits its id.
    pub(crate) fn resolve_message<'s>(
        &'s mut self,
        input: &'s [u8],
        cursor: &Cursor,
        found: FoundEvent,
    ) -> Result<Event<'s>, ParseError> {
        let slice = cursor.slice(input);
        let mut utf8 = Utf8Window::EMPTY;
        self.resolve_found(slice, found, &mut utf8)
    }

    /// Resolves a located event; data that overflows once decoded skips it, and the skip is
    /// noted for the session (its id is committed by then, acknowledged at the next step).
    fn resolve_found<'s, 'i: 's>(
        &'s mut self,
        slice: &'i [u8],
        found: FoundEvent,
        utf8: &mut Utf8Window<'i>,
    ) -> Result<Event<'s>, ParseError> {
        let acknowledged = self.config.resume == ResumeMode::Acknowledged;
        let caught_up = acknowledged && self.acked.as_str() == self.parser.last_event_id();
        let mut before = String::<ID_CAPACITY>::new();
        if acknowledged && !caught_up && !self.skip_await {
            // Cannot fail: the parser's ids fit `ID_CAPACITY`.
            let _ = before.push_str(self.parser.last_event_id());
        }
        let resolved = self.parser.resolve_event(slice, found, utf8);
        // `parser` stays borrowed by the event; the flags are fields of their own.
        self.skip_pending = caught_up && resolved.is_err();
        if acknowledged && !caught_up && !self.skip_await && resolved.is_err() {
            // Its id is committed already; `settle_skip` owes it at the next step.
            self.skip_await = true;
            self.skip_before = before;
        }
        resolved
    }
}

/// Runs the body decoder and the parser up to the next event, applying everything else on the
/// way. The event is only located, so the caller can borrow it after this returns.
fn advance<'i>(
    session: &mut ClientSession<'_>,
    now: Instant,
    input: &'i [u8],
    cursor: &mut Cursor,
    utf8: &mut Utf8Window<'i>,
) -> Option<Result<FoundEvent, ParseError>> {
    session.settle_skip();
    loop {
        if cursor.done {
            return None;
        }
        let Phase::Open { decoder, .. } = &mut session.phase else {
            // The connection ended under us (body end, framing error): the rest is stale.
            cursor.done = true;
            return None;
        };
        let slice = cursor.slice(input);
        if cursor.pos >= slice.len() {
            // The parser spills what still borrows a slice only when asked past its end; an
            // output that ended exactly at the end leaves that undone (an `event` line
            // followed by a `retry` line, say).
            session.parser.release_input(slice);
            if cursor.body_end {
                cursor.done = true;
                session.drop_and_retry(now, ReconnectReason::BodyEnded);
                return None;
            }
            let rest = input.get(cursor.rest..).unwrap_or_default();
            if rest.is_empty() {
                cursor.done = true;
                return None;
            }
            match decoder.decode(rest) {
                Ok(decoded) => {
                    // The payload lies inside `rest`: its offset is the distance between them.
                    let offset =
                        (decoded.data.as_ptr() as usize).saturating_sub(rest.as_ptr() as usize);
                    cursor.start = cursor.rest.saturating_add(offset);
                    cursor.end = cursor.start.saturating_add(decoded.data.len());
                    cursor.rest = cursor.rest.saturating_add(decoded.consumed);
                    cursor.pos = 0;
                    *utf8 = Utf8Window::EMPTY;
                    cursor.body_end = decoded.end;
                }
                Err(e) => {
                    cursor.done = true;
                    session.drop_and_retry(now, ReconnectReason::InvalidBody(e));
                    return None;
                }
            }
            continue;
        }
        let found = session.parser.next_found(slice, &mut cursor.pos, utf8);
        // A skipped block may have ended (and committed its id) on the way.
        session.settle_skip();
        match found {
            // The parser has consumed (and spilled) the slice.
            None => cursor.pos = slice.len(),
            Some(Err(e)) => {
                session.skip_reported();
                return Some(Err(e));
            }
            Some(Ok(Found::Event(event))) => {
                // A skipped block before this event has ended, its id settled above.
                session.event_handed_out();
                return Some(Ok(event));
            }
            Some(Ok(Found::Retry(ms))) => session.on_retry(ms),
            Some(Ok(Found::Comment(comment))) => {
                let text = session.parser.resolve_comment(slice, comment, utf8);
                if let Some(interval) = parse_keepalive_announcement(text) {
                    session.on_keepalive(now, interval);
                }
            }
        }
    }
}

impl Drop for Messages<'_, '_, '_> {
    fn drop(&mut self) {
        if self.cursor.done {
            return;
        }
        // Read the rest without the application, up to the first event it would have been
        // handed. Only resolving tells (data that overflows once invalid UTF-8 is replaced is
        // an error, not an event), and resolving commits the id, so the id before is kept.
        let mut undelivered = None;
        while let Some(found) = advance(
            self.session,
            self.now,
            self.input,
            &mut self.cursor,
            &mut self.utf8,
        ) {
            let Ok(event) = found else {
                continue;
            };
            let mut before = String::<ID_CAPACITY>::new();
            // Cannot fail: the parser's ids fit `ID_CAPACITY`.
            let _ = before.push_str(self.session.parser.last_event_id());
            let slice = self.cursor.slice(self.input);
            let resolved = self.session.resolve_found(slice, event, &mut self.utf8);
            if resolved.is_ok() {
                undelivered = Some(before);
                break;
            }
        }
        let Some(before) = undelivered else {
            return;
        };
        // Ranges of this input must not outlive it (the reset below drops them anyway).
        self.session
            .parser
            .release_input(self.cursor.slice(self.input));
        self.session
            .drop_and_retry(self.now, ReconnectReason::Undelivered);
        if self.session.config.resume == ResumeMode::Dispatched {
            // The next attempt resumes before the event the application never saw.
            let _ = self.session.parser.set_last_event_id(&before);
        }
    }
}
