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
    /// Body bytes not yet given to the body decoder.
    rest: &'i [u8],
    /// The payload slice being parsed, the parser's position in it, and the stretch of it
    /// known to be UTF-8.
    slice: &'i [u8],
    pos: usize,
    utf8: Utf8Window<'i>,
    /// The body ends after `slice`.
    body_end: bool,
    done: bool,
}

impl<'s, 'buf, 'i> Messages<'s, 'buf, 'i> {
    pub(super) fn new(session: &'s mut ClientSession<'buf>, now: Instant, rest: &'i [u8]) -> Self {
        Self {
            session,
            now,
            rest,
            slice: &[],
            pos: 0,
            utf8: Utf8Window::EMPTY,
            body_end: false,
            done: rest.is_empty(),
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
        let found = match self.advance()? {
            Ok(found) => found,
            Err(e) => return Some(Err(e)),
        };
        Some(
            self.session
                .parser
                .resolve_event(self.slice, found, &mut self.utf8),
        )
    }

    /// Runs the body decoder and the parser up to the next event, applying everything else on
    /// the way. The event is only located, so the caller can borrow it after this returns.
    fn advance(&mut self) -> Option<Result<FoundEvent, ParseError>> {
        loop {
            if self.done {
                return None;
            }
            let Phase::Open { decoder, .. } = &mut self.session.phase else {
                // The connection ended under us (body end, framing error): the rest is stale.
                self.done = true;
                return None;
            };
            if self.pos >= self.slice.len() {
                // The parser spills what still borrows a slice only when asked past its end; an
                // output that ended exactly at the end leaves that undone (an `event` line
                // followed by a `retry` line, say).
                self.session.parser.release_input(self.slice);
                if self.body_end {
                    self.done = true;
                    self.session
                        .drop_and_retry(self.now, ReconnectReason::BodyEnded);
                    return None;
                }
                if self.rest.is_empty() {
                    self.done = true;
                    return None;
                }
                match decoder.decode(self.rest) {
                    Ok(decoded) => {
                        self.rest = self.rest.get(decoded.consumed..).unwrap_or_default();
                        self.slice = decoded.data;
                        self.pos = 0;
                        self.utf8 = Utf8Window::EMPTY;
                        self.body_end = decoded.end;
                    }
                    Err(e) => {
                        self.done = true;
                        self.session
                            .drop_and_retry(self.now, ReconnectReason::InvalidBody(e));
                        return None;
                    }
                }
                continue;
            }
            let session = &mut *self.session;
            match session
                .parser
                .next_found(self.slice, &mut self.pos, &mut self.utf8)
            {
                // The parser has consumed (and spilled) the slice.
                None => self.pos = self.slice.len(),
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(Found::Event(event))) => return Some(Ok(event)),
                Some(Ok(Found::Retry(ms))) => session.on_retry(ms),
                Some(Ok(Found::Comment(comment))) => {
                    let text = session
                        .parser
                        .resolve_comment(self.slice, comment, &mut self.utf8);
                    if let Some(interval) = parse_keepalive_announcement(text) {
                        session.on_keepalive(self.now, interval);
                    }
                }
            }
        }
    }
}

impl Drop for Messages<'_, '_, '_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Read the rest without the application, up to the first event it would have been
        // handed. Only resolving tells (data that overflows once invalid UTF-8 is replaced is
        // an error, not an event), and resolving commits the id, so the id before is kept.
        let mut undelivered = None;
        while let Some(found) = self.advance() {
            let Ok(event) = found else {
                continue;
            };
            let mut before = String::<ID_CAPACITY>::new();
            // Cannot fail: the parser's ids fit `ID_CAPACITY`.
            let _ = before.push_str(self.session.parser.last_event_id());
            let resolved = self
                .session
                .parser
                .resolve_event(self.slice, event, &mut self.utf8);
            if resolved.is_ok() {
                undelivered = Some(before);
                break;
            }
        }
        let Some(before) = undelivered else {
            return;
        };
        // Ranges of this input must not outlive it (the reset below drops them anyway).
        self.session.parser.release_input(self.slice);
        self.session
            .drop_and_retry(self.now, ReconnectReason::Undelivered);
        if self.session.config.resume == ResumeMode::Dispatched {
            // The next attempt resumes before the event the application never saw.
            let _ = self.session.parser.set_last_event_id(&before);
        }
    }
}
