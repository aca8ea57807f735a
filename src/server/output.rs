//! The session's outgoing side: what is still owed to the client, cut into whole units.
//!
//! A unit is one thing the client must receive whole: the response head, the `retry:` block, the
//! keep-alive announcement, a gap event, one event from the ring, a keep-alive comment, the last
//! event, the closing `retry:` block, or the last chunk. Units go out in that order. Nothing is
//! buffered here: each unit is written straight into the caller's buffer when it is polled, and
//! its state (a flag, or the cursor) moves on only once it was written whole, so a buffer too
//! small for a unit leaves everything as it was.
//!
//! Events from the ring are the exception: one larger than the room left goes out in pieces,
//! each poll writing the next piece, so a stream's buffer need not fit the largest event (a
//! server holding many streams lends each a small one). The cursor stays on the event until its
//! last piece is written. Nothing else is written between the pieces: an event evicted halfway
//! closes the stream without the gap event or a last event, which would join the half-written
//! lines; the client discards the unfinished event when the stream ends, as the spec says.
//!
//! Framing: the response head and the last chunk are raw; everything between is body. In a
//! chunked stream the units written by one poll share one chunk: they are written
//! [`CHUNK_HEADER_MAX`] bytes into the free space, framed in place, then moved to close the gap,
//! so one poll never needs more than one event plus [`MAX_CHUNK_OVERHEAD`] bytes of buffer.
//!
//! [`MAX_CHUNK_OVERHEAD`]: crate::http::MAX_CHUNK_OVERHEAD

use core::time::Duration;

use crate::BufferTooSmall;
use crate::encode::{Comment, EventIdBuf, Message};
use crate::heartbeat::keepalive_comment;
use crate::http::{
    CHUNK_HEADER_MAX, ErrorResponse, ResponseWriteError, StreamResponse, encode_last_chunk,
    frame_chunk_in_place,
};
use crate::replay::{Gap, GapEvent, GapTopics, MAX_ID_LEN, Next, ReplayLog, Resume};

use super::config::{OverrunPolicy, ServerConfig};
use super::error::TransmitError;
use super::event::CloseReason;
use crate::ascii::millis;

/// The bytes of a keep-alive comment: an empty comment line, which every client ignores.
const KEEPALIVE_COMMENT: &[u8] = b":\n";

/// What a session still owes its client. Small and `Copy`: no bytes are kept, only flags, the
/// borrowed response and the cursor.
#[derive(Clone, Copy, Debug)]
pub(super) struct Outbox<'buf, C> {
    /// The response head, until written.
    head: Option<Head<'buf>>,
    /// Whether the body is chunked (else close-delimited, or there is no body).
    chunked: bool,
    /// The stream-start `retry:` block, until written.
    retry_ms: Option<u64>,
    /// The keep-alive announcement, until written.
    announce: Option<Duration>,
    /// A gap event to send before the next ring event (only with a cursor).
    gap: Option<Gap>,
    /// The position in the ring while the stream is live; `None` once closing.
    cursor: Option<C>,
    /// A keep-alive comment is due; any write satisfies it.
    keepalive_due: bool,
    /// Bytes of the event at the cursor already written, while it goes out in pieces.
    partial: usize,
    /// Set once the stream is ending: what is left to write, and why.
    close: Option<Closing<'buf>>,
}

/// The response head a session sends first.
#[derive(Clone, Copy, Debug)]
enum Head<'buf> {
    Stream(StreamResponse<'buf>),
    Error(ErrorResponse<'buf>),
}

/// The end of a stream, written after everything else was dropped.
#[derive(Clone, Copy, Debug)]
struct Closing<'buf> {
    event: Option<Message<'buf>>,
    retry_ms: Option<u64>,
    terminator: bool,
    reason: CloseReason,
}

/// One whole piece of output.
enum Unit<'r, 'buf> {
    StreamHead(StreamResponse<'buf>),
    ErrorHead(ErrorResponse<'buf>),
    Retry(u64),
    Announce(Duration),
    Gap(Gap, EventIdBuf<MAX_ID_LEN>, GapTopics<'r>),
    Event(&'r [u8]),
    KeepAlive,
    CloseEvent(Message<'buf>),
    CloseRetry(u64),
    Terminator,
}

impl<'buf, C: Copy> Outbox<'buf, C> {
    /// Owes nothing: the request is still being read or decided.
    pub(super) const fn idle() -> Self {
        Self {
            head: None,
            chunked: false,
            retry_ms: None,
            announce: None,
            gap: None,
            cursor: None,
            keepalive_due: false,
            partial: 0,
            close: None,
        }
    }

    /// An accepted stream: head, retry hint, announcement, gap event if the resume needs one,
    /// then events from the resume cursor.
    pub(super) fn stream(
        response: StreamResponse<'buf>,
        retry_ms: Option<u64>,
        announce: Option<Duration>,
        resume: Resume<C>,
    ) -> Self {
        let gap = match resume {
            Resume::Gap { gap, .. } => Some(gap),
            Resume::Live(_) | Resume::Replay(_) => None,
        };
        Self {
            head: Some(Head::Stream(response)),
            chunked: response.is_chunked(),
            retry_ms,
            announce,
            gap,
            cursor: Some(resume.cursor()),
            keepalive_due: false,
            partial: 0,
            close: None,
        }
    }

    /// An error response, then the end.
    pub(super) const fn reject(response: ErrorResponse<'buf>, reason: CloseReason) -> Self {
        Self {
            head: Some(Head::Error(response)),
            close: Some(Closing {
                event: None,
                retry_ms: None,
                terminator: false,
                reason,
            }),
            ..Self::idle()
        }
    }

    /// Ends the stream: drops what was not written yet (except the response head, which must
    /// precede anything), then owes the last event, the retry block and the last chunk.
    pub(super) fn begin_close(
        &mut self,
        event: Option<Message<'buf>>,
        retry_ms: Option<u64>,
        reason: CloseReason,
    ) {
        // After half an event, more lines would join its unfinished ones: only the end of the
        // body may follow.
        let (event, retry_ms) = if self.partial > 0 {
            (None, None)
        } else {
            (event, retry_ms)
        };
        self.partial = 0;
        self.retry_ms = None;
        self.announce = None;
        self.gap = None;
        self.cursor = None;
        self.keepalive_due = false;
        self.close = Some(Closing {
            event,
            retry_ms,
            terminator: self.chunked,
            reason,
        });
    }

    /// Marks a keep-alive comment as due; the next poll writes one unless it writes anything
    /// else.
    pub(super) fn set_keepalive_due(&mut self) {
        if self.cursor.is_some() {
            self.keepalive_due = true;
        }
    }

    /// Whether the stream is ending (or an error response is being sent).
    pub(super) const fn is_closing(&self) -> bool {
        self.close.is_some()
    }

    /// The cursor of a live stream.
    pub(super) const fn cursor(&self) -> Option<C> {
        self.cursor
    }

    /// Why the stream ended, once everything it owed was written.
    pub(super) fn finished(&self) -> Option<CloseReason> {
        let close = self.close.as_ref()?;
        let done = self.head.is_none()
            && close.event.is_none()
            && close.retry_ms.is_none()
            && !close.terminator;
        done.then_some(close.reason)
    }

    /// Writes as many whole units as fit into `buf` and returns the number of bytes written
    /// (0 when nothing is owed). `on_gap` hears of every gap event written.
    ///
    /// # Errors
    ///
    /// [`TransmitError::BufferTooSmall`] when not even the first unit fits; `buf` and the
    /// outbox are then as they were, except that an overrun found on the way was acted on.
    pub(super) fn transmit<R: ReplayLog<Cursor = C>>(
        &mut self,
        ring: &R,
        config: &ServerConfig<'_>,
        buf: &mut [u8],
        mut on_gap: impl FnMut(Gap),
    ) -> Result<usize, TransmitError> {
        let gap_event = config.gap_event();
        let mut pos = 0;
        if let Some(unit) = self.head_unit() {
            pos = write_unit(&unit, &gap_event, buf)
                .map_err(|needed| TransmitError::BufferTooSmall(BufferTooSmall { needed }))?;
            self.commit(&unit, ring);
        }

        // Body units; in a chunked stream they go CHUNK_HEADER_MAX bytes in, leaving room for
        // the size line before them and CRLF after.
        let (reserve, trailer) = if self.chunked {
            (CHUNK_HEADER_MAX, 2)
        } else {
            (0, 0)
        };
        let start = pos;
        let first = start.saturating_add(reserve);
        let mut end = first;
        loop {
            self.settle(ring, config.overrun());
            let Some(unit) = self.next_body_unit(ring) else {
                break;
            };
            let limit = buf.len().saturating_sub(trailer);
            let target = buf.get_mut(end..limit).unwrap_or_default();
            if let Unit::Event(bytes) = unit {
                let rest = bytes.get(self.partial..).unwrap_or_default();
                let n = rest.len().min(target.len());
                if n == 0 && !rest.is_empty() {
                    if pos == 0 && end == first {
                        // Not even one byte of the event fits with its chunk framing.
                        let needed = reserve.saturating_add(trailer).saturating_add(1);
                        return Err(TransmitError::BufferTooSmall(BufferTooSmall { needed }));
                    }
                    break;
                }
                target[..n].copy_from_slice(&rest[..n]);
                end += n;
                if n < rest.len() {
                    self.partial += n;
                    self.keepalive_due = false;
                    break;
                }
                self.partial = 0;
                self.commit(&unit, ring);
                continue;
            }
            match write_unit(&unit, &gap_event, target) {
                Ok(written) => {
                    end += written;
                    if let Unit::Gap(gap, ..) = unit {
                        on_gap(gap);
                    }
                    self.commit(&unit, ring);
                }
                Err(needed) if pos == 0 && end == first => {
                    let needed = needed.saturating_add(reserve).saturating_add(trailer);
                    return Err(TransmitError::BufferTooSmall(BufferTooSmall { needed }));
                }
                Err(_) => break,
            }
        }
        let payload = end - first;
        if payload > 0 {
            pos = if self.chunked {
                frame(buf, start, payload)
            } else {
                end
            };
        }

        if let Some(unit) = self.terminator_unit() {
            let target = buf.get_mut(pos..).unwrap_or_default();
            match write_unit(&unit, &gap_event, target) {
                Ok(written) => {
                    pos += written;
                    self.commit(&unit, ring);
                }
                Err(needed) if pos == 0 => {
                    return Err(TransmitError::BufferTooSmall(BufferTooSmall { needed }));
                }
                Err(_) => {}
            }
        }
        Ok(pos)
    }

    /// Acts on a cursor that fell behind the ring: it moves to the oldest kept event with a
    /// gap event owed, or the stream starts closing, as the policy says. A gap event already
    /// owed absorbs the new loss, so the client hears of it once.
    fn settle<R: ReplayLog<Cursor = C>>(&mut self, ring: &R, policy: OverrunPolicy) {
        let Some(mut cursor) = self.cursor else {
            return;
        };
        let missed = match ring.peek(&cursor) {
            Next::Overrun { missed } if self.partial > 0 => {
                // The event half written was evicted: the stream cannot go on.
                self.begin_close(None, None, CloseReason::Overrun { missed });
                return;
            }
            Next::Overrun { missed } => missed,
            Next::CaughtUp if self.partial > 0 => {
                // Unreachable (a kept event is still there, an evicted one is an overrun),
                // but a stream that lost its half-written event must end either way.
                self.begin_close(None, None, CloseReason::Overrun { missed: 1 });
                return;
            }
            Next::CaughtUp => {
                // A reader of some topics skips the others' events it just looked through,
                // so the next look starts after them instead of scanning them again.
                ring.advance(&mut cursor);
                self.cursor = Some(cursor);
                return;
            }
            Next::Event(_) => return,
        };
        let gap = match (self.gap, policy) {
            (Some(owed), _) => add_missed(owed, missed),
            (None, OverrunPolicy::Gap) => Gap::Overrun { missed },
            (None, OverrunPolicy::Disconnect { retry }) => {
                let retry_ms = retry.map(millis);
                self.begin_close(None, retry_ms, CloseReason::Overrun { missed });
                return;
            }
        };
        ring.advance(&mut cursor);
        self.cursor = Some(cursor);
        self.gap = Some(gap);
    }

    fn head_unit(&self) -> Option<Unit<'static, 'buf>> {
        Some(match self.head? {
            Head::Stream(response) => Unit::StreamHead(response),
            Head::Error(response) => Unit::ErrorHead(response),
        })
    }

    fn next_body_unit<'r, R: ReplayLog<Cursor = C>>(&self, ring: &'r R) -> Option<Unit<'r, 'buf>> {
        if self.head.is_some() {
            return None;
        }
        if let Some(ms) = self.retry_ms {
            return Some(Unit::Retry(ms));
        }
        if let Some(interval) = self.announce {
            return Some(Unit::Announce(interval));
        }
        if let Some(cursor) = &self.cursor {
            if let Some(gap) = self.gap {
                return Some(Unit::Gap(
                    gap,
                    ring.resume_id(cursor),
                    ring.gap_topics(gap, cursor),
                ));
            }
            if let Next::Event(bytes) = ring.peek(cursor) {
                return Some(Unit::Event(bytes));
            }
        }
        if self.keepalive_due {
            return Some(Unit::KeepAlive);
        }
        let close = self.close.as_ref()?;
        if let Some(event) = close.event {
            return Some(Unit::CloseEvent(event));
        }
        close.retry_ms.map(Unit::CloseRetry)
    }

    fn terminator_unit(&self) -> Option<Unit<'static, 'buf>> {
        let close = self.close.as_ref()?;
        let body_done = self.head.is_none() && close.event.is_none() && close.retry_ms.is_none();
        (body_done && close.terminator).then_some(Unit::Terminator)
    }

    /// Moves past a unit that was written whole. Any write counts as activity, so a due
    /// keep-alive comment is no longer needed.
    fn commit<R: ReplayLog<Cursor = C>>(&mut self, unit: &Unit<'_, 'buf>, ring: &R) {
        self.keepalive_due = false;
        match unit {
            Unit::StreamHead(_) | Unit::ErrorHead(_) => self.head = None,
            Unit::Retry(_) => self.retry_ms = None,
            Unit::Announce(_) => self.announce = None,
            Unit::Gap(..) => self.gap = None,
            Unit::Event(_) => {
                if let Some(cursor) = self.cursor.as_mut() {
                    ring.advance(cursor);
                }
            }
            Unit::KeepAlive => {}
            Unit::CloseEvent(_) => {
                if let Some(close) = self.close.as_mut() {
                    close.event = None;
                }
            }
            Unit::CloseRetry(_) => {
                if let Some(close) = self.close.as_mut() {
                    close.retry_ms = None;
                }
            }
            Unit::Terminator => {
                if let Some(close) = self.close.as_mut() {
                    close.terminator = false;
                }
            }
        }
    }
}

/// Writes one unit whole into `buf`, or nothing and the size it needs.
fn write_unit(
    unit: &Unit<'_, '_>,
    gap_event: &GapEvent<'_>,
    buf: &mut [u8],
) -> Result<usize, usize> {
    match unit {
        Unit::StreamHead(response) => response.write(buf).map_err(head_needed),
        Unit::ErrorHead(response) => response.write(buf).map_err(head_needed),
        Unit::Retry(ms) | Unit::CloseRetry(ms) => Message::without_data()
            .with_retry(*ms)
            .encode(buf)
            .map_err(encode_needed),
        Unit::Announce(interval) => Comment::new(&keepalive_comment(*interval))
            .encode(buf)
            .map_err(encode_needed),
        Unit::Gap(gap, id, topics) => gap_event
            .encode_for(*gap, Some(id.as_id()), *topics, buf)
            .map_err(encode_needed),
        Unit::Event(bytes) => copy(bytes, buf),
        Unit::KeepAlive => copy(KEEPALIVE_COMMENT, buf),
        Unit::CloseEvent(message) => message.encode(buf).map_err(encode_needed),
        Unit::Terminator => encode_last_chunk(buf).map_err(|error| error.needed),
    }
}

/// Frames the body written at `buf[start + CHUNK_HEADER_MAX..][..payload]` as one chunk, moves
/// it to `start`, and returns where it ends.
fn frame(buf: &mut [u8], start: usize, payload: usize) -> usize {
    let region = buf.get_mut(start..).unwrap_or_default();
    match frame_chunk_in_place(region, payload) {
        Ok(chunk) => {
            let len = chunk.len();
            crate::ascii::move_within(buf, start + chunk.start, start, len);
            start + len
        }
        // Unreachable: the body was written below `buf.len() - 2`, after CHUNK_HEADER_MAX
        // reserved bytes, which is exactly the room framing needs.
        Err(_) => start,
    }
}

fn copy(bytes: &[u8], buf: &mut [u8]) -> Result<usize, usize> {
    let target = buf.get_mut(..bytes.len()).ok_or(bytes.len())?;
    target.copy_from_slice(bytes);
    Ok(bytes.len())
}

const fn encode_needed(error: BufferTooSmall) -> usize {
    error.needed
}

fn head_needed(error: ResponseWriteError) -> usize {
    match error {
        ResponseWriteError::BufferTooSmall(BufferTooSmall { needed }) => needed,
        // Unreachable: headers were validated when the session took the response, and a
        // response that cannot be written fits in no buffer.
        ResponseWriteError::InvalidHeaderName
        | ResponseWriteError::InvalidHeaderValue
        | ResponseWriteError::ReservedHeader => usize::MAX,
    }
}

/// Adds events lost after a gap event was owed but before it was written.
const fn add_missed(gap: Gap, more: u64) -> Gap {
    match gap {
        Gap::Evicted { missed } => Gap::Evicted {
            missed: missed.saturating_add(more),
        },
        Gap::Overrun { missed } => Gap::Overrun {
            missed: missed.saturating_add(more),
        },
        Gap::OtherEpoch | Gap::FutureId | Gap::Malformed => gap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::{Cursor, Ring};

    #[test]
    fn losses_add_to_an_owed_gap_of_a_counting_kind_only() {
        assert_eq!(
            add_missed(Gap::Evicted { missed: 2 }, 3),
            Gap::Evicted { missed: 5 }
        );
        assert_eq!(
            add_missed(Gap::Overrun { missed: u64::MAX }, 3),
            Gap::Overrun { missed: u64::MAX }
        );
        assert_eq!(add_missed(Gap::OtherEpoch, 3), Gap::OtherEpoch);
    }

    #[test]
    fn framing_moves_the_chunk_to_the_start_of_the_free_space() {
        let mut buf = [b'.'; 64];
        let start = 4;
        buf[start + CHUNK_HEADER_MAX..][..3].copy_from_slice(b"ab\n");

        let end = frame(&mut buf, start, 3);

        assert_eq!(&buf[..end], b"....3\r\nab\n\r\n");
    }

    #[test]
    fn an_error_response_is_finished_once_its_head_is_written() {
        let ring = Ring::<2, 64>::new(1);
        let reason = CloseReason::Rejected { status: 404 };
        let mut outbox = Outbox::<Cursor>::reject(ErrorResponse::not_found(), reason);
        let config = ServerConfig::new();
        assert_eq!(outbox.finished(), None);

        let mut buf = [0u8; 256];
        let n = outbox.transmit(&ring, &config, &mut buf, |_| {}).unwrap();

        assert!(buf[..n].starts_with(b"HTTP/1.1 404 Not Found\r\n"));
        assert_eq!(outbox.finished(), Some(reason));
        assert_eq!(outbox.transmit(&ring, &config, &mut buf, |_| {}), Ok(0));
    }
}
