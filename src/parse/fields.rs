//! The field handlers: what each field of a line does to the event being assembled. Data is
//! borrowed from the input when it can be and appended to the data region when it cannot; the
//! event type and ids are placed in their regions (decoded when not UTF-8) and checked against
//! their limits; `retry` is read as decimal digits; comments are cut at their limit.

use crate::ascii::{Overflow, push_digit};

use super::error::ParseError;
use super::state::{IdLine, Loc, Piece, RawOutput, Span, State};
use super::text::{fitting_prefix, lossy_copy, lossy_in_place, lossy_len};
use super::tokenizer::{Field, find_byte, has_nul};
use super::utf8::{Utf8Window, repair_in_place};

impl State {
    /// Acts on one piece of a field's value other than data, `input[start..end]`.
    #[inline(never)]
    pub(super) fn on_field<'i>(
        &mut self,
        buf: &mut [u8],
        input: &'i [u8],
        utf8: &mut Utf8Window<'i>,
        field: Field,
        piece: Piece,
    ) -> Option<Result<RawOutput, ParseError>> {
        let Piece {
            start,
            end,
            first,
            last,
        } = piece;
        let value = &input[start..end];
        // Only whole values are borrowed, so only they need checking here.
        let whole = first && last;
        let mut valid = || whole && utf8.text_field(input, start, end).is_some();
        match field {
            // The engine takes data itself (see `Step::Data`).
            Field::Data | Field::Unknown => None,
            Field::Event => {
                let valid = valid();
                self.on_event_type(buf, value, valid, piece)
            }
            Field::Id => {
                let valid = valid();
                self.on_id(buf, value, valid, piece)
            }
            Field::Retry => self.on_retry(value, first, last),
            Field::Comment => {
                let valid = valid();
                self.on_comment(buf, value, valid, piece)
            }
        }
    }

    /// Acts on a piece of a `data` line: a whole line that starts the data stays borrowed from
    /// the input; anything else is appended to the data region.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    pub(super) fn on_data(
        &mut self,
        buf: &mut [u8],
        input: &[u8],
        piece: Piece,
    ) -> Option<Result<RawOutput, ParseError>> {
        let Piece {
            start,
            end,
            first,
            last,
        } = piece;
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
    pub(super) fn push_data(
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

    fn on_event_type(
        &mut self,
        buf: &mut [u8],
        value: &[u8],
        valid: bool,
        piece: Piece,
    ) -> Option<Result<RawOutput, ParseError>> {
        let Piece {
            start,
            end,
            first,
            last,
        } = piece;
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

    fn on_id(
        &mut self,
        buf: &mut [u8],
        value: &[u8],
        valid: bool,
        piece: Piece,
    ) -> Option<Result<RawOutput, ParseError>> {
        let Piece {
            start,
            end,
            first,
            last,
        } = piece;
        // Read even in a skipped block: its last id is committed when the block ends.
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
                Placed::Borrow | Placed::TooLong => return self.id_too_long(),
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
        line.nul |= find_byte(0, value).is_some();
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
            _ => self.id_too_long(),
        }
    }

    /// An id too long to keep: the block has no id to commit (the last event ID stays), and it
    /// is skipped, reported once even when it already was.
    fn id_too_long(&mut self) -> Option<Result<RawOutput, ParseError>> {
        self.pending = None;
        if self.skipping {
            return None;
        }
        self.skip(ParseError::IdTooLong {
            max: self.limits.max_id_len,
        })
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
        self.retry = retry_digits(self.retry, value);
        self.retry_digits |= !value.is_empty();
        if !last || !self.retry_digits {
            return None;
        }
        // Spec: only a value of ASCII digits sets the reconnection time; anything else is ignored.
        self.retry.map(|ms| Ok(RawOutput::Retry(ms)))
    }

    fn on_comment(
        &mut self,
        buf: &mut [u8],
        value: &[u8],
        valid: bool,
        piece: Piece,
    ) -> Option<Result<RawOutput, ParseError>> {
        let Piece {
            start,
            end,
            first,
            last,
        } = piece;
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
}

/// The `retry` value so far, `ms` (`None` once a non-digit was seen), continued with the digits
/// in `piece`, saturating at `u64::MAX`. The field's one decimal parser: a value may arrive in
/// pieces across inputs, so it carries on from what came before.
fn retry_digits(ms: Option<u64>, piece: &[u8]) -> Option<u64> {
    piece
        .iter()
        .try_fold(ms?, |ms, &b| push_digit(ms, b, Overflow::Saturate))
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
